//! Socket tuples and socket addresses as events carry them (`SOCKTUPLE`
//! and `SOCKADDR` parameters): the one decoder of their byte layouts that
//! the state engine (and any other consumer) reads them with.
//!
//! Layouts: a tuple is the family byte, then source address and port,
//! destination address and port (IPv4: 4-byte addresses, 13 bytes in all;
//! IPv6: 16-byte addresses, 37 bytes), or for unix sockets two 64-bit
//! kernel pointers (source, destination) and a NUL-terminated path. An
//! address is the family byte, then address and port (7 or 19 bytes), or a
//! NUL-terminated path. Ports are little-endian. Longer payloads decode
//! from their first bytes; shorter ones do not decode.
//!
//! Does **not** own: how tuples are rendered or what they do to an fd.

/// `AF_UNIX`, as the family byte of tuples and addresses.
pub const AF_UNIX: u8 = 1;
/// `AF_INET`.
pub const AF_INET: u8 = 2;
/// `AF_INET6`.
pub const AF_INET6: u8 = 10;

/// A decoded `SOCKTUPLE` parameter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SockTuple<'a> {
    /// An IPv4 connection.
    V4 {
        /// Source address.
        sip: [u8; 4],
        /// Source port.
        sport: u16,
        /// Destination address.
        dip: [u8; 4],
        /// Destination port.
        dport: u16,
    },
    /// An IPv6 connection (possibly with IPv4-mapped addresses).
    V6 {
        /// Source address.
        sip: [u8; 16],
        /// Source port.
        sport: u16,
        /// Destination address.
        dip: [u8; 16],
        /// Destination port.
        dport: u16,
    },
    /// A unix socket connection.
    Unix {
        /// Kernel pointer of the source socket.
        source: u64,
        /// Kernel pointer of the destination socket.
        dest: u64,
        /// The path, up to its NUL.
        path: &'a [u8],
    },
}

impl SockTuple<'_> {
    /// Decodes a tuple; `None` for an unknown family or a payload too
    /// short for its family.
    #[inline]
    pub fn decode(t: &[u8]) -> Option<SockTuple<'_>> {
        match *t.first()? {
            AF_INET if t.len() >= 13 => Some(SockTuple::V4 {
                sip: [t[1], t[2], t[3], t[4]],
                sport: u16::from_le_bytes([t[5], t[6]]),
                dip: [t[7], t[8], t[9], t[10]],
                dport: u16::from_le_bytes([t[11], t[12]]),
            }),
            AF_INET6 if t.len() >= 37 => {
                let mut sip = [0u8; 16];
                sip.copy_from_slice(&t[1..17]);
                let mut dip = [0u8; 16];
                dip.copy_from_slice(&t[19..35]);
                Some(SockTuple::V6 {
                    sip,
                    sport: u16::from_le_bytes([t[17], t[18]]),
                    dip,
                    dport: u16::from_le_bytes([t[35], t[36]]),
                })
            }
            AF_UNIX => {
                let (source, dest) = unix_ends(t)?;
                Some(SockTuple::Unix {
                    source,
                    dest,
                    path: crate::cstr(&t[17..]),
                })
            }
            _ => None,
        }
    }
}

/// The source and destination pointers of a unix tuple (bytes 1..17),
/// read whatever the family byte says; `None` when the payload is shorter.
#[inline]
pub fn unix_ends(t: &[u8]) -> Option<(u64, u64)> {
    let source = u64::from_le_bytes(t.get(1..9)?.try_into().ok()?);
    let dest = u64::from_le_bytes(t.get(9..17)?.try_into().ok()?);
    Some((source, dest))
}

/// A decoded `SOCKADDR` parameter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SockAddr<'a> {
    /// An IPv4 address and port.
    V4 {
        /// The address.
        ip: [u8; 4],
        /// The port.
        port: u16,
    },
    /// An IPv6 address and port.
    V6 {
        /// The address.
        ip: [u8; 16],
        /// The port.
        port: u16,
    },
    /// A unix socket path (the bytes after the family, up to a NUL).
    Unix {
        /// The path.
        path: &'a [u8],
    },
}

impl SockAddr<'_> {
    /// Decodes an address; `None` for an unknown family or a payload too
    /// short for its family.
    #[inline]
    pub fn decode(p: &[u8]) -> Option<SockAddr<'_>> {
        match *p.first()? {
            AF_INET if p.len() >= 7 => Some(SockAddr::V4 {
                ip: [p[1], p[2], p[3], p[4]],
                port: u16::from_le_bytes([p[5], p[6]]),
            }),
            AF_INET6 if p.len() >= 19 => {
                let mut ip = [0u8; 16];
                ip.copy_from_slice(&p[1..17]);
                Some(SockAddr::V6 {
                    ip,
                    port: u16::from_le_bytes([p[17], p[18]]),
                })
            }
            AF_UNIX => Some(SockAddr::Unix {
                path: crate::cstr(&p[1..]),
            }),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tuples_decode() {
        let t = [2, 10, 0, 0, 1, 0x50, 0, 10, 0, 0, 2, 0x39, 0x30];
        assert_eq!(
            SockTuple::decode(&t),
            Some(SockTuple::V4 {
                sip: [10, 0, 0, 1],
                sport: 80,
                dip: [10, 0, 0, 2],
                dport: 12345
            })
        );
        assert_eq!(SockTuple::decode(&t[..12]), None);
        let mut u = vec![1];
        u.extend_from_slice(&7u64.to_le_bytes());
        u.extend_from_slice(&9u64.to_le_bytes());
        u.extend_from_slice(b"/tmp/s\0x");
        assert_eq!(
            SockTuple::decode(&u),
            Some(SockTuple::Unix {
                source: 7,
                dest: 9,
                path: b"/tmp/s"
            })
        );
        assert_eq!(
            SockAddr::decode(&[2, 127, 0, 0, 1, 0x50, 0]),
            Some(SockAddr::V4 {
                ip: [127, 0, 0, 1],
                port: 80
            })
        );
    }
}
