//! What a capture file needs when it starts in the middle of a stream:
//! the thread, fd and user tables of that moment ([`FileStart`]), the
//! container list as `container` events, and clone/execve exits carrying
//! the cgroups the state engine resolved ([`with_file_cgroups`]), so a
//! reader of the file finds each thread's container. Shared by the
//! rotating `-w` writer and the flight recorder (`sonde-recorder`).

use std::io::{self, Write};

use sonde_event::RawEvent;
use sonde_scap::{Metadata, Writer};
use sonde_state::State;

/// The state a capture file starts with: tables and containers as they
/// are at one moment of the stream.
#[derive(Debug, Clone)]
pub struct FileStart {
    /// Machine, interfaces, users, threads and their fds.
    pub metadata: Metadata,
    /// The containers known, sorted by id: (short id, JSON payload).
    pub containers: Vec<(Vec<u8>, Vec<u8>)>,
}

impl FileStart {
    /// The tables and containers of `st` now.
    pub fn of(st: &State) -> FileStart {
        FileStart {
            metadata: st.metadata(None),
            containers: container_list(st),
        }
    }

    /// Writes the metadata blocks, then one `container` event (at `ts`)
    /// per container.
    pub fn write<W: Write>(&self, w: &mut Writer<W>, ts: u64) -> io::Result<()> {
        w.write_metadata(&self.metadata)?;
        write_container_events(w, self.containers.iter().map(|(_, j)| j.as_slice()), ts)
    }
}

/// The containers in the table, sorted by id: (short id, JSON payload).
pub fn container_list(st: &State) -> Vec<(Vec<u8>, Vec<u8>)> {
    let mut v: Vec<(Vec<u8>, Vec<u8>)> = st
        .containers
        .iter()
        .map(|(id, c)| (id.clone(), c.to_json()))
        .collect();
    v.sort();
    v
}

/// Writes one `container` event per JSON payload, as sysdig's dumper
/// writes its container list: no thread, no dump flags. `CONTAINER_JSON_E`
/// when the payload fits 16-bit lengths, else `CONTAINER_JSON_2_E` with
/// 32-bit lengths (both readers take either).
pub fn write_container_events<'j, W: Write>(
    w: &mut Writer<W>,
    jsons: impl Iterator<Item = &'j [u8]>,
    ts: u64,
) -> io::Result<()> {
    for json in jsons {
        let Some((body, large)) = container_body(json) else {
            continue;
        };
        let code = if large {
            sonde_event::codes::CONTAINER_JSON_2_E
        } else {
            sonde_event::codes::CONTAINER_JSON_E
        };
        if let Ok(e) = RawEvent::from_parts(ts, -1, code, 1, &body, large) {
            w.write_event(&e, 0)?;
        }
    }
    Ok(())
}

/// The parameter block of a one-parameter event carrying `json` and its
/// terminating NUL, and whether its length needs 32 bits.
fn container_body(json: &[u8]) -> Option<(Vec<u8>, bool)> {
    let n = json.len() + 1;
    let mut body = Vec::with_capacity(n + 4);
    let large = n > usize::from(u16::MAX);
    if large {
        body.extend_from_slice(&u32::try_from(n).ok()?.to_le_bytes());
    } else {
        body.extend_from_slice(&u16::try_from(n).ok()?.to_le_bytes());
    }
    body.extend_from_slice(json);
    body.push(0);
    Some((body, large))
}

/// Calls `f` with `ev` as a file should hold it: with live containers
/// (the state has a container hook), a clone or execve exit whose thread
/// the state engine gave longer cgroups carries those; any other event
/// is passed as it is.
pub fn with_file_cgroups<R>(
    st: &State,
    ev: &RawEvent<'_>,
    f: impl FnOnce(&RawEvent<'_>) -> R,
) -> R {
    if st.has_container_hook() {
        if let Some((body, large)) = with_state_cgroups(st, ev) {
            let n = u32::try_from(ev.nparams()).unwrap_or(0);
            if let Ok(mut e) = RawEvent::from_parts(ev.ts, ev.tid, ev.code, n, &body, large) {
                e.cpu = ev.cpu;
                e.dump_flags = ev.dump_flags;
                e.latency = ev.latency;
                return f(&e);
            }
        }
    }
    f(ev)
}

/// The body of `ev` (a clone or execve exit) with its `cgroups` parameter
/// replaced by the cgroups of its thread in `st`, when those extend it;
/// None when nothing changes. Returns the body and whether lengths are
/// 32-bit.
fn with_state_cgroups(st: &State, ev: &RawEvent<'_>) -> Option<(Vec<u8>, bool)> {
    let info = ev.info()?;
    if !matches!(
        info.name,
        "clone" | "fork" | "vfork" | "clone3" | "execve" | "execveat"
    ) {
        return None;
    }
    let idx = info.params.iter().position(|p| p.name == "cgroups")?;
    let old = ev.param(idx)?;
    let new = &st.thread(ev.tid)?.info.cgroups;
    if new.len() <= old.len() || !new.starts_with(old) {
        return None;
    }
    let n = ev.nparams();
    let large = ev.parts().2 || new.len() > usize::from(u16::MAX);
    let mut lens = Vec::with_capacity(n * 4);
    let mut data = Vec::new();
    for i in 0..n {
        let p = if i == idx {
            new.as_slice()
        } else {
            ev.param(i)?
        };
        if large {
            lens.extend_from_slice(&u32::try_from(p.len()).ok()?.to_le_bytes());
        } else {
            lens.extend_from_slice(&u16::try_from(p.len()).ok()?.to_le_bytes());
        }
        data.extend_from_slice(p);
    }
    lens.extend_from_slice(&data);
    Some((lens, large))
}
