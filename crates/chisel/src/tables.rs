//! The state as Lua tables: `sysdig.get_thread_table` (and its
//! `_nofds`, `_barebone` variants), `get_container_table`,
//! `get_machine_info`; and the UDP helpers (`udp_setpeername`,
//! `udp_send`) and `push_metric`.

use std::net::UdpSocket;
use std::rc::Rc;

use mlua::{Lua, Table, Value};
use sonde_state::{fmt_v6, Fd, FdType, SockAddrs, State, Thread};

use crate::api::{as_number, as_text, lua_error};
use crate::host::Host;

/// Installs the table-returning `sysdig.*` functions into `t`.
pub(crate) fn install(lua: &Lua, host: &Rc<Host>, t: &Table) -> mlua::Result<()> {
    for (name, fds, barebone) in [
        ("get_thread_table", true, false),
        ("get_thread_table_nofds", false, false),
        ("get_thread_table_barebone", true, true),
        ("get_thread_table_barebone_nofds", false, true),
    ] {
        let h = host.clone();
        t.set(
            name,
            lua.create_function(move |lua, filter: Value| {
                let filter = match as_text(&filter).filter(|f| !f.trim().is_empty()) {
                    None => None,
                    Some(f) => Some(sonde_filter::Filter::new(&f).map_err(|e| {
                        lua_error(format!(
                            "invalid filter argument for get_thread_table in chisel {}: {e}",
                            h.name
                        ))
                    })?),
                };
                let opts = Opts {
                    fds,
                    barebone,
                    filter: filter.as_ref(),
                    last_ts: h.last_ts.get(),
                };
                h.state(|st| thread_table(lua, st, &opts))
                    .unwrap_or_else(|| lua.create_table())
            })?,
        )?;
    }
    let h = host.clone();
    t.set(
        "get_container_table",
        lua.create_function(move |lua, ()| {
            h.state(|st| container_table(lua, st))
                .unwrap_or_else(|| lua.create_table())
        })?,
    )?;
    let h = host.clone();
    t.set(
        "get_machine_info",
        lua.create_function(move |lua, ()| {
            let m = h.state(|st| st.machine.clone()).flatten();
            let Some(m) = m else {
                return Err(lua_error(
                    "get_machine_info can only be called from the on_capture_start callback",
                ));
            };
            let t = lua.create_table()?;
            t.set("num_cpus", m.num_cpus as f64)?;
            t.set("memory_size_bytes", m.memory_size_bytes as f64)?;
            t.set("max_pid", m.max_pid as f64)?;
            t.set("hostname", m.hostname.clone())?;
            Ok(t)
        })?,
    )?;
    Ok(())
}

/// How a thread table is built.
struct Opts<'f> {
    fds: bool,
    barebone: bool,
    /// Only threads with an fd the filter accepts, and only those fds.
    filter: Option<&'f sonde_filter::Filter>,
    last_ts: u64,
}

/// Runs a filter on (thread, fd) pairs as sysdig does: as if the thread
/// had just read from the fd (a `read` exit event at the last event's
/// time), on a copy of the thread and its process's main thread.
struct FdProbe {
    st: State,
    body: Vec<u8>,
    last_ts: u64,
}

impl FdProbe {
    fn new(st: &State, last_ts: u64) -> FdProbe {
        let mut mini = State::new();
        mini.users = st.users.clone();
        mini.groups = st.groups.clone();
        mini.containers = st.containers.clone();
        mini.machine = st.machine.clone();
        // read exit: res (8 bytes), data (empty)
        let mut body = Vec::new();
        body.extend_from_slice(&8u16.to_le_bytes());
        body.extend_from_slice(&0u16.to_le_bytes());
        body.extend_from_slice(&0i64.to_le_bytes());
        FdProbe {
            st: mini,
            body,
            last_ts,
        }
    }

    /// The fds of `t` (in `st`) that `f` accepts.
    fn accepted(&mut self, st: &State, t: &Thread, f: &sonde_filter::Filter) -> Vec<i64> {
        self.st.threads.clear();
        for tid in [t.pid, t.ptid] {
            if let Some(x) = st.threads.get(&tid) {
                self.st.threads.insert(tid, x.clone());
            }
        }
        self.st.threads.insert(t.tid, t.clone());
        let Some(owner) = st.fd_owner(t.tid) else {
            return Vec::new();
        };
        let mut nums: Vec<i64> = owner.fds.keys().copied().collect();
        nums.sort();
        let code = sonde_event::codes::SYSCALL_READ_X;
        let Ok(ev) =
            sonde_event::RawEvent::from_parts(self.last_ts, t.tid, code, 2, &self.body, false)
        else {
            return Vec::new();
        };
        let opts = sonde_output::RenderOpts::default();
        let mut out = Vec::new();
        for n in nums {
            if let Some(me) = self.st.threads.get_mut(&t.tid) {
                me.last_fd = Some(n);
            }
            let ctx = sonde_fields::Ctx {
                st: &self.st,
                ev: &ev,
                num: 0,
                first_ts: 0,
                prev_ts: 0,
                opts: &opts,
                time_fmt: Default::default(),
                lookups: Default::default(),
            };
            if f.matches(&ctx) {
                out.push(n);
            }
        }
        out
    }
}

/// The thread table as sysdig builds it: threads keyed by tid, each with
/// its properties and (unless `fds` is false) its fd table keyed by fd.
fn thread_table(lua: &Lua, st: &State, o: &Opts<'_>) -> mlua::Result<Table> {
    let out = lua.create_table()?;
    let mut tids: Vec<&i64> = st.threads.keys().collect();
    tids.sort();
    let mut probe = o.filter.map(|_| FdProbe::new(st, o.last_ts));
    for tid in tids {
        let Some(t) = st.threads.get(tid) else {
            continue;
        };
        let accepted = match (&mut probe, o.filter) {
            (Some(p), Some(f)) => {
                let a = p.accepted(st, t, f);
                if a.is_empty() {
                    continue;
                }
                Some(a)
            }
            _ => None,
        };
        let (fds, barebone) = (o.fds, o.barebone);
        let e = lua.create_table()?;
        e.set("tid", t.tid as u32 as f64)?;
        e.set("pid", t.pid as u32 as f64)?;
        if !barebone {
            thread_props(lua, st, t, &e)?;
        }
        let fdt = lua.create_table()?;
        if fds {
            if let Some(owner) = st.fd_owner(t.tid) {
                let mut nums: Vec<&i64> = owner.fds.keys().collect();
                nums.sort();
                for n in nums {
                    if accepted.as_ref().is_some_and(|a| !a.contains(n)) {
                        continue;
                    }
                    match owner.fds.get(n) {
                        // sysdig's table has no fd of unknown type (seen
                        // with its lsof on captures sonde writes)
                        Some(fd) if fd.kind != FdType::Unknown => {
                            fdt.raw_set(*n as u32 as f64, fd_entry(lua, fd, barebone)?)?;
                        }
                        _ => {}
                    }
                }
            }
        }
        e.set("fdtable", fdt)?;
        out.raw_set(t.tid as u32 as f64, e)?;
    }
    Ok(out)
}

fn thread_props(lua: &Lua, st: &State, t: &Thread, e: &Table) -> mlua::Result<()> {
    e.set("ptid", t.ptid as u32 as f64)?;
    e.set("comm", lua.create_string(&t.comm)?)?;
    e.set("exe", lua.create_string(&t.exe)?)?;
    e.set("flags", t.flags as f64)?;
    e.set("fdlimit", t.fdlimit as u32 as f64)?;
    e.set("uid", t.uid as f64)?;
    e.set("gid", t.gid as f64)?;
    e.set("nchilds", t.nchilds as f64)?;
    e.set("vmsize_kb", t.vmsize_kb as f64)?;
    e.set("vmrss_kb", t.vmrss_kb as f64)?;
    e.set("vmswap_kb", t.vmswap_kb as f64)?;
    e.set("pfmajor", t.pfmajor as u32 as f64)?;
    e.set("pfminor", t.pfminor as u32 as f64)?;
    e.set("clone_ts", t.clone_ts.to_string())?;
    let user = match st.users.get(&t.uid) {
        Some(u) if t.uid != u32::MAX => lua.create_string(&u.name)?,
        _ => lua.create_string("<NA>")?,
    };
    e.set("username", user)?;
    let args = lua.create_table()?;
    for (i, a) in t.args_iter().enumerate() {
        args.raw_set(i + 1, lua.create_string(a)?)?;
    }
    e.set("args", args)?;
    let env = lua.create_table()?;
    for (i, a) in t.env_iter().enumerate() {
        env.raw_set(i + 1, lua.create_string(a)?)?;
    }
    e.set("env", env)?;
    Ok(())
}

/// One fd's entry: name and type, and for IP sockets the endpoints.
fn fd_entry(lua: &Lua, fd: &Fd, barebone: bool) -> mlua::Result<Table> {
    let e = lua.create_table()?;
    if !barebone {
        // sysdig's "clean" name: printable ASCII only
        let clean: Vec<u8> = fd
            .name
            .iter()
            .copied()
            .filter(|c| (0x20..0x7f).contains(c))
            .collect();
        e.set("name", lua.create_string(&clean)?)?;
        // sysdig names the types it does not support "<NA>" here (its
        // fd.type field says "unknown")
        let ty = match fd.kind {
            FdType::Unsupported => "<NA>",
            k => k.name(),
        };
        e.set("type", ty)?;
    }
    let (sip, sport, client, server): (String, u16, Option<(String, u16)>, bool) = match fd.addrs {
        SockAddrs::V4 {
            sip,
            sport,
            dip,
            dport,
        } if fd.kind == FdType::Ipv4Sock => (
            dip.to_string(),
            dport,
            Some((sip.to_string(), sport)),
            fd.role_server,
        ),
        SockAddrs::V6 {
            sip,
            sport,
            dip,
            dport,
        } if fd.kind == FdType::Ipv6Sock => (
            fmt_v6(&dip),
            dport,
            Some((fmt_v6(&sip), sport)),
            fd.role_server,
        ),
        SockAddrs::V4Server { ip, port } => (ip.to_string(), port, None, true),
        SockAddrs::V6Server { ip, port } => (fmt_v6(&ip), port, None, true),
        _ => return Ok(e),
    };
    if let Some((cip, _)) = &client {
        e.set("cip", cip.as_str())?;
    }
    e.set("sip", sip)?;
    if let Some((_, cport)) = client {
        e.set("cport", cport as f64)?;
    }
    e.set("sport", sport as f64)?;
    e.set("is_server", server)?;
    e.set("l4proto", fd.l4proto().name())?;
    Ok(e)
}

/// The containers, numbered from 1.
fn container_table(lua: &Lua, st: &State) -> mlua::Result<Table> {
    let out = lua.create_table()?;
    let mut ids: Vec<&Vec<u8>> = st.containers.keys().collect();
    ids.sort();
    for (i, id) in ids.into_iter().enumerate() {
        let Some(c) = st.containers.get(id) else {
            continue;
        };
        let e = lua.create_table()?;
        e.set("id", lua.create_string(&c.id)?)?;
        e.set("name", lua.create_string(&c.name)?)?;
        e.set("image", lua.create_string(&c.image)?)?;
        let ty = c
            .meta
            .as_ref()
            .and_then(|m| m.kind)
            .map(container_type)
            .unwrap_or("docker");
        e.set("type", ty)?;
        out.raw_set(i + 1, e)?;
    }
    Ok(out)
}

/// The name of a container type (sysdig's `CT_*` numbers).
fn container_type(kind: u32) -> &'static str {
    match kind {
        0 => "docker",
        1 => "lxc",
        2 => "libvirt_lxc",
        3 => "mesos",
        4 => "rkt",
        6 => "cri",
        7 => "containerd",
        8 => "cri-o",
        9 => "bpm",
        _ => "unknown",
    }
}

/// `sysdig.udp_setpeername(addr, port)`, `sysdig.udp_send(data)` and
/// `sysdig.push_metric(name, value, tags)` (accepted; sonde has no
/// metrics backend for it).
pub(crate) fn install_udp(lua: &Lua, host: &Rc<Host>, t: &Table) -> mlua::Result<()> {
    let h = host.clone();
    t.set(
        "udp_setpeername",
        lua.create_function(move |_, (addr, port): (Value, Value)| {
            let addr = as_text(&addr).unwrap_or_default();
            let port = as_number(&port) as u16;
            let ip: std::net::Ipv4Addr = addr
                .parse()
                .map_err(|_| lua_error("inet_pton error occurred"))?;
            let sock = UdpSocket::bind("0.0.0.0:0")
                .map_err(|_| lua_error("udp_setpeername error: unable to create the socket"))?;
            *h.udp.borrow_mut() = Some((sock, std::net::SocketAddrV4::new(ip, port)));
            Ok(())
        })?,
    )?;
    let h = host.clone();
    t.set(
        "udp_send",
        lua.create_function(move |_, msg: Value| {
            let msg = match &msg {
                Value::String(s) => s.as_bytes().to_vec(),
                other => as_text(other).unwrap_or_default().into_bytes(),
            };
            let udp = h.udp.borrow();
            let Some((sock, peer)) = udp.as_ref() else {
                return Err(lua_error("udp_send error: cannot send the buffer: "));
            };
            sock.send_to(&msg, peer)
                .map_err(|_| lua_error("udp_send error: cannot send the buffer: "))?;
            Ok(())
        })?,
    )?;
    t.set(
        "push_metric",
        lua.create_function(|_, (name, value, tags): (Value, Value, Value)| {
            if !matches!(tags, Value::Table(_)) {
                return Err(lua_error("third argument must be a table"));
            }
            if as_text(&name).is_none() {
                return Err(lua_error("first argument must be a string"));
            }
            if !matches!(value, Value::Number(_) | Value::Integer(_)) {
                return Err(lua_error("second argument must be a number"));
            }
            Ok(())
        })?,
    )?;
    Ok(())
}
