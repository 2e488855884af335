//! The HTTP side: one [`Client`] per shard URL (POST a statement, with a
//! RowBinary body for inserts, and read the RowBinary answer), and the
//! RowBinary encoding ([`Row`] writes, [`Reader`] reads) of the few
//! column types the schema uses. The user and password travel as URL
//! parameters and never appear in an error message.

use std::time::Duration;

use sonde_store::{Result, StoreError};

/// One ClickHouse server's HTTP interface.
#[derive(Clone)]
pub struct Client {
    /// `http://host:port` (no trailing slash); what errors name.
    pub base: String,
    agent: ureq::Agent,
    auth: String,
}

fn enc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

impl Client {
    /// A client of the server at `base`.
    pub fn new(base: &str, user: &str, password: &str, timeout: Duration) -> Client {
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(timeout))
            .build()
            .into();
        Client {
            base: base.trim_end_matches('/').to_string(),
            agent,
            auth: format!("user={}&password={}", enc(user), enc(password)),
        }
    }

    /// Runs `sql` (a SELECT answers RowBinary when it says `FORMAT
    /// RowBinary`), with `body` as the data of an INSERT, and returns the
    /// answer's bytes. `settings` are extra `name=value` URL parameters.
    pub fn run(&self, sql: &str, body: Option<&[u8]>, settings: &str) -> Result<Vec<u8>> {
        let mut url = format!("{}/?{}", self.base, self.auth);
        if !settings.is_empty() {
            url.push('&');
            url.push_str(settings);
        }
        let resp = match body {
            Some(b) => {
                url.push_str("&query=");
                url.push_str(&enc(sql));
                self.agent.post(&url).send(b)
            }
            None => self.agent.post(&url).send(sql.as_bytes()),
        };
        let fail = |what: &str| StoreError::Engine(format!("clickhouse {}: {what}", self.base));
        let mut resp = resp.map_err(|e| fail(&kind_of(&e)))?;
        let status = resp.status();
        let bytes = resp
            .body_mut()
            .with_config()
            .limit(8 << 30)
            .read_to_vec()
            .map_err(|e| fail(&kind_of(&e)))?;
        if !status.is_success() {
            let msg = String::from_utf8_lossy(&bytes);
            let msg: String = msg.trim().chars().take(600).collect();
            return Err(fail(&format!("HTTP {}: {msg}", status.as_u16())));
        }
        Ok(bytes)
    }

    /// Runs a statement whose answer does not matter.
    pub fn exec(&self, sql: &str) -> Result<()> {
        self.run(sql, None, "").map(|_| ())
    }
}

/// An ureq error without the URL (it carries the password).
fn kind_of(e: &ureq::Error) -> String {
    match e {
        ureq::Error::Io(io) => format!("I/O: {}", io.kind()),
        ureq::Error::Timeout(t) => format!("timed out ({t})"),
        ureq::Error::HostNotFound => "host not found".into(),
        ureq::Error::ConnectionFailed => "connection failed".into(),
        other => format!("{other}")
            .split("http")
            .next()
            .unwrap_or_default()
            .to_string(),
    }
}

/// A SQL string literal.
pub fn lit(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('\'');
    for c in s.chars() {
        match c {
            '\'' => out.push_str("\\'"),
            '\\' => out.push_str("\\\\"),
            '\0' => out.push_str("\\0"),
            c => out.push(c),
        }
    }
    out.push('\'');
    out
}

/// RowBinary rows being written.
#[derive(Default)]
pub struct Row {
    /// The encoded bytes.
    pub buf: Vec<u8>,
}

impl Row {
    fn varint(&mut self, mut v: u64) {
        while v >= 0x80 {
            self.buf.push((v as u8) | 0x80);
            v >>= 7;
        }
        self.buf.push(v as u8);
    }
    /// UInt64.
    pub fn u64(&mut self, v: u64) -> &mut Self {
        self.buf.extend_from_slice(&v.to_le_bytes());
        self
    }
    /// Int64.
    pub fn i64(&mut self, v: i64) -> &mut Self {
        self.buf.extend_from_slice(&v.to_le_bytes());
        self
    }
    /// Float64.
    pub fn f64(&mut self, v: f64) -> &mut Self {
        self.buf.extend_from_slice(&v.to_le_bytes());
        self
    }
    /// UInt8.
    pub fn u8(&mut self, v: u8) -> &mut Self {
        self.buf.push(v);
        self
    }
    /// String.
    pub fn str(&mut self, s: &str) -> &mut Self {
        self.varint(s.len() as u64);
        self.buf.extend_from_slice(s.as_bytes());
        self
    }
    /// Array(UInt64).
    pub fn arr(&mut self, v: impl ExactSizeIterator<Item = u64>) -> &mut Self {
        self.varint(v.len() as u64);
        for x in v {
            self.u64(x);
        }
        self
    }
}

/// Reads a RowBinary answer.
pub struct Reader<'a> {
    b: &'a [u8],
    pos: usize,
}

fn short() -> StoreError {
    StoreError::Engine("clickhouse: truncated RowBinary answer".into())
}

impl<'a> Reader<'a> {
    /// Over an answer's bytes.
    pub fn new(b: &'a [u8]) -> Self {
        Reader { b, pos: 0 }
    }
    /// Whether rows remain.
    pub fn more(&self) -> bool {
        self.pos < self.b.len()
    }
    fn take(&mut self, n: usize) -> Result<&'a [u8]> {
        let s = self.b.get(self.pos..self.pos + n).ok_or_else(short)?;
        self.pos += n;
        Ok(s)
    }
    fn varint(&mut self) -> Result<u64> {
        let mut v = 0u64;
        let mut shift = 0;
        loop {
            let byte = self.take(1)?[0];
            v |= u64::from(byte & 0x7f) << shift;
            if byte < 0x80 {
                return Ok(v);
            }
            shift += 7;
            if shift > 63 {
                return Err(short());
            }
        }
    }
    /// UInt64.
    pub fn u64(&mut self) -> Result<u64> {
        Ok(u64::from_le_bytes(
            self.take(8)?.try_into().map_err(|_| short())?,
        ))
    }
    /// UInt32.
    pub fn u32(&mut self) -> Result<u32> {
        Ok(u32::from_le_bytes(
            self.take(4)?.try_into().map_err(|_| short())?,
        ))
    }
    /// Int64.
    pub fn i64(&mut self) -> Result<i64> {
        Ok(self.u64()? as i64)
    }
    /// Float64.
    pub fn f64(&mut self) -> Result<f64> {
        Ok(f64::from_bits(self.u64()?))
    }
    /// UInt8.
    pub fn u8(&mut self) -> Result<u8> {
        Ok(self.take(1)?[0])
    }
    /// String (UTF-8 checked).
    pub fn str(&mut self) -> Result<String> {
        let n = self.varint()? as usize;
        let s = self.take(n)?;
        String::from_utf8(s.to_vec())
            .map_err(|_| StoreError::Engine("clickhouse: a string is not UTF-8".into()))
    }
    /// Array(UInt64).
    pub fn arr(&mut self) -> Result<Vec<u64>> {
        let n = self.varint()? as usize;
        if n > self.b.len() {
            return Err(short());
        }
        (0..n).map(|_| self.u64()).collect()
    }
}
