//! I/O: the read and write family (`read`, `write`, `recv*`, `send*`,
//! `readv`, `writev`, `pread*`, `pwrite*`). The exits without an address
//! are the most frequent events of all and take a fast path
//! ([`State::on_plain_rw_exit`]: one thread lookup); sends and receives
//! with an address update their socket's endpoints (`sockets`).

use sonde_event::{codes as c, RawEvent};

use crate::fd::FdType;

use super::dispatch::exit_fd_num;
use super::{exit_fd_tuple, keep_exit_latency, State};

impl State {
    /// What [`State::process`] does for a read or write exit without an
    /// address (see [`is_plain_rw_exit`]): meet the thread, keep its
    /// latency, then [`State::on_exit`]'s work, with the thread looked up
    /// once (and its fd table too, unless it shares its process's).
    #[inline]
    pub(super) fn on_plain_rw_exit(&mut self, ev: &RawEvent<'_>, info: &sonde_event::EventInfo) {
        let tid = ev.tid;
        let t = super::thread_or_fake(&mut self.threads, &mut self.epochs, tid);
        keep_exit_latency(t, ev);
        if info.flags & sonde_event::flags::USES_FD != 0 {
            t.last_fd = exit_fd_num(t, ev, info);
        }
        t.last_enter.spend();
        if ev.param_i64(0).unwrap_or(-1) < 0 {
            return;
        }
        // successful I/O on an IP socket: it is connected
        let Some(fd) = t.last_fd else { return };
        let f = if t.shares_fds() {
            self.fd_mut(tid, fd)
        } else {
            t.fds.get_mut(&fd)
        };
        if let Some(f) = f {
            if matches!(f.kind, FdType::Ipv4Sock | FdType::Ipv6Sock) {
                f.connected = true;
            }
        }
    }

    /// A successful I/O exit on an IP socket: the socket is connected.
    pub(super) fn mark_connected(&mut self, tid: i64) {
        if let Some(fd) = self.threads.get(&tid).and_then(|t| t.last_fd) {
            if let Some(f) = self.fd_mut(tid, fd) {
                if matches!(f.kind, FdType::Ipv4Sock | FdType::Ipv6Sock) {
                    f.connected = true;
                }
            }
        }
    }

    /// `sendto`/`sendmsg`/`recvfrom`/`recvmsg` exits: the tuple, from the
    /// exit (current libs, live capture) or else from the enter event
    /// (sends) or the exit's own address parameter (receives), updates
    /// the socket's endpoints.
    pub(super) fn on_addr_io_exit(&mut self, ev: &RawEvent<'_>, enter: u16) {
        let tid = ev.tid;
        if let Some((fd, tuple)) = exit_fd_tuple(ev) {
            // current libs (live capture): the exit carries fd and tuple
            let incoming = matches!(ev.code, c::SOCKET_RECVFROM_X | c::SOCKET_RECVMSG_X);
            if ev.param_i64(0).unwrap_or(-1) >= 0 && !tuple.is_empty() {
                self.rw_tuple(tid, sonde_event::le_int(fd), tuple, incoming);
            }
            return;
        }
        if ev.param_i64(0).unwrap_or(-1) < 0 {
            return;
        }
        if matches!(ev.code, c::SOCKET_SENDTO_X | c::SOCKET_SENDMSG_X) {
            if let Some(fd) = self.threads.get(&tid).and_then(|t| t.last_fd) {
                // the tuple is in the enter event: copy it out of
                // the thread (into a reused buffer) to update the fd
                let mut tuple = std::mem::take(&mut self.scratch);
                tuple.clear();
                if let Some(t) = self.enter_param(tid, enter, 2) {
                    tuple.extend_from_slice(t);
                    self.rw_tuple(tid, fd, &tuple, false);
                }
                self.scratch = tuple;
            }
        } else {
            let idx = if ev.code == c::SOCKET_RECVFROM_X {
                2
            } else {
                3
            };
            if let (Some(fd), Some(tuple)) = (
                self.threads.get(&tid).and_then(|t| t.last_fd),
                ev.param(idx),
            ) {
                self.rw_tuple(tid, fd, tuple, true);
            }
        }
    }
}

/// The I/O exits sysdig's parser treats as reads and writes (and hands to
/// its protocol decoders).
#[inline]
pub fn is_rw_exit(code: u16) -> bool {
    matches!(
        code,
        c::SYSCALL_READ_X
            | c::SYSCALL_WRITE_X
            | c::SOCKET_RECV_X
            | c::SOCKET_SEND_X
            | c::SOCKET_RECVFROM_X
            | c::SOCKET_RECVMSG_X
            | c::SOCKET_SENDTO_X
            | c::SOCKET_SENDMSG_X
            | c::SYSCALL_READV_X
            | c::SYSCALL_WRITEV_X
            | c::SYSCALL_PREAD_X
            | c::SYSCALL_PWRITE_X
            | c::SYSCALL_PREADV_X
            | c::SYSCALL_PWRITEV_X
    )
}

/// The read and write exits [`State::on_exit`] has nothing to do for
/// beyond the fd bookkeeping of every I/O exit: those without an address.
#[inline(always)]
pub(super) fn is_plain_rw_exit(code: u16) -> bool {
    is_rw_exit(code)
        && !matches!(
            code,
            c::SOCKET_RECVFROM_X | c::SOCKET_RECVMSG_X | c::SOCKET_SENDTO_X | c::SOCKET_SENDMSG_X
        )
}
