//! Sidecar mode: the agent where BPF is not allowed (a managed platform, a
//! pod without privileges). Nothing is traced; every second the series are
//! read from what an unprivileged process can see: `/proc/PID/stat`,
//! `statm` and `io` of the processes of its pid namespace, its cgroup's
//! `cpu.stat` and `memory.current` (v2) or `cpuacct.usage` and
//! `memory.usage_in_bytes` (v1), and its network namespace's counters
//! (`/proc/net/dev`, `/proc/net/tcp`, `tcp6`).
//!
//! The names are those of the full agent where the meaning is the same
//! (`cpu.user`, `cpu.system`, `memory.rss`, `memory.vm`, `net.bytes`,
//! `net.connections`, `net.listening`); `file.bytes` is storage I/O
//! (`read_bytes`/`write_bytes`: page-cache hits are not in it). Every
//! series carries `sonde.reduced=true` so a reader knows that syscalls,
//! errors, latencies and HTTP are missing.

use std::collections::BTreeSet;
use std::path::PathBuf;

use rustc_hash::FxHashMap;

use crate::cpu::{CpuSource, CpuTracker};
use crate::series::{Batch, Series, Tags, Value};
use crate::tags;

/// The tag every sidecar series carries.
pub const REDUCED: (&str, &str) = ("sonde.reduced", "true");

/// What a process was at the last second: (read_bytes, write_bytes).
type IoPrev = FxHashMap<i64, (u64, u64)>;

/// The sidecar's sampler: one [`Batch`] per call of [`Sidecar::sample`].
pub struct Sidecar {
    proc_root: PathBuf,
    cgroup_root: PathBuf,
    base: Tags,
    cpu: CpuTracker,
    io: IoPrev,
    /// (rx, tx) bytes of the network namespace at the last second.
    net: Option<(u64, u64)>,
    /// The cgroup's CPU time (ns) at the last second, and when.
    cg_cpu: Option<(u64, u64)>,
}

impl Sidecar {
    /// A sampler reading `/proc` and `/sys/fs/cgroup`; `base` holds the
    /// host and explicit tags every series gets.
    pub fn new(hostname: Option<&str>, explicit: &[(String, String)]) -> Sidecar {
        Sidecar::with_roots("/proc".into(), "/sys/fs/cgroup".into(), hostname, explicit)
    }

    /// A sampler reading other roots (tests).
    pub fn with_roots(
        proc_root: PathBuf,
        cgroup_root: PathBuf,
        hostname: Option<&str>,
        explicit: &[(String, String)],
    ) -> Sidecar {
        let mut base: Tags = explicit.to_vec();
        base.sort();
        if let Some(h) = hostname {
            tags::put(&mut base, "host.hostname", h.to_string());
        }
        tags::put(&mut base, REDUCED.0, REDUCED.1.to_string());
        Sidecar {
            proc_root,
            cgroup_root,
            base,
            cpu: CpuTracker::new(CpuSource::Proc),
            io: FxHashMap::default(),
            net: None,
            cg_cpu: None,
        }
    }

    /// Starts the clock (the first second's rates count from here).
    pub fn start(&mut self, ts: u64) {
        self.cpu.start(ts);
        let _ = self.sample(ts);
    }

    /// The second ending at `ts` (nanoseconds since the epoch).
    pub fn sample(&mut self, ts: u64) -> Batch {
        let mut out = Vec::new();
        let pids = self.pids();
        self.processes(&pids, ts, &mut out);
        self.network(&mut out);
        self.cgroup(ts, &mut out);
        out.sort_by(|a, b| a.name.cmp(&b.name).then_with(|| a.tags.cmp(&b.tags)));
        Batch { ts, series: out }
    }

    fn push(&self, out: &mut Vec<Series>, name: &str, extra: Tags, value: Value) {
        out.push(Series {
            name: name.to_string(),
            tags: tags::joined(&extra, &[&self.base]),
            value,
        });
    }

    /// The processes of this pid namespace.
    fn pids(&self) -> Vec<i64> {
        let Ok(rd) = std::fs::read_dir(&self.proc_root) else {
            return Vec::new();
        };
        let mut v: Vec<i64> = rd
            .filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok())
            .collect();
        v.sort_unstable();
        v
    }

    fn processes(&mut self, pids: &[i64], ts: u64, out: &mut Vec<Series>) {
        let (per, host) = if self.proc_root == std::path::Path::new("/proc") {
            self.cpu.sample(ts, pids)
        } else {
            (Vec::new(), None)
        };
        let cpu: FxHashMap<i64, (f64, f64)> = per.into_iter().collect();
        let mut seen = FxHashMap::default();
        for &pid in pids {
            let dir = self.proc_root.join(pid.to_string());
            let Some(comm) = read(dir.join("comm")).map(|c| c.trim().to_string()) else {
                continue;
            };
            let ptags = vec![
                ("proc.name".to_string(), comm),
                ("proc.pid".to_string(), pid.to_string()),
                ("scope".to_string(), "process".to_string()),
            ];
            if let Some((u, s)) = cpu.get(&pid) {
                self.push(out, "cpu.user", ptags.clone(), Value::Gauge(*u));
                self.push(out, "cpu.system", ptags.clone(), Value::Gauge(*s));
            }
            if let Some((vm, rss)) = read(dir.join("statm")).and_then(|s| statm(&s)) {
                self.push(out, "memory.rss", ptags.clone(), Value::Gauge(rss));
                self.push(out, "memory.vm", ptags.clone(), Value::Gauge(vm));
            }
            if let Some(io) = read(dir.join("io")).and_then(|s| storage_io(&s)) {
                seen.insert(pid, io);
                if let Some((r0, w0)) = self.io.get(&pid) {
                    for (d, v) in [
                        ("in", io.0.saturating_sub(*r0)),
                        ("out", io.1.saturating_sub(*w0)),
                    ] {
                        if v > 0 {
                            let mut t = ptags.clone();
                            t.push(("direction".to_string(), d.to_string()));
                            t.sort();
                            self.push(out, "file.bytes", t, Value::Counter(v as f64));
                        }
                    }
                }
            }
        }
        self.io = seen;
        // the node's CPU (`/proc/stat` is not namespaced)
        let host_tags = vec![("scope".to_string(), "host".to_string())];
        if let Some((u, s)) = host {
            self.push(out, "cpu.user", host_tags.clone(), Value::Gauge(u));
            self.push(out, "cpu.system", host_tags, Value::Gauge(s));
        }
    }

    /// The network namespace's bytes, connections and listening ports.
    fn network(&mut self, out: &mut Vec<Series>) {
        let host = || vec![("scope".to_string(), "host".to_string())];
        if let Some((rx, tx)) = read(self.proc_root.join("net/dev")).and_then(|s| net_dev(&s)) {
            if let Some((rx0, tx0)) = self.net.replace((rx, tx)) {
                for (d, v) in [
                    ("in", rx.saturating_sub(rx0)),
                    ("out", tx.saturating_sub(tx0)),
                ] {
                    let mut t = host();
                    t.push(("direction".to_string(), d.to_string()));
                    t.sort();
                    self.push(out, "net.bytes", t, Value::Counter(v as f64));
                }
            }
        }
        let mut established = 0u64;
        let mut listening = BTreeSet::new();
        for f in ["net/tcp", "net/tcp6"] {
            if let Some(s) = read(self.proc_root.join(f)) {
                let (e, l) = tcp_table(&s);
                established += e;
                listening.extend(l);
            }
        }
        self.push(
            out,
            "net.connections",
            host(),
            Value::Gauge(established as f64),
        );
        for port in listening {
            let mut t = host();
            t.push(("net.port".to_string(), port.to_string()));
            t.sort();
            self.push(out, "net.listening", t, Value::Gauge(1.0));
        }
    }

    /// The agent's own cgroup (the pod's container): CPU share and memory.
    fn cgroup(&mut self, ts: u64, out: &mut Vec<Series>) {
        let Some(cg) = read(self.proc_root.join("self/cgroup")).map(|s| own_cgroups(&s)) else {
            return;
        };
        let mut t = vec![("scope".to_string(), "container".to_string())];
        if let Some(id) = cg.iter().find_map(|(_, p)| container_id(p)) {
            t.push(("container.id".to_string(), id));
        }
        t.sort();
        let v1 = cg.iter().any(|(c, _)| c == "memory" || c == "cpuacct");
        let cpu_ns = if v1 {
            self.cg_read(&cg, "cpuacct", "cpuacct.usage")
                .and_then(|s| s.trim().parse::<u64>().ok())
        } else {
            self.cg_read(&cg, "", "cpu.stat")
                .and_then(|s| cpu_stat_usec(&s))
                .map(|u| u * 1000)
        };
        if let Some(ns) = cpu_ns {
            if let Some((prev, at)) = self.cg_cpu.replace((ns, ts)) {
                let secs = (ts.saturating_sub(at) as f64 / 1e9).max(1e-3);
                let share = ns.saturating_sub(prev) as f64 / 1e9 / secs * 100.0;
                self.push(out, "cpu.total", t.clone(), Value::Gauge(share));
            }
        }
        let mem = if v1 {
            self.cg_read(&cg, "memory", "memory.usage_in_bytes")
        } else {
            self.cg_read(&cg, "", "memory.current")
        };
        if let Some(m) = mem.and_then(|s| s.trim().parse::<f64>().ok()) {
            self.push(out, "memory.usage", t, Value::Gauge(m));
        }
    }

    /// A file of controller `ctrl` ("" for v2) of this process's cgroup:
    /// under the hierarchy at the process's path, else at the hierarchy's
    /// root (a container sees its own cgroup mounted there).
    fn cg_read(&self, cg: &[(String, String)], ctrl: &str, file: &str) -> Option<String> {
        let path = cg
            .iter()
            .find(|(c, _)| c == ctrl)?
            .1
            .trim_start_matches('/');
        let base = if ctrl.is_empty() {
            self.cgroup_root.clone()
        } else {
            self.cgroup_root.join(ctrl)
        };
        read(base.join(path).join(file)).or_else(|| read(base.join(file)))
    }
}

fn read(p: PathBuf) -> Option<String> {
    std::fs::read_to_string(p).ok()
}

/// (vm, rss) bytes from `statm` (pages).
fn statm(s: &str) -> Option<(f64, f64)> {
    let mut it = s.split_whitespace();
    let vm: f64 = it.next()?.parse().ok()?;
    let rss: f64 = it.next()?.parse().ok()?;
    // SAFETY: sysconf has no preconditions
    let page = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    let page = if page > 0 { page as f64 } else { 4096.0 };
    Some((vm * page, rss * page))
}

/// (read_bytes, write_bytes) from `/proc/PID/io`.
fn storage_io(s: &str) -> Option<(u64, u64)> {
    let field = |k: &str| {
        s.lines()
            .find_map(|l| l.strip_prefix(k)?.trim().parse::<u64>().ok())
    };
    Some((field("read_bytes:")?, field("write_bytes:")?))
}

/// Received and sent bytes over every interface of `/proc/net/dev`.
fn net_dev(s: &str) -> Option<(u64, u64)> {
    let mut rx = 0u64;
    let mut tx = 0u64;
    let mut any = false;
    for l in s.lines().skip(2) {
        let Some((_, nums)) = l.split_once(':') else {
            continue;
        };
        let f: Vec<u64> = nums
            .split_whitespace()
            .filter_map(|x| x.parse().ok())
            .collect();
        if f.len() >= 9 {
            rx = rx.saturating_add(f[0]);
            tx = tx.saturating_add(f[8]);
            any = true;
        }
    }
    any.then_some((rx, tx))
}

/// Established connections and listening ports of a `/proc/net/tcp` table.
fn tcp_table(s: &str) -> (u64, Vec<u16>) {
    let mut est = 0;
    let mut listen = Vec::new();
    for l in s.lines().skip(1) {
        let f: Vec<&str> = l.split_whitespace().collect();
        if f.len() < 4 {
            continue;
        }
        match f[3] {
            "01" => est += 1,
            "0A" => {
                if let Some(p) = f[1]
                    .rsplit_once(':')
                    .and_then(|(_, p)| u16::from_str_radix(p, 16).ok())
                {
                    listen.push(p);
                }
            }
            _ => {}
        }
    }
    (est, listen)
}

/// (controller, path) of each line of `/proc/PID/cgroup`, one pair per
/// controller ("" for the v2 hierarchy).
fn own_cgroups(s: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for l in s.lines() {
        let mut p = l.splitn(3, ':');
        let (Some(_), Some(ctrls), Some(path)) = (p.next(), p.next(), p.next()) else {
            continue;
        };
        for c in ctrls.split(',') {
            out.push((c.to_string(), path.to_string()));
        }
    }
    out
}

/// The container id in a cgroup path (64 hex digits in its last parts).
fn container_id(path: &str) -> Option<String> {
    path.rsplit('/').find_map(|part| {
        let part = part.strip_suffix(".scope").unwrap_or(part);
        let hex = part.rsplit(['-', ':']).next()?;
        (hex.len() == 64 && hex.bytes().all(|b| b.is_ascii_hexdigit()))
            .then(|| hex[..12].to_string())
    })
}

/// `usage_usec` of a v2 `cpu.stat`.
fn cpu_stat_usec(s: &str) -> Option<u64> {
    s.lines()
        .find_map(|l| l.strip_prefix("usage_usec ")?.trim().parse().ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_proc_files() {
        assert_eq!(
            storage_io("rchar: 10\nwchar: 20\nread_bytes: 4096\nwrite_bytes: 8192\n"),
            Some((4096, 8192))
        );
        let dev = "Inter-|   Receive\n face |bytes packets\n    lo: 100 2 0 0 0 0 0 0 100 2 0 0 0 0 0 0\n  eth0: 5000 10 0 0 0 0 0 0 700 5 0 0 0 0 0 0\n";
        assert_eq!(net_dev(dev), Some((5100, 800)));
        let tcp = "  sl  local_address rem_address   st\n   0: 0100007F:1F90 00000000:0000 0A 0\n   1: 0100007F:1F90 0100007F:C350 01 0\n";
        assert_eq!(tcp_table(tcp), (1, vec![8080]));
        assert_eq!(
            cpu_stat_usec("usage_usec 1500\nuser_usec 1000\n"),
            Some(1500)
        );
        let pairs = |v: &[(&str, &str)]| -> Vec<(String, String)> {
            v.iter()
                .map(|(a, b)| (a.to_string(), b.to_string()))
                .collect()
        };
        assert_eq!(own_cgroups("0::/a/b\n"), pairs(&[("", "/a/b")]));
        assert_eq!(
            own_cgroups("12:cpu,cpuacct:/x\n0::/y\n"),
            pairs(&[("cpu", "/x"), ("cpuacct", "/x"), ("", "/y")])
        );
        let id = "a".repeat(64);
        assert_eq!(
            container_id(&format!("/machine.slice/libpod-{id}.scope/container")),
            Some("a".repeat(12))
        );
        assert_eq!(container_id("/user.slice/session-1.scope"), None);
        assert!(statm("garbage").is_none());
    }

    #[test]
    fn samples_this_process() {
        let mut sc = Sidecar::new(Some("h1"), &[("team".into(), "a".into())]);
        let t0 = 1_000_000_000;
        sc.start(t0);
        // work and I/O between the two seconds
        // (CPU time counts in clock ticks of 10 ms: spin for 80 ms)
        let t = std::time::Instant::now();
        let mut x = 0u64;
        while t.elapsed() < std::time::Duration::from_millis(80) {
            x = std::hint::black_box(x.wrapping_mul(31).wrapping_add(1));
        }
        let b = sc.sample(t0 + 1_000_000_000);
        let me = std::process::id().to_string();
        let mine = |name: &str| {
            b.series
                .iter()
                .find(|s| s.name == name && s.tags.iter().any(|(k, v)| k == "proc.pid" && *v == me))
        };
        for s in &b.series {
            assert!(
                s.tags.contains(&("sonde.reduced".into(), "true".into())),
                "{s:?}"
            );
            assert!(s.tags.contains(&("host.hostname".into(), "h1".into())));
            assert!(s.tags.contains(&("team".into(), "a".into())));
        }
        let rss = mine("memory.rss").expect("own rss");
        assert!(matches!(rss.value, Value::Gauge(v) if v > 1e6), "{rss:?}");
        let cpu = mine("cpu.user").expect("own cpu");
        assert!(matches!(cpu.value, Value::Gauge(v) if v > 0.0), "{cpu:?}");
        assert!(b.series.iter().any(|s| s.name == "net.connections"));
        assert!(b.series.iter().any(|s| s.name == "net.bytes"));
    }

    #[test]
    fn cgroup_files_at_the_path_or_the_mount_root() {
        let dir = std::env::temp_dir().join(format!("sonde-sidecar-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let id = "b".repeat(64);
        let proc_root = dir.join("proc");
        std::fs::create_dir_all(proc_root.join("self")).unwrap();
        std::fs::write(
            proc_root.join("self/cgroup"),
            format!(
                "4:memory:/libpod_parent/libpod-{id}\n2:cpuacct:/libpod_parent/libpod-{id}\n0::/\n"
            ),
        )
        .unwrap();
        // v1 as a container sees it: its own cgroup mounted at the root
        let cg = dir.join("cgroup");
        std::fs::create_dir_all(cg.join("memory")).unwrap();
        std::fs::create_dir_all(cg.join("cpuacct")).unwrap();
        std::fs::write(cg.join("memory/memory.usage_in_bytes"), "4096\n").unwrap();
        std::fs::write(cg.join("cpuacct/cpuacct.usage"), "1000000000\n").unwrap();
        let mut sc = Sidecar::with_roots(proc_root, cg.clone(), None, &[]);
        sc.start(1_000_000_000);
        std::fs::write(cg.join("cpuacct/cpuacct.usage"), "1500000000\n").unwrap();
        let b = sc.sample(2_000_000_000);
        let get = |n: &str| b.series.iter().find(|s| s.name == n).cloned();
        let mem = get("memory.usage").expect("memory");
        assert_eq!(mem.value, Value::Gauge(4096.0));
        assert!(mem.tags.contains(&("container.id".into(), "b".repeat(12))));
        assert_eq!(get("cpu.total").expect("cpu").value, Value::Gauge(50.0));
        let _ = std::fs::remove_dir_all(&dir);
    }
}
