//! A minimal HTTP/1.1 client over a unix socket (the docker API): one GET
//! per connection (`Connection: close`), a deadline covering connect,
//! write and read, a cap on the response size, `Content-Length`, chunked
//! and read-to-close bodies.

use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::time::{Duration, Instant};

/// Largest response accepted (head and body), in bytes.
pub const MAX_RESPONSE: usize = 8 << 20;

/// Why a request failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HttpError {
    /// Could not connect.
    #[error("connect: {0}")]
    Connect(String),
    /// The deadline passed.
    #[error("timed out")]
    Timeout,
    /// Reading or writing failed.
    #[error("i/o: {0}")]
    Io(String),
    /// The answer is not HTTP as expected (or too large, or cut short).
    #[error("bad response: {0}")]
    Bad(&'static str),
}

/// A response: status code and body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    /// HTTP status.
    pub status: u16,
    /// The body (dechunked).
    pub body: Vec<u8>,
}

fn remaining(deadline: Instant) -> Result<Duration, HttpError> {
    let now = Instant::now();
    if now >= deadline {
        return Err(HttpError::Timeout);
    }
    Ok((deadline - now).max(Duration::from_millis(1)))
}

fn io_err(e: &std::io::Error) -> HttpError {
    match e.kind() {
        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut => HttpError::Timeout,
        _ => HttpError::Io(e.to_string()),
    }
}

/// `GET path` on the unix socket `socket`, finished by `deadline`.
pub fn get(socket: &Path, path: &str, deadline: Instant) -> Result<Response, HttpError> {
    remaining(deadline)?;
    let mut s = UnixStream::connect(socket).map_err(|e| HttpError::Connect(e.to_string()))?;
    s.set_write_timeout(Some(remaining(deadline)?))
        .map_err(|e| io_err(&e))?;
    let req = format!("GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n");
    s.write_all(req.as_bytes()).map_err(|e| io_err(&e))?;
    let mut buf = Vec::new();
    let mut chunk = [0u8; 16384];
    loop {
        s.set_read_timeout(Some(remaining(deadline)?))
            .map_err(|e| io_err(&e))?;
        let n = match s.read(&mut chunk) {
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(io_err(&e)),
        };
        if n == 0 {
            break;
        }
        if buf.len() + n > MAX_RESPONSE {
            return Err(HttpError::Bad("response too large"));
        }
        buf.extend_from_slice(&chunk[..n]);
        if let Some(r) = complete(&buf)? {
            return Ok(r);
        }
    }
    // closed by the server: complete only if the body runs to the close
    match complete(&buf)? {
        Some(r) => Ok(r),
        None => parse_to_close(&buf),
    }
}

/// A parsed response head: where the body starts, status, headers
/// (names lowercased).
type Head = (usize, u16, Vec<(String, String)>);

/// The head of `buf`, if it is complete.
fn head(buf: &[u8]) -> Result<Option<Head>, HttpError> {
    let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") else {
        if buf.len() > 64 << 10 {
            return Err(HttpError::Bad("header too large"));
        }
        return Ok(None);
    };
    let text = std::str::from_utf8(&buf[..end]).map_err(|_| HttpError::Bad("non-UTF-8 header"))?;
    let mut lines = text.split("\r\n");
    let status_line = lines.next().unwrap_or("");
    let mut f = status_line.split(' ');
    if !f.next().unwrap_or("").starts_with("HTTP/1.") {
        return Err(HttpError::Bad("not HTTP/1.x"));
    }
    let status = f
        .next()
        .and_then(|s| s.parse().ok())
        .ok_or(HttpError::Bad("no status"))?;
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    Ok(Some((end + 4, status, headers)))
}

fn header<'a>(h: &'a [(String, String)], name: &str) -> Option<&'a str> {
    h.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
}

/// The response, if `buf` holds all of it by its length or chunks.
fn complete(buf: &[u8]) -> Result<Option<Response>, HttpError> {
    let Some((start, status, h)) = head(buf)? else {
        return Ok(None);
    };
    let body = &buf[start..];
    if header(&h, "transfer-encoding").is_some_and(|v| v.eq_ignore_ascii_case("chunked")) {
        // a complete chunked body ends with the last chunk's blank line:
        // dechunk only then, so a long body is not re-parsed at each read
        if !body.ends_with(b"\r\n\r\n") {
            return Ok(None);
        }
        return Ok(dechunk(body)?.map(|body| Response { status, body }));
    }
    if let Some(len) = header(&h, "content-length") {
        let len: usize = len
            .parse()
            .map_err(|_| HttpError::Bad("bad content-length"))?;
        if len > MAX_RESPONSE {
            return Err(HttpError::Bad("response too large"));
        }
        return Ok((body.len() >= len).then(|| Response {
            status,
            body: body[..len].to_vec(),
        }));
    }
    if status == 204 || status == 304 {
        return Ok(Some(Response {
            status,
            body: Vec::new(),
        }));
    }
    Ok(None)
}

/// A response whose body ends at the close (no length, no chunks).
fn parse_to_close(buf: &[u8]) -> Result<Response, HttpError> {
    let Some((start, status, h)) = head(buf)? else {
        return Err(HttpError::Bad("closed before the header ended"));
    };
    if header(&h, "content-length").is_some() || header(&h, "transfer-encoding").is_some() {
        return Err(HttpError::Bad("closed mid-body"));
    }
    Ok(Response {
        status,
        body: buf[start..].to_vec(),
    })
}

/// The body of a chunked encoding, if all chunks are there.
fn dechunk(mut b: &[u8]) -> Result<Option<Vec<u8>>, HttpError> {
    let mut out = Vec::new();
    loop {
        let Some(eol) = b.windows(2).position(|w| w == b"\r\n") else {
            return Ok(None);
        };
        let size_text =
            std::str::from_utf8(&b[..eol]).map_err(|_| HttpError::Bad("bad chunk size"))?;
        let size_text = size_text.split(';').next().unwrap_or("").trim();
        let size =
            usize::from_str_radix(size_text, 16).map_err(|_| HttpError::Bad("bad chunk size"))?;
        if size > MAX_RESPONSE {
            return Err(HttpError::Bad("response too large"));
        }
        let rest = &b[eol + 2..];
        if size == 0 {
            return Ok(Some(out));
        }
        if rest.len() < size + 2 {
            return Ok(None);
        }
        out.extend_from_slice(&rest[..size]);
        b = &rest[size + 2..];
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lengths_and_chunks() {
        let r = complete(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}")
            .unwrap()
            .unwrap();
        assert_eq!((r.status, r.body.as_slice()), (200, &b"{}"[..]));
        assert_eq!(
            complete(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n{}").unwrap(),
            None
        );
        let c = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{\"\r\n3;x=y\r\na\":\r\n1\r\n1\r\n0\r\n\r\n";
        assert_eq!(complete(c).unwrap().unwrap().body, b"{\"a\":1");
        assert_eq!(complete(&c[..c.len() - 9]).unwrap(), None);
        assert!(complete(b"SSH-2.0\r\n\r\n").is_err());
        assert!(complete(b"HTTP/1.1 200 OK\r\nContent-Length: x\r\n\r\n").is_err());
        assert!(
            complete(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n\r\n").is_err()
        );
        assert!(parse_to_close(b"HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\n{").is_err());
        assert_eq!(
            parse_to_close(b"HTTP/1.0 200 OK\r\n\r\nabc").unwrap().body,
            b"abc"
        );
        assert!(parse_to_close(b"HTTP/1.1 2").is_err());
    }
}
