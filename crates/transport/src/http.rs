//! Just enough HTTP/1.1 for one request shape: a `POST` with a JSON body
//! and `Content-Length`, answered with a JSON body (`Content-Length` or
//! chunked). Sizes are capped and anything malformed is an error, never a
//! panic: the other end may be hostile.

use std::io::{self, Read, Write};

use crate::secret::Token;

/// Longest head (request or status line plus headers).
const MAX_HEAD: usize = 16 << 10;

/// A message's head.
#[derive(Debug, Default)]
pub(crate) struct Head {
    /// The request or status line.
    pub first: String,
    /// Headers, names lowercased.
    pub headers: Vec<(String, String)>,
}

impl Head {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// Whether the peer keeps the connection open after this message.
    pub fn keep_alive(&self) -> bool {
        let close = self
            .header("connection")
            .is_some_and(|v| v.eq_ignore_ascii_case("close"));
        !close && !self.first.contains("HTTP/1.0")
    }
}

fn bad(msg: impl Into<String>) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, msg.into())
}

/// A stream with the bytes read past the last message.
pub(crate) struct Conn<S> {
    pub stream: S,
    buf: Vec<u8>,
}

impl<S: Read + Write> Conn<S> {
    pub fn new(stream: S) -> Self {
        Conn {
            stream,
            buf: Vec::new(),
        }
    }

    /// Reads more bytes; false at end of stream.
    fn fill(&mut self) -> io::Result<bool> {
        let mut chunk = [0u8; 8192];
        let n = self.stream.read(&mut chunk)?;
        self.buf.extend_from_slice(&chunk[..n]);
        Ok(n > 0)
    }

    /// Reads a head; `None` at a clean end of stream before any byte.
    pub fn read_head(&mut self) -> io::Result<Option<Head>> {
        let end = loop {
            if let Some(i) = self.buf.windows(4).position(|w| w == b"\r\n\r\n") {
                break i;
            }
            if self.buf.len() > MAX_HEAD {
                return Err(bad("head too long"));
            }
            if !self.fill()? {
                if self.buf.is_empty() {
                    return Ok(None);
                }
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "truncated head",
                ));
            }
        };
        let head: Vec<u8> = self.buf.drain(..end + 4).collect();
        let text = std::str::from_utf8(&head[..end]).map_err(|_| bad("head is not UTF-8"))?;
        let mut lines = text.split("\r\n");
        let first = lines.next().unwrap_or("").to_string();
        let mut headers = Vec::new();
        for l in lines {
            let (n, v) = l.split_once(':').ok_or_else(|| bad("malformed header"))?;
            headers.push((n.trim().to_ascii_lowercase(), v.trim().to_string()));
        }
        Ok(Some(Head { first, headers }))
    }

    fn take_exact(&mut self, n: usize) -> io::Result<Vec<u8>> {
        while self.buf.len() < n {
            if !self.fill()? {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "truncated body",
                ));
            }
        }
        Ok(self.buf.drain(..n).collect())
    }

    fn take_line(&mut self) -> io::Result<String> {
        loop {
            if let Some(i) = self.buf.windows(2).position(|w| w == b"\r\n") {
                let l: Vec<u8> = self.buf.drain(..i + 2).collect();
                return String::from_utf8(l[..i].to_vec()).map_err(|_| bad("bad chunk line"));
            }
            if self.buf.len() > MAX_HEAD {
                return Err(bad("chunk line too long"));
            }
            if !self.fill()? {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "truncated chunk",
                ));
            }
        }
    }

    /// Reads the body `head` announces, at most `max` bytes. Without a
    /// length a response body runs to the end of the stream.
    pub fn read_body(&mut self, head: &Head, max: usize, request: bool) -> io::Result<Vec<u8>> {
        if let Some(len) = head.header("content-length") {
            let n: usize = len.parse().map_err(|_| bad("bad Content-Length"))?;
            if n > max {
                return Err(bad(format!("body of {n} bytes over the limit of {max}")));
            }
            return self.take_exact(n);
        }
        if head
            .header("transfer-encoding")
            .is_some_and(|v| v.to_ascii_lowercase().contains("chunked"))
        {
            let mut body = Vec::new();
            loop {
                let line = self.take_line()?;
                let size = line.split(';').next().unwrap_or("").trim();
                let n = usize::from_str_radix(size, 16).map_err(|_| bad("bad chunk size"))?;
                if n == 0 {
                    // trailers, up to the empty line
                    while !self.take_line()?.is_empty() {}
                    return Ok(body);
                }
                // (a hostile size near usize::MAX must not wrap the sum)
                if n > max.saturating_sub(body.len()) {
                    return Err(bad("chunked body over the limit"));
                }
                body.extend(self.take_exact(n)?);
                self.take_line()?;
            }
        }
        if request {
            return Ok(Vec::new());
        }
        while self.fill()? {
            if self.buf.len() > max {
                return Err(bad("body over the limit"));
            }
        }
        Ok(std::mem::take(&mut self.buf))
    }

    /// Sends `POST path` with a JSON body; returns the status and body.
    pub fn post(
        &mut self,
        host: &str,
        path: &str,
        token: Option<&Token>,
        body: &[u8],
        max_answer: usize,
    ) -> io::Result<(u16, Vec<u8>, bool)> {
        self.post_as(host, path, token, "application/json", body, max_answer)
    }

    /// Sends `POST path` with a body of `content_type`.
    pub fn post_as(
        &mut self,
        host: &str,
        path: &str,
        token: Option<&Token>,
        content_type: &str,
        body: &[u8],
        max_answer: usize,
    ) -> io::Result<(u16, Vec<u8>, bool)> {
        let auth = token.map(|t| format!("Bearer {}", t.expose()));
        let headers: Vec<(&str, &str)> =
            auth.iter().map(|a| ("Authorization", a.as_str())).collect();
        self.post_with(host, path, &headers, content_type, body, max_answer)
    }

    /// Sends `POST path` with a body of `content_type` and extra headers
    /// (names and values already checked for CR/LF by the caller).
    pub fn post_with(
        &mut self,
        host: &str,
        path: &str,
        headers: &[(&str, &str)],
        content_type: &str,
        body: &[u8],
        max_answer: usize,
    ) -> io::Result<(u16, Vec<u8>, bool)> {
        let mut req = format!(
            "POST {path} HTTP/1.1\r\nHost: {host}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\n",
            body.len()
        );
        for (k, v) in headers {
            req.push_str(k);
            req.push_str(": ");
            req.push_str(v);
            req.push_str("\r\n");
        }
        req.push_str("\r\n");
        let mut msg = req.into_bytes();
        msg.extend_from_slice(body);
        self.stream.write_all(&msg)?;
        self.stream.flush()?;
        let head = self
            .read_head()?
            .ok_or_else(|| io::Error::new(io::ErrorKind::UnexpectedEof, "no answer"))?;
        let mut parts = head.first.split_whitespace();
        let proto = parts.next().unwrap_or("");
        if !proto.starts_with("HTTP/1.") {
            return Err(bad("not an HTTP/1 answer"));
        }
        let status: u16 = parts
            .next()
            .and_then(|s| s.parse().ok())
            .filter(|s| (100..600).contains(s))
            .ok_or_else(|| bad("bad status line"))?;
        let answer = self.read_body(&head, max_answer, false)?;
        Ok((status, answer, head.keep_alive()))
    }

    /// Writes a JSON answer (the receiver's side).
    #[cfg_attr(not(feature = "receiver"), allow(dead_code))]
    pub fn answer(&mut self, status: u16, body: &[u8], keep_alive: bool) -> io::Result<()> {
        let reason = match status {
            200 => "OK",
            400 => "Bad Request",
            401 => "Unauthorized",
            404 => "Not Found",
            405 => "Method Not Allowed",
            413 => "Payload Too Large",
            _ => "Service Unavailable",
        };
        let conn = if keep_alive { "keep-alive" } else { "close" };
        let mut msg = format!(
            "HTTP/1.1 {status} {reason}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: {conn}\r\n\r\n",
            body.len()
        )
        .into_bytes();
        msg.extend_from_slice(body);
        self.stream.write_all(&msg)?;
        self.stream.flush()
    }
}

/// Bytes in memory as a peer: reads come from them, writes are dropped.
struct Replay<'a>(&'a [u8]);

impl Read for Replay<'_> {
    fn read(&mut self, b: &mut [u8]) -> io::Result<usize> {
        self.0.read(b)
    }
}

impl Write for Replay<'_> {
    fn write(&mut self, b: &[u8]) -> io::Result<usize> {
        Ok(b.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// `bytes` read as the server's answer to a batch, as the sender reads it
/// (status, body of at most `max` bytes, keep-alive). For the fuzz
/// targets and `tests/fuzz_parsers.rs`.
pub fn read_answer(bytes: &[u8], max: usize) -> io::Result<(u16, Vec<u8>, bool)> {
    Conn::new(Replay(bytes)).post("server", "/api/v1/ingest", None, b"{}", max)
}

/// `bytes` read as a connection's requests, as the receiver reads them:
/// each request line and body (at most `max` bytes), up to the end of the
/// bytes or the first error. For the fuzz targets and
/// `tests/fuzz_parsers.rs`.
pub fn read_requests(bytes: &[u8], max: usize) -> io::Result<Vec<(String, Vec<u8>)>> {
    let mut conn = Conn::new(Replay(bytes));
    let mut out = Vec::new();
    while let Some(head) = conn.read_head()? {
        let body = conn.read_body(&head, max, true)?;
        out.push((head.first, body));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A scripted peer: reads go to `input`, writes are kept.
    struct Fake {
        input: io::Cursor<Vec<u8>>,
        out: Vec<u8>,
    }
    impl Read for Fake {
        fn read(&mut self, b: &mut [u8]) -> io::Result<usize> {
            self.input.read(b)
        }
    }
    impl Write for Fake {
        fn write(&mut self, b: &[u8]) -> io::Result<usize> {
            self.out.extend_from_slice(b);
            Ok(b.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    fn post(answer: &[u8]) -> io::Result<(u16, Vec<u8>, bool)> {
        let mut c = Conn::new(Fake {
            input: io::Cursor::new(answer.to_vec()),
            out: Vec::new(),
        });
        c.post("h", "/p", Some(&Token::new("tok")), b"{}", 1 << 20)
    }

    #[test]
    fn answers_parse() {
        let (s, b, k) =
            post(b"HTTP/1.1 200 OK\r\nContent-Length: 11\r\n\r\n{\"acked\":4}").unwrap();
        assert_eq!((s, b.as_slice(), k), (200, &b"{\"acked\":4}"[..], true));
        let (s, b, _) =
            post(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\n{\"a\r\n5\r\ncked\"\r\n4\r\n:4}\n\r\n0\r\n\r\n")
                .unwrap();
        assert_eq!((s, b.as_slice()), (200, &b"{\"acked\":4}\n"[..]));
        let (s, b, k) = post(b"HTTP/1.0 401 No\r\n\r\nnope").unwrap();
        assert_eq!((s, b.as_slice(), k), (401, &b"nope"[..], false));
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        for g in [
            &b""[..],
            b"garbage\r\n\r\n",
            b"HTTP/1.1 abc\r\n\r\n",
            b"HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n",
            b"HTTP/1.1 200 OK\r\nContent-Length: 99999999999\r\n\r\n",
            b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort",
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
            b"HTTP/1.1 200 OK\r\nno colon\r\n\r\n",
            b"HTTP/1.1 200 OK\r\n\xff\xfe: x\r\n\r\n",
            b"HTTP/1.1 999 OK\r\n\r\n",
        ] {
            assert!(post(g).is_err(), "{:?}", String::from_utf8_lossy(g));
        }
        // a chunk size near usize::MAX after a first chunk: an error at
        // once, not a wrapped sum and a read of the stream until it ends
        let mut huge =
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nx\r\nffffffffffffffff\r\n"
                .to_vec();
        huge.extend(vec![b'a'; 100_000]);
        let e = read_answer(&huge, 1 << 10).unwrap_err();
        assert!(e.to_string().contains("over the limit"), "{e}");
        let mut long = b"HTTP/1.1 200 OK\r\nX: ".to_vec();
        long.extend(std::iter::repeat_n(b'a', 40_000));
        assert!(post(&long).is_err());
    }
}
