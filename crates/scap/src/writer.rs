//! Writing capture files in the v1.2 block layout that sysdig 0.29, current
//! Falco libs and sonde all read: section header (no options), machine
//! info, interface list v2, user list v2, process list v9, fd lists v2,
//! then event blocks v2 (flagged blocks when dump flags are set, large
//! blocks when a parameter exceeds 64 KiB).
//!
//! Every block is assembled in memory and written with one `write_all`, so
//! a file cut short by a crash still reads up to its last complete block.

use std::io::{self, Write};

use sonde_event::RawEvent;

use crate::blocks::*;

pub use sonde_event::meta::Metadata;

/// A block-at-a-time capture writer.
pub struct Writer<W: Write> {
    out: W,
    /// Complete blocks not handed to `out` yet, then the block being built
    /// (from `start`). Flushed in pieces of about [`BATCH`] bytes: the sink
    /// only ever receives whole blocks.
    block: Vec<u8>,
    start: usize,
    written: u64,
    events: u64,
}

/// A connected socket's endpoints, as fd-list entries store them.
fn put_conn(e: &mut Vec<u8>, sip: &[u8], dip: &[u8], sport: u16, dport: u16, l4proto: u8) {
    e.extend_from_slice(sip);
    e.extend_from_slice(dip);
    e.extend_from_slice(&sport.to_le_bytes());
    e.extend_from_slice(&dport.to_le_bytes());
    e.push(l4proto);
}

/// A listening socket's address, as fd-list entries store it.
fn put_server(e: &mut Vec<u8>, ip: &[u8], port: u16, l4proto: u8) {
    e.extend_from_slice(ip);
    e.extend_from_slice(&port.to_le_bytes());
    e.push(l4proto);
}

fn put_str16(b: &mut Vec<u8>, s: &[u8], max: usize) {
    let s = &s[..s.len().min(max)];
    b.extend_from_slice(&(s.len() as u16).to_le_bytes());
    b.extend_from_slice(s);
}

impl<W: Write> Writer<W> {
    /// Starts a capture: writes the section header.
    pub fn new(out: W) -> io::Result<Writer<W>> {
        let mut w = Writer {
            out,
            block: Vec::with_capacity(BATCH + (1 << 16)),
            start: 0,
            written: 0,
            events: 0,
        };
        w.begin(SHB);
        w.block.extend_from_slice(&SHB_MAGIC.to_le_bytes());
        w.block.extend_from_slice(&1u16.to_le_bytes());
        w.block.extend_from_slice(&2u16.to_le_bytes());
        w.block.extend_from_slice(&u64::MAX.to_le_bytes());
        w.finish()?;
        Ok(w)
    }

    /// Bytes written so far.
    pub fn bytes_written(&self) -> u64 {
        self.written
    }

    /// Events written so far.
    pub fn events_written(&self) -> u64 {
        self.events
    }

    fn begin(&mut self, block_type: u32) {
        self.start = self.block.len();
        self.block.extend_from_slice(&block_type.to_le_bytes());
        self.block.extend_from_slice(&0u32.to_le_bytes());
    }

    fn finish(&mut self) -> io::Result<()> {
        while !(self.block.len() - self.start).is_multiple_of(4) {
            self.block.push(0);
        }
        let total = (self.block.len() - self.start + 4) as u32;
        let s = self.start;
        self.block[s + 4..s + 8].copy_from_slice(&total.to_le_bytes());
        self.block.extend_from_slice(&total.to_le_bytes());
        self.written += total as u64;
        self.start = self.block.len();
        if self.block.len() >= BATCH {
            self.write_batch()?;
        }
        Ok(())
    }

    /// Hands the complete blocks gathered so far to the sink.
    fn write_batch(&mut self) -> io::Result<()> {
        if !self.block.is_empty() {
            self.out.write_all(&self.block)?;
            self.block.clear();
            self.start = 0;
        }
        Ok(())
    }

    /// Writes all metadata blocks.
    pub fn write_metadata(&mut self, m: &Metadata) -> io::Result<()> {
        if let Some(mi) = &m.machine {
            self.write_machine(mi)?;
        }
        self.write_iflist(&m.ifaces)?;
        self.write_userlist(&m.users)?;
        self.write_proclist(&m.threads)?;
        let known: std::collections::HashSet<i64> = m.threads.iter().map(|t| t.tid).collect();
        for (tid, fds) in &m.fds {
            if known.contains(tid) {
                self.write_fdlist(*tid, fds)?;
            }
        }
        Ok(())
    }

    /// Writes a machine-info block.
    pub fn write_machine(&mut self, mi: &MachineInfo) -> io::Result<()> {
        self.begin(MI);
        let b = &mut self.block;
        b.extend_from_slice(&mi.num_cpus.to_le_bytes());
        b.extend_from_slice(&mi.memory_size_bytes.to_le_bytes());
        b.extend_from_slice(&mi.max_pid.to_le_bytes());
        let mut host = [0u8; 128];
        let h = mi.hostname.as_bytes();
        let n = h.len().min(127);
        host[..n].copy_from_slice(&h[..n]);
        b.extend_from_slice(&host);
        for v in [mi.boot_ts_epoch, mi.flags, mi.reserved3, mi.reserved4] {
            b.extend_from_slice(&v.to_le_bytes());
        }
        self.finish()
    }

    /// Writes an interface-list block (v2).
    pub fn write_iflist(&mut self, il: &IfList) -> io::Result<()> {
        if il.v4.is_empty() && il.v6.is_empty() {
            return Ok(());
        }
        self.begin(IL_V2);
        let b = &mut self.block;
        for i in &il.v4 {
            let name = &i.name[..i.name.len().min(1023)];
            b.extend_from_slice(&(24 + name.len() as u32).to_le_bytes());
            b.extend_from_slice(&1u16.to_le_bytes());
            b.extend_from_slice(&(name.len() as u16).to_le_bytes());
            b.extend_from_slice(&i.addr);
            b.extend_from_slice(&i.netmask);
            b.extend_from_slice(&i.bcast);
            b.extend_from_slice(&i.linkspeed.to_le_bytes());
            b.extend_from_slice(name);
        }
        for i in &il.v6 {
            let name = &i.name[..i.name.len().min(1023)];
            b.extend_from_slice(&(60 + name.len() as u32).to_le_bytes());
            b.extend_from_slice(&2u16.to_le_bytes());
            b.extend_from_slice(&(name.len() as u16).to_le_bytes());
            b.extend_from_slice(&i.addr);
            b.extend_from_slice(&i.netmask);
            b.extend_from_slice(&i.bcast);
            b.extend_from_slice(&i.linkspeed.to_le_bytes());
            b.extend_from_slice(name);
        }
        self.finish()
    }

    /// Writes a user-list block (v2).
    pub fn write_userlist(&mut self, ul: &UserList) -> io::Result<()> {
        if ul.users.is_empty() && ul.groups.is_empty() {
            return Ok(());
        }
        self.begin(UL_V2);
        let b = &mut self.block;
        let mut e = Vec::new();
        for u in &ul.users {
            e.clear();
            e.push(0u8);
            e.extend_from_slice(&u.uid.to_le_bytes());
            e.extend_from_slice(&u.gid.to_le_bytes());
            put_str16(&mut e, &u.name, 255);
            put_str16(&mut e, &u.homedir, 255);
            put_str16(&mut e, &u.shell, 255);
            b.extend_from_slice(&(e.len() as u32 + 4).to_le_bytes());
            b.extend_from_slice(&e);
        }
        for g in &ul.groups {
            e.clear();
            e.push(1u8);
            e.extend_from_slice(&g.gid.to_le_bytes());
            put_str16(&mut e, &g.name, 255);
            b.extend_from_slice(&(e.len() as u32 + 4).to_le_bytes());
            b.extend_from_slice(&e);
        }
        self.finish()
    }

    /// Writes a process list (v9). The trailing fields are the 29 bytes
    /// that both sysdig 0.29 and current libs read the same way.
    pub fn write_proclist(&mut self, threads: &[ThreadInfo]) -> io::Result<()> {
        if threads.is_empty() {
            return Ok(());
        }
        self.begin(PL_V9);
        let mut e = Vec::with_capacity(1024);
        for t in threads {
            e.clear();
            e.extend_from_slice(&0u32.to_le_bytes()); // sub_len, patched below
            for v in [t.tid, t.pid, t.ptid, t.sid, t.vpgid] {
                e.extend_from_slice(&v.to_le_bytes());
            }
            put_str16(&mut e, &t.comm, 1024);
            put_str16(&mut e, &t.exe, 1024);
            put_str16(&mut e, &t.exepath, 1024);
            put_str16(&mut e, &t.args, 4096);
            put_str16(&mut e, &t.cwd, 1024);
            e.extend_from_slice(&t.fdlimit.to_le_bytes());
            e.extend_from_slice(&t.flags.to_le_bytes());
            e.extend_from_slice(&t.uid.to_le_bytes());
            e.extend_from_slice(&t.gid.to_le_bytes());
            e.extend_from_slice(&t.vmsize_kb.to_le_bytes());
            e.extend_from_slice(&t.vmrss_kb.to_le_bytes());
            e.extend_from_slice(&t.vmswap_kb.to_le_bytes());
            e.extend_from_slice(&t.pfmajor.to_le_bytes());
            e.extend_from_slice(&t.pfminor.to_le_bytes());
            put_str16(&mut e, &t.env, 4096);
            e.extend_from_slice(&t.vtid.to_le_bytes());
            e.extend_from_slice(&t.vpid.to_le_bytes());
            put_str16(&mut e, &t.cgroups, 4096);
            put_str16(&mut e, &t.root, 1024);
            e.extend_from_slice(&t.loginuid.to_le_bytes());
            e.push(t.exe_writable as u8);
            e.extend_from_slice(&t.cap_inheritable.to_le_bytes());
            e.extend_from_slice(&t.cap_permitted.to_le_bytes());
            e.extend_from_slice(&t.cap_effective.to_le_bytes());
            let n = e.len() as u32;
            e[0..4].copy_from_slice(&n.to_le_bytes());
            self.block.extend_from_slice(&e);
        }
        self.finish()
    }

    /// Writes the fd list of one thread (v2).
    pub fn write_fdlist(&mut self, tid: i64, fds: &[FdInfo]) -> io::Result<()> {
        if fds.is_empty() {
            return Ok(());
        }
        self.begin(FDL_V2);
        self.block.extend_from_slice(&tid.to_le_bytes());
        let mut e = Vec::with_capacity(256);
        for f in fds {
            e.clear();
            e.extend_from_slice(&0u32.to_le_bytes());
            e.extend_from_slice(&f.fd.to_le_bytes());
            e.extend_from_slice(&f.ino.to_le_bytes());
            let kind = match (&f.detail, f.kind) {
                (FdDetail::File { .. }, _) => fd_kind::FILE_V2,
                (_, k) => k,
            };
            e.push(kind);
            match &f.detail {
                FdDetail::Ipv4 {
                    sip,
                    dip,
                    sport,
                    dport,
                    l4proto,
                } => put_conn(&mut e, sip, dip, *sport, *dport, *l4proto),
                FdDetail::Ipv6 {
                    sip,
                    dip,
                    sport,
                    dport,
                    l4proto,
                } => put_conn(&mut e, sip, dip, *sport, *dport, *l4proto),
                FdDetail::Ipv4Server { ip, port, l4proto } => {
                    put_server(&mut e, ip, *port, *l4proto)
                }
                FdDetail::Ipv6Server { ip, port, l4proto } => {
                    put_server(&mut e, ip, *port, *l4proto)
                }
                FdDetail::Unix { source, dest, path } => {
                    e.extend_from_slice(&source.to_le_bytes());
                    e.extend_from_slice(&dest.to_le_bytes());
                    put_str16(&mut e, path, 1023);
                }
                FdDetail::File {
                    open_flags,
                    path,
                    dev,
                } => {
                    e.extend_from_slice(&open_flags.to_le_bytes());
                    put_str16(&mut e, path, 1023);
                    e.extend_from_slice(&dev.to_le_bytes());
                }
                FdDetail::Named(n) => put_str16(&mut e, n, 1023),
                FdDetail::None => {}
            }
            let n = e.len() as u32;
            e[0..4].copy_from_slice(&n.to_le_bytes());
            self.block.extend_from_slice(&e);
        }
        self.finish()
    }

    /// Writes an event block whose body (cpu, flags, event) is already in
    /// the v2 layout, as a reader hands it out: captures are copied without
    /// decoding.
    pub fn write_raw_event_block(&mut self, block_type: u32, body: &[u8]) -> io::Result<()> {
        self.begin(block_type);
        self.block.extend_from_slice(body);
        self.events += 1;
        self.finish()
    }

    /// Writes whole event blocks (headers and trailers included, each a
    /// multiple of 4 bytes long, as [`crate::EventSpan`] hands them out)
    /// holding `events` events. Large runs go to the sink without passing
    /// through the block buffer.
    pub fn write_raw_blocks(&mut self, blocks: &[u8], events: u64) -> io::Result<()> {
        self.written += blocks.len() as u64;
        self.events += events;
        if self.block.len() + blocks.len() < BATCH {
            self.block.extend_from_slice(blocks);
            self.start = self.block.len();
            return Ok(());
        }
        self.write_batch()?;
        self.out.write_all(blocks)
    }

    /// Writes one event block. Non-zero `dump_flags` produce a flagged block.
    pub fn write_event(&mut self, ev: &RawEvent<'_>, dump_flags: u32) -> io::Result<()> {
        let large = ev.needs_large();
        let bt = match (dump_flags != 0, large) {
            (false, false) => EV_V2,
            (false, true) => EV_V2_LARGE,
            (true, false) => EVF_V2,
            (true, true) => EVF_V2_LARGE,
        };
        self.begin(bt);
        self.block.extend_from_slice(&ev.cpu.to_le_bytes());
        if dump_flags != 0 {
            self.block.extend_from_slice(&dump_flags.to_le_bytes());
        }
        ev.encode_v2(large, &mut self.block);
        self.events += 1;
        self.finish()
    }

    /// Writes out every complete block and flushes the underlying writer.
    pub fn flush(&mut self) -> io::Result<()> {
        self.write_batch()?;
        self.out.flush()
    }

    /// The underlying writer.
    pub fn inner_ref(&self) -> &W {
        &self.out
    }

    /// The underlying writer, for appending raw blocks written elsewhere
    /// (after every block written so far).
    pub fn inner_mut(&mut self) -> io::Result<&mut W> {
        self.write_batch()?;
        Ok(&mut self.out)
    }

    /// Writes out every complete block and returns the underlying writer.
    pub fn into_inner(mut self) -> io::Result<W> {
        self.write_batch()?;
        Ok(self.out)
    }
}

/// How many bytes of complete blocks are gathered before they go to the sink.
const BATCH: usize = 256 << 10;

/// Dump flag: the event is kept only so readers can rebuild state
/// (`-F` fatfile mode); readers hide it.
pub const DF_STATE_ONLY: u32 = 1;
