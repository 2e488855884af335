//! The end of a second: levels read from the state (memory, connections,
//! listening ports), CPU, the agent's own cost, then every aggregate of the
//! second turned into [`Series`] with their entity's implicit tags.

use std::borrow::Cow;

use rustc_hash::FxHashMap;
use sonde_state::{FdType, SockAddrs, State};

use crate::agg::{Agg, Basic, Ent, Key, Name, Second, NO_TAGS};
use crate::series::{Batch, Series, Tags, Value};
use crate::sink::MetricsSink;
use crate::statsd::{Kind, Sample};
use crate::tags;

/// Tag keys a statsd payload may not set: the agent's implicit ones.
const RESERVED: [&str; 6] = [
    "host.",
    "container.",
    "proc.",
    "k8s.",
    "kubernetes.",
    "scope.",
];

/// Adds one statsd sample to the second, for entity `ent`.
pub fn statsd_sample(sec: &mut Second, ent: Ent, s: Sample) {
    let mut extra: Vec<(Name, String)> = s
        .tags
        .into_iter()
        .filter(|(k, _)| {
            !RESERVED
                .iter()
                .any(|r| k.starts_with(r) || *k == r[..r.len() - 1])
        })
        .map(|(k, v)| (Cow::Owned(k), v))
        .collect();
    extra.sort();
    extra.dedup_by(|a, b| a.0 == b.0);
    let key = Key {
        ent,
        name: Cow::Owned(s.name),
        extra,
    };
    match s.kind {
        Kind::Counter => {
            if let Some(Agg::Count(c)) = sec.tagged(key, || Agg::Count(0.0)) {
                *c += s.value;
            }
        }
        Kind::Gauge => {
            if let Some(Agg::Gauge(g)) = sec.tagged(key, || Agg::Gauge(0.0)) {
                *g = if s.relative { *g + s.value } else { s.value };
            }
        }
        Kind::Timer | Kind::Histogram => {
            if let Some(Agg::Hist(h)) = sec.tagged(key, || Agg::Hist(Default::default())) {
                // milliseconds to nanoseconds (histograms: value x 1e6)
                h.record((s.value * 1e6).round() as u64);
            }
        }
        Kind::Set => {
            if let Some(Agg::Set(m)) = sec.tagged(key, || Agg::Set(Default::default())) {
                if m.len() < 100_000 {
                    m.insert(s.member);
                }
            }
        }
    }
}

/// Memory, connections and listening ports from the state: per process
/// active this second, and summed per container and for the host over
/// every process.
fn state_levels(sink: &mut MetricsSink<'_>, st: &State) {
    let mut ctr_of: FxHashMap<Vec<u8>, u32> = FxHashMap::default();
    for t in st.threads.values().filter(|t| t.is_main()) {
        let ctr = (!t.container_id.is_empty()).then(|| match sink.ctr_ids.get(&t.container_id) {
            Some(&i) => i,
            None => *ctr_of.entry(t.container_id.clone()).or_insert_with(|| {
                let i = sink.ctr_names.len() as u32;
                sink.ctr_names.push(t.container_id.clone());
                i
            }),
        });
        let active = sink.procs.contains_key(&t.pid);
        let mut ents = vec![Ent::Host];
        ents.extend(ctr.map(Ent::Ctr));
        if active {
            ents.push(Ent::Proc(t.pid));
        }
        let rss = f64::from(t.info.vmrss_kb) * 1024.0;
        let vm = f64::from(t.info.vmsize_kb) * 1024.0;
        sink.sec.gauge_add(&ents, "memory.rss", NO_TAGS, rss);
        sink.sec.gauge_add(&ents, "memory.vm", NO_TAGS, vm);
        let mut conns = 0.0;
        for fd in t.fds.values() {
            match (fd.kind, fd.addrs) {
                (
                    FdType::Ipv4Sock | FdType::Ipv6Sock,
                    SockAddrs::V4 { .. } | SockAddrs::V6 { .. },
                ) => conns += 1.0,
                (
                    FdType::Ipv4ServSock | FdType::Ipv6ServSock,
                    SockAddrs::V4Server { port, .. } | SockAddrs::V6Server { port, .. },
                ) => {
                    let extra = vec![(Cow::Borrowed("net.port"), port.to_string())];
                    let mut info = extra.clone();
                    let proto = sink.discovery.protocol(t.pid, port);
                    info.push((Cow::Borrowed("app.protocol"), proto.to_string()));
                    if proto == "http" && sink.opts.scraper.is_some() {
                        sink.http_ports.push(crate::scrape::Target {
                            pid: t.pid,
                            ip: listen_ip(&fd.addrs),
                            port,
                        });
                    }
                    info.push((Cow::Borrowed("app.exe"), exe_name(t)));
                    for &e in &ents {
                        sink.sec.gauge(e, "net.listening", extra.clone(), 1.0);
                        sink.sec.gauge(e, "app.info", info.clone(), 1.0);
                    }
                }
                _ => {}
            }
        }
        if conns > 0.0 {
            sink.sec.gauge_add(&ents, "net.connections", NO_TAGS, conns);
        }
    }
    for (id, i) in ctr_of {
        sink.ctr_ids.insert(id, i);
    }
}

/// The address a server socket is bound to.
fn listen_ip(a: &SockAddrs) -> std::net::IpAddr {
    match *a {
        SockAddrs::V4Server { ip, .. } => ip.into(),
        SockAddrs::V6Server { ip, .. } => ip.into(),
        _ => std::net::Ipv4Addr::UNSPECIFIED.into(),
    }
}

/// The executable's file name (its path's last part), else the command.
fn exe_name(t: &sonde_state::Thread) -> String {
    let exe = if t.info.exepath.is_empty() {
        &t.info.exe
    } else {
        &t.info.exepath
    };
    let base = exe.rsplit(|&b| b == b'/').next().unwrap_or(exe);
    let name = if base.is_empty() { &t.info.comm } else { base };
    String::from_utf8_lossy(name).into_owned()
}

/// CPU shares, and the agent's own cost.
fn cpu_levels(sink: &mut MetricsSink<'_>, ts: u64, st: &State) {
    let pids: Vec<i64> = sink.procs.keys().copied().collect();
    let (per, host) = sink.cpu.sample(ts, &pids);
    for (pid, (u, s)) in per {
        let ctr = st
            .thread(pid)
            .filter(|t| !t.container_id.is_empty())
            .and_then(|t| sink.ctr_ids.get(&t.container_id).copied());
        let mut ents = vec![Ent::Proc(pid)];
        ents.extend(ctr.map(Ent::Ctr));
        if host.is_none() {
            ents.push(Ent::Host);
        }
        if let (std::collections::hash_map::Entry::Vacant(v), Some(t)) =
            (sink.procs.entry(pid), st.thread(pid))
        {
            v.insert(crate::sink::ProcSeen {
                ctr,
                tags: tags::process_tags(t),
            });
        }
        sink.sec.gauge_add(&ents, "cpu.user", NO_TAGS, u);
        sink.sec.gauge_add(&ents, "cpu.system", NO_TAGS, s);
    }
    if let Some((u, s)) = host {
        sink.sec.gauge(Ent::Host, "cpu.user", vec![], u);
        sink.sec.gauge(Ent::Host, "cpu.system", vec![], s);
    }
    if sink.opts.self_metrics {
        if let Some((u, s)) = crate::cpu::proc_ticks("/proc/self/stat") {
            let total = (u + s) as f64;
            let prev = sink.self_cpu.replace(total);
            if let Some(p) = prev {
                // USER_HZ is 100 on Linux: ticks per second = percent of a core
                sink.sec
                    .gauge(Ent::Host, "sonde.agent.cpu", vec![], total - p);
            }
        }
        if let Some(rss) = crate::cpu::self_rss() {
            sink.sec
                .gauge(Ent::Host, "sonde.agent.rss", vec![], rss as f64);
        }
    }
    if let Some(d) = &sink.drops {
        let v = d.load(std::sync::atomic::Ordering::Relaxed) as f64;
        sink.sec.gauge(Ent::Host, "sonde.agent.drops", vec![], v);
    }
    let ev = std::mem::take(&mut sink.events) as f64;
    sink.sec
        .count(&[Ent::Host], "sonde.agent.events", NO_TAGS, ev);
    if !sink.counted.is_empty() {
        let n = std::mem::take(&mut sink.kernel_counted) as f64;
        sink.sec
            .count(&[Ent::Host], "sonde.agent.kernel_counted", NO_TAGS, n);
    }
}

fn basic_series(out: &mut Vec<(Ent, &'static str, Tags, Value)>, e: Ent, b: &Basic) {
    let dir = |d: usize| {
        vec![(
            "direction".to_string(),
            if d == 0 { "in" } else { "out" }.to_string(),
        )]
    };
    // counters that stayed 0 are left out (an entity with events always
    // has its syscall count)
    let mut c = |name: &'static str, t: Tags, v: u64| {
        if v > 0 || name == "syscall.count" {
            out.push((e, name, t, Value::Counter(v as f64)));
        }
    };
    c("syscall.count", vec![], b.syscalls);
    c("syscall.errors.total", vec![], b.errors);
    for d in 0..2 {
        c("file.bytes", dir(d), b.file_bytes[d]);
        c("file.ops", dir(d), b.file_ops[d]);
        c("net.bytes", dir(d), b.net_bytes[d]);
        c("net.ops", dir(d), b.net_ops[d]);
        c("net.connections.new", dir(d), b.conn_new[d]);
    }
    c("net.connections.failed", vec![], b.conn_failed);
    if b.file_lat.count > 0 {
        out.push((
            e,
            "file.latency",
            vec![],
            Value::Histogram(b.file_lat.clone()),
        ));
    }
    if b.net_lat.count > 0 {
        out.push((
            e,
            "net.latency",
            vec![],
            Value::Histogram(b.net_lat.clone()),
        ));
    }
}

/// The second ending at `ts` as a batch.
pub fn batch(sink: &mut MetricsSink<'_>, ts: u64, st: &State) -> Batch {
    sink.sec.fold_conn_http();
    state_levels(sink, st);
    cpu_levels(sink, ts, st);
    let dropped = sink.sec.dropped;
    let mut raw: Vec<(Ent, &'static str, Tags, Value)> = Vec::new();
    for (e, b) in &sink.sec.basic {
        basic_series(&mut raw, *e, b);
    }
    raw.push((
        Ent::Host,
        "sonde.agent.series_dropped",
        vec![],
        Value::Counter(dropped as f64),
    ));
    let host = tags::host_tags(st, sink.opts.hostname.as_deref(), &sink.explicit);
    // containers with series this second: their tags as the state has them
    // now, else as last seen
    let used: Vec<u32> = sink.procs.values().filter_map(|p| p.ctr).collect();
    for i in used {
        sink.remember_container(st, i);
    }
    let mut ctr_tags: FxHashMap<u32, Tags> = FxHashMap::default();
    let mut tags_of = |e: Ent, sink: &MetricsSink<'_>| -> Tags {
        let ctr = match e {
            Ent::Host => None,
            Ent::Ctr(i) => Some(i),
            Ent::Proc(p) => sink.procs.get(&p).and_then(|p| p.ctr),
        };
        let mut t = host.clone();
        let scope = match e {
            Ent::Host => "host",
            Ent::Ctr(_) => "container",
            Ent::Proc(_) => "process",
        };
        tags::put(&mut t, "scope", scope.to_string());
        if let Some(i) = ctr {
            let ct = ctr_tags
                .entry(i)
                .or_insert_with(|| match sink.ctr_tags.get(&i) {
                    Some(t) => t.clone(),
                    None => tags::container_tags(st, &sink.ctr_names[i as usize]),
                });
            t = tags::joined(&t, &[ct]);
        }
        if let Ent::Proc(p) = e {
            if let Some(ps) = sink.procs.get(&p) {
                t = tags::joined(&t, &[&ps.tags]);
            }
        }
        t
    };
    let mut series = Vec::with_capacity(raw.len() + sink.sec.tagged.len());
    for (e, name, extra, value) in raw {
        let t = tags_of(e, sink);
        series.push(Series {
            name: name.to_string(),
            tags: tags::joined(&extra, &[&t]),
            value,
        });
    }
    for (k, a) in &sink.sec.tagged {
        let t = tags_of(k.ent, sink);
        let extra: Tags = k
            .extra
            .iter()
            .map(|(a, b)| (a.to_string(), b.clone()))
            .collect();
        let value = match a {
            Agg::Count(v) => Value::Counter(*v),
            Agg::Gauge(v) => Value::Gauge(*v),
            Agg::Hist(h) => Value::Histogram(h.clone()),
            Agg::Set(m) => Value::Gauge(m.len() as f64),
        };
        series.push(Series {
            name: k.name.to_string(),
            tags: tags::joined(&extra, &[&t]),
            value,
        });
    }
    external(sink, st, &host, &mut series);
    series.sort_by(|a, b| a.name.cmp(&b.name).then_with(|| a.tags.cmp(&b.tags)));
    Batch { ts, series }
}

/// The external gauges of the second (the Kubernetes cluster state).
fn external(sink: &mut MetricsSink<'_>, st: &State, host: &Tags, series: &mut Vec<Series>) {
    let Some(f) = sink.external.as_mut() else {
        return;
    };
    let gauges = f();
    let known = |id: &str| {
        sink.ctr_ids
            .get(id.as_bytes())
            .and_then(|i| sink.ctr_tags.get(i))
            .cloned()
            .unwrap_or_else(|| tags::container_tags(st, id.as_bytes()))
    };
    series.extend(crate::external::series(gauges, host, &sink.explicit, known));
}
