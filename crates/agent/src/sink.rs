//! [`MetricsSink`]: the engine sink that turns each event into counts for
//! its process, container and host, and every `Needs::tick_ns` of event
//! time (one second) hands a [`Batch`] of series to its publisher.

use std::borrow::Cow;

use rustc_hash::FxHashMap;
use sonde_engine::{Flow, Handed, KernelCount, Needs, Sink, SinkResult};
use sonde_event::{codes as c, flags, Direction};
use sonde_fields::Ctx;
use sonde_state::{FdType, L4Proto, SockAddrs, State, Thread};

use crate::agg::{Ent, Second, NO_TAGS};
use crate::config::Config;
use crate::cpu::{CpuSource, CpuTracker};
use crate::dns::Dns;
use crate::emit;
use crate::http::{ConnKey, Dir, Http, Protocol, Transaction};
use crate::series::{Batch, Tags};
use crate::statsd;
use crate::tags;

/// Where a finished second goes (stdout, the Prometheus page, a test).
pub type Publish<'a> = Box<dyn FnMut(&Batch) -> std::io::Result<()> + 'a>;

/// How the sink runs.
pub struct Options {
    /// The configuration (explicit tags, caps).
    pub config: Config,
    /// `--tag k=v` tags, added after the configuration's.
    pub tags: Vec<(String, String)>,
    /// Where CPU time comes from.
    pub cpu: CpuSource,
    /// The host's name when the capture has none.
    pub hostname: Option<String>,
    /// The plain statsd listener, drained every second.
    pub listener: Option<statsd::Listener>,
    /// Report the agent's own CPU and memory (live only: a replay's
    /// numbers would not be deterministic).
    pub self_metrics: bool,
    /// Scrapes discovered Prometheus endpoints (live only).
    pub scraper: Option<crate::scrape::Scraper>,
}

/// What the sink knows of a process during a second.
#[derive(Clone)]
pub(crate) struct ProcSeen {
    pub(crate) ctr: Option<u32>,
    pub(crate) tags: Tags,
}

/// The metrics sink.
pub struct MetricsSink<'a> {
    pub(crate) opts: Options,
    publish: Publish<'a>,
    pub(crate) sec: Second,
    pub(crate) ctr_ids: FxHashMap<Vec<u8>, u32>,
    pub(crate) ctr_names: Vec<Vec<u8>>,
    /// Container tags as last known with the container's metadata (a
    /// short-lived container may be gone from the state by the tick).
    pub(crate) ctr_tags: FxHashMap<u32, Tags>,
    pub(crate) procs: FxHashMap<i64, ProcSeen>,
    /// Processes that left the state, as they were last seen, and when:
    /// the kernel's counts of their last calls may come after they exited.
    gone: FxHashMap<i64, (ProcSeen, u64)>,
    pub(crate) explicit: Tags,
    http: Http,
    dns: Dns,
    pub(crate) discovery: crate::discover::Discovery,
    /// HTTP server ports seen this second (scrape targets).
    pub(crate) http_ports: Vec<crate::scrape::Target>,
    /// Event time of the last scrape request.
    last_scrape: u64,
    txs: Vec<Transaction>,
    pub(crate) cpu: CpuTracker,
    /// Events seen, for the agent's own metrics.
    pub(crate) events: u64,
    /// Syscalls the kernel counted instead of sending, for the agent's own
    /// metrics.
    pub(crate) kernel_counted: u64,
    /// The agent's own CPU ticks at the last tick.
    pub(crate) self_cpu: Option<f64>,
    /// The last event's time.
    last_ts: u64,
    /// Drop counts of the source, when known (live), read every second.
    pub(crate) drops: Option<std::sync::Arc<std::sync::atomic::AtomicU64>>,
    /// Gauges from outside the event stream, asked for at each tick.
    pub(crate) external: Option<crate::external::External>,
    started: bool,
    /// Syscalls the kernel may count instead of sending
    /// ([`MetricsSink::count_in_kernel`]).
    pub(crate) counted: &'static [&'static str],
    /// Per event code, once seen ([`MetricsSink::code_facts`]).
    facts: Vec<Option<CodeFacts>>,
}

/// What the sink reads of an event code's parameter list
/// ([`MetricsSink::code_facts`]).
#[derive(Debug, Clone, Copy)]
struct CodeFacts {
    /// execve or execveat: the process takes its new name.
    exec: bool,
    /// The first parameter is the result (`res` or `fd`).
    res_first: bool,
    /// Where the I/O buffer (`data`) is.
    data: Option<usize>,
}

/// The syscalls the agent only counts (per process and result; no fd,
/// payload or state it reads): waits and sleeps, epoll's bookkeeping.
/// Together they are a third of a busy server's syscalls.
pub const KERNEL_COUNTED: &[&str] = &[
    "epoll_wait",
    "epoll_pwait",
    "epoll_pwait2",
    "epoll_ctl",
    "poll",
    "ppoll",
    "select",
    "pselect6",
    "futex",
    "nanosleep",
    "clock_nanosleep",
    "sched_yield",
];

const IN: usize = 0;
const OUT: usize = 1;
const EINPROGRESS: i64 = -115;

impl<'a> MetricsSink<'a> {
    /// A sink publishing each second with `publish`.
    pub fn new(opts: Options, publish: Publish<'a>) -> MetricsSink<'a> {
        let mut explicit: Tags = opts
            .config
            .tags
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        for (k, v) in &opts.tags {
            tags::put(&mut explicit, k, v.clone());
        }
        let sec = Second {
            max_series: opts.config.limits.max_series,
            ..Second::default()
        };
        MetricsSink {
            http: Http::new(opts.config.limits.max_http_paths),
            dns: Dns::new(opts.config.limits.max_dns_names),
            cpu: CpuTracker::new(opts.cpu),
            opts,
            publish,
            sec,
            ctr_ids: FxHashMap::default(),
            ctr_names: Vec::new(),
            ctr_tags: FxHashMap::default(),
            procs: FxHashMap::default(),
            gone: FxHashMap::default(),
            explicit,
            discovery: Default::default(),
            http_ports: Vec::new(),
            last_scrape: 0,
            txs: Vec::new(),
            events: 0,
            kernel_counted: 0,
            self_cpu: None,
            last_ts: 0,
            drops: None,
            external: None,
            started: false,
            counted: &[],
            facts: Vec::new(),
        }
    }

    /// Lets the kernel count `syscalls` (for the agent: [`KERNEL_COUNTED`])
    /// instead of sending their events, when every other sink agrees
    /// ([`Needs::counted`]); their calls and errors come in
    /// [`Sink::kernel_counts`] (live capture).
    pub fn count_in_kernel(&mut self, syscalls: &'static [&'static str]) {
        self.counted = syscalls;
    }

    /// Reports the source's drop count (an atomic the live source keeps
    /// current) as `sonde.agent.drops`.
    pub fn set_drop_counter(&mut self, d: std::sync::Arc<std::sync::atomic::AtomicU64>) {
        self.drops = Some(d);
    }

    /// Adds, every second, the gauges `f` returns (the Kubernetes cluster
    /// state): a container's with that container's tags.
    pub fn set_external(&mut self, f: crate::external::External) {
        self.external = Some(f);
    }

    /// The interned index of container `id`.
    fn ctr_index(&mut self, id: &[u8]) -> u32 {
        if let Some(&i) = self.ctr_ids.get(id) {
            return i;
        }
        let i = self.ctr_names.len() as u32;
        self.ctr_ids.insert(id.to_vec(), i);
        self.ctr_names.push(id.to_vec());
        i
    }

    /// Keeps the tags of container `i` while the state has its metadata.
    pub(crate) fn remember_container(&mut self, st: &State, i: u32) {
        let id = &self.ctr_names[i as usize];
        if let Some(c) = st.containers.get(id.as_slice()) {
            if c.successful || !c.name.is_empty() || !self.ctr_tags.contains_key(&i) {
                self.ctr_tags.insert(i, tags::container_tags(st, id));
            }
        }
    }

    /// Whether the tags of container `i` came with its metadata.
    fn container_named(&self, i: u32) -> bool {
        self.ctr_tags
            .get(&i)
            .is_some_and(|t| t.iter().any(|(k, _)| k == "container.name"))
    }

    /// The entities an event of thread `t` counts for: host, container
    /// (when in one), process.
    fn entities(&mut self, st: &State, t: &Thread) -> ([Ent; 3], usize) {
        let pid = t.pid;
        let main = st.thread(pid).unwrap_or(t);
        let ctr = match self.procs.get(&pid) {
            Some(p) => {
                let ctr = p.ctr;
                if let Some(i) = ctr.filter(|&i| !self.container_named(i)) {
                    // the metadata lookup may have answered since
                    self.remember_container(st, i);
                }
                ctr
            }
            None => {
                let ctr =
                    (!main.container_id.is_empty()).then(|| self.ctr_index(&main.container_id));
                if let Some(i) = ctr {
                    self.remember_container(st, i);
                }
                self.procs.insert(
                    pid,
                    ProcSeen {
                        ctr,
                        tags: tags::process_tags(main),
                    },
                );
                ctr
            }
        };
        process_ents(pid, ctr)
    }

    /// What [`Self::on_exit`] reads of the parameter list of `ev`'s code,
    /// worked out once per code.
    fn code_facts(
        &mut self,
        ev: &sonde_event::RawEvent<'_>,
        opts: &sonde_output::RenderOpts,
    ) -> CodeFacts {
        let i = usize::from(ev.code);
        if let Some(Some(f)) = self.facts.get(i) {
            return *f;
        }
        let params = sonde_output::param_infos(ev, opts);
        let f = CodeFacts {
            exec: ev
                .info()
                .is_some_and(|i| matches!(i.name, "execve" | "execveat")),
            res_first: params
                .first()
                .is_some_and(|p| matches!(p.name, "res" | "fd")),
            data: params.iter().position(|p| p.name == "data"),
        };
        if self.facts.len() <= i {
            self.facts.resize(i + 1, None);
        }
        self.facts[i] = Some(f);
        f
    }

    /// Calls the kernel counted: the syscall counts and errors of the
    /// process (its container and the host), as [`Self::on_exit`] counts
    /// them from events.
    fn on_counted(&mut self, k: &KernelCount, st: &State) {
        let (ents, n) = match st.thread(k.pid) {
            Some(t) => self.entities(st, t),
            None => self.gone_entities(k.pid),
        };
        let ents = &ents[..n];
        for &e in ents {
            let b = self.sec.basic(e);
            b.syscalls += k.calls;
            if k.errno != 0 {
                b.errors += k.calls;
            }
        }
        if k.errno != 0 {
            let cat = sonde_event::event_info(k.code).map_or(0, |i| i.category & 0x3f);
            let errno = sonde_event::errno_name(i64::from(k.errno))
                .map(Cow::Borrowed)
                .unwrap_or_else(|| Cow::Owned(k.errno.to_string()));
            let extra = [
                ("error.category", category_name(cat)),
                ("error.errno", &*errno),
            ];
            self.sec
                .count(ents, "syscall.errors", &extra, k.calls as f64);
        }
    }

    /// The entities of process `pid`, gone from the state: as it was last
    /// seen (this second or, from [`Self::gone`], lately); else the host.
    fn gone_entities(&mut self, pid: i64) -> ([Ent; 3], usize) {
        if !self.procs.contains_key(&pid) {
            match self.gone.get(&pid) {
                Some((p, _)) => {
                    self.procs.insert(pid, p.clone());
                }
                None => return ([Ent::Host; 3], 1),
            }
        }
        process_ents(pid, self.procs.get(&pid).and_then(|p| p.ctr))
    }

    /// At the end of second `ts`: the processes seen in it that left the
    /// state are kept a few seconds ([`Self::gone`]).
    fn keep_gone(&mut self, ts: u64, st: &State) {
        const KEEP_NS: u64 = 3_000_000_000;
        self.gone
            .retain(|_, (_, at)| ts.saturating_sub(*at) < KEEP_NS);
        for (pid, p) in self.procs.drain() {
            if st.thread(pid).is_none() {
                self.gone.insert(pid, (p, ts));
            }
        }
    }

    fn on_exit(&mut self, ctx: &Ctx<'_, '_>, info: &sonde_event::EventInfo) {
        let st = ctx.st;
        let ev = ctx.ev;
        let Some(t) = st.event_thread(ev) else { return };
        let facts = self.code_facts(ev, ctx.opts);
        if facts.exec {
            // the process now has its new name: tag the second with it
            self.procs.remove(&t.pid);
        }
        let (ents, n) = self.entities(st, t);
        let ents = &ents[..n];
        let res = if facts.res_first {
            ev.param_i64(0)
        } else {
            None
        };
        let cat = info.category & 0x3f;
        let fdn = t.last_fd.unwrap_or(-1);
        let fd = if info.flags & (flags::USES_FD | flags::CREATES_FD) != 0 && fdn >= 0 {
            st.fd_of(t, fdn)
        } else {
            None
        };
        let fkind = fd.map(|f| f.kind);
        let is_file = matches!(fkind, Some(FdType::File | FdType::Directory))
            || (fd.is_none() && cat == sonde_event::category::FILE);
        let is_net = matches!(fkind, Some(FdType::Ipv4Sock | FdType::Ipv6Sock))
            || (fd.is_none() && cat == sonde_event::category::NET);
        for &e in ents {
            let b = self.sec.basic(e);
            b.syscalls += 1;
            if res.is_some_and(|r| r < 0) {
                b.errors += 1;
            }
            if is_file {
                b.file_lat.record(t.latency);
            } else if is_net {
                b.net_lat.record(t.latency);
            }
        }
        if let Some(r) = res.filter(|r| *r < 0) {
            let errno = sonde_event::errno_name(-r)
                .map(Cow::Borrowed)
                .unwrap_or_else(|| Cow::Owned((-r).to_string()));
            let extra = [
                ("error.category", category_name(cat)),
                ("error.errno", &*errno),
            ];
            self.sec.count(ents, "syscall.errors", &extra, 1.0);
        }
        match ev.code {
            c::SOCKET_CONNECT_X => {
                let r = res.unwrap_or(-1);
                for &e in ents {
                    let b = self.sec.basic(e);
                    if r == 0 || r == EINPROGRESS {
                        b.conn_new[OUT] += 1;
                    } else {
                        b.conn_failed += 1;
                    }
                }
            }
            c::SOCKET_ACCEPT_X
            | c::SOCKET_ACCEPT_5_X
            | c::SOCKET_ACCEPT4_X
            | c::SOCKET_ACCEPT4_5_X
            | c::SOCKET_ACCEPT4_6_X
                if res.is_some_and(|r| r >= 0) =>
            {
                for &e in ents {
                    self.sec.basic(e).conn_new[IN] += 1;
                }
            }
            c::SYSCALL_CLOSE_X => {
                self.http.on_close((t.pid, fdn));
                self.dns.on_close((t.pid, fdn));
            }
            _ => {}
        }
        let rw = info.flags & (flags::READS_FROM_FD | flags::WRITES_TO_FD);
        let Some(bytes) = res.filter(|r| *r > 0) else {
            return;
        };
        if rw == 0 {
            return;
        }
        let Some(fd) = fd else { return };
        let dir = if rw & flags::READS_FROM_FD != 0 {
            IN
        } else {
            OUT
        };
        let data = facts
            .data
            .filter(|&i| i < ev.nparams())
            .and_then(|i| ev.param(i));
        self.on_io(ents, t.pid, fdn, fd, dir, bytes as u64, data, ev.ts);
    }

    #[allow(clippy::too_many_arguments)]
    fn on_io(
        &mut self,
        ents: &[Ent],
        pid: i64,
        fdn: i64,
        fd: &sonde_state::Fd,
        dir: usize,
        bytes: u64,
        data: Option<&[u8]>,
        ts: u64,
    ) {
        let dname: &'static str = if dir == IN { "in" } else { "out" };
        match fd.kind {
            FdType::File | FdType::Directory => {
                for &e in ents {
                    let b = self.sec.basic(e);
                    b.file_bytes[dir] += bytes;
                    b.file_ops[dir] += 1;
                }
                let name = text(&fd.name);
                let parent = match name.rfind('/') {
                    Some(0) => "/",
                    Some(i) => &name[..i],
                    None => &name,
                };
                let extra = [("direction", dname), ("file.dir", parent)];
                self.sec.count(ents, "file.dir.bytes", &extra, bytes as f64);
                self.sec.capped_count(
                    Ent::Host,
                    "file.name.bytes",
                    dname,
                    ("file.name", &name),
                    self.opts.config.limits.max_files,
                    bytes,
                );
            }
            FdType::Ipv4Sock | FdType::Ipv6Sock | FdType::UnixSock => {
                if fd.kind != FdType::UnixSock {
                    for &e in ents {
                        let b = self.sec.basic(e);
                        b.net_bytes[dir] += bytes;
                        b.net_ops[dir] += 1;
                    }
                    if let Some(port) = server_port(&fd.addrs) {
                        let mut digits = [0u8; 5];
                        let extra = [
                            ("direction", dname),
                            ("net.server_port", port_str(port, &mut digits)),
                        ];
                        self.sec.count(ents, "net.port.bytes", &extra, bytes as f64);
                    }
                    let conn = text(&fd.name);
                    let Some(&proc_ent) = ents.last() else {
                        return;
                    };
                    self.sec.capped_count(
                        proc_ent,
                        "net.connection.bytes",
                        dname,
                        ("net.connection", &conn),
                        self.opts.config.limits.max_connections,
                        bytes,
                    );
                }
                let Some(buf) = data.filter(|d| !d.is_empty()) else {
                    return;
                };
                if dir == OUT
                    && fd.l4proto() == L4Proto::Udp
                    && dest_port(&fd.addrs) == Some(statsd::PORT)
                {
                    self.on_statsd(ents, buf);
                }
                if dir == IN && fd.kind != FdType::UnixSock {
                    if let Some(port) = server_port(&fd.addrs) {
                        if !self.discovery.known(pid, port) {
                            if let Some(p) = crate::discover::sniff(buf) {
                                self.discovery.note(pid, port, p);
                            }
                        }
                    }
                }
                let key: ConnKey = (pid, fdn);
                let d = if dir == IN { Dir::In } else { Dir::Out };
                let mut txs = std::mem::take(&mut self.txs);
                if self.opts.config.dns
                    && fd.l4proto() == L4Proto::Udp
                    && has_port(&fd.addrs, crate::dns::PORT)
                {
                    self.dns.on_buffer(key, d, ts, buf, &mut txs);
                } else if self.opts.config.http {
                    self.http.on_buffer(key, d, ts, buf, &mut txs);
                }
                for tx in txs.drain(..) {
                    if tx.side == "server" {
                        if let Some(port) = server_port(&fd.addrs) {
                            self.discovery.note(pid, port, tx.proto);
                        }
                    }
                    self.on_transaction(ents, &tx);
                    if tx.proto == "http" && fd.kind != FdType::UnixSock {
                        self.on_conn_transaction(ents, &fd.name, &tx);
                    }
                }
                self.txs = txs;
            }
            _ => {}
        }
    }

    fn on_transaction(&mut self, ents: &[Ent], tx: &Transaction) {
        let (mut buf, mut spill) = ([("", ""); 8], Vec::new());
        // (the decoders give their labels in key order, before `side`)
        let labels = tx.labels.iter().map(|(k, v)| (*k, v.as_str()));
        let extra = gather(labels.chain([("side", tx.side)]), &mut buf, &mut spill);
        if !extra.windows(2).all(|w| w[0] <= w[1]) {
            extra.sort_unstable();
        }
        let extra = &*extra;
        let name: &'static str = match tx.proto {
            "http" => "http.requests",
            "dns" => "dns.requests",
            _ => "app.requests",
        };
        self.sec.count(ents, name, extra, 1.0);
        // latency histograms by fewer tags: method and path, query type
        let (mut buf, mut spill) = ([("", ""); 8], Vec::new());
        let fewer = extra
            .iter()
            .copied()
            .filter(|(k, _)| !matches!(*k, "http.status" | "http.host" | "dns.rcode" | "dns.name"));
        let extra = &*gather(fewer, &mut buf, &mut spill);
        let lname: &'static str = match tx.proto {
            "http" => "http.latency",
            "dns" => "dns.latency",
            _ => "app.latency",
        };
        self.sec.hist(ents, lname, extra, tx.latency_ns);
    }

    /// An HTTP transaction counted under its connection (`conn`, the
    /// socket's `CLIENT:PORT->SERVER:PORT`) for its process: the topology
    /// map's edge requests and latency.
    fn on_conn_transaction(&mut self, ents: &[Ent], conn: &[u8], tx: &Transaction) {
        let Some(&proc_ent) = ents.last() else {
            return;
        };
        let side = usize::from(tx.side != "server");
        let class = tx
            .labels
            .iter()
            .find(|(k, _)| *k == "http.status_class")
            .and_then(|(_, v)| v.as_bytes().first())
            .map_or(0, |d| usize::from(d.saturating_sub(b'1')).min(4));
        let cap = self.opts.config.limits.max_connections;
        // borrowed as is when it is UTF-8 (always, for a tuple)
        let c = text(conn);
        self.sec
            .conn_http(proc_ent, &c, cap, side, class, tx.latency_ns)
    }

    /// A datagram to the statsd port: its samples count for the sender's
    /// process, container and host alike.
    fn on_statsd(&mut self, ents: &[Ent], buf: &[u8]) {
        let (samples, bad) = statsd::parse_datagram(buf);
        if bad > 0 {
            self.sec
                .count(ents, "sonde.statsd.malformed", NO_TAGS, bad as f64);
        }
        for s in samples {
            for &e in ents {
                emit::statsd_sample(&mut self.sec, e, s.clone());
            }
        }
    }

    fn flush(&mut self, ts: u64, st: &State) -> SinkResult {
        if let Some(l) = &self.opts.listener {
            let r = l.drain();
            self.host_count("sonde.statsd.malformed", r.malformed);
            for s in r.samples {
                emit::statsd_sample(&mut self.sec, Ent::Host, s);
            }
        }
        let malformed = self.http.take_malformed();
        self.host_count("sonde.http.malformed", malformed);
        let capped = self.http.take_capped();
        self.host_count("sonde.http.paths_capped", capped);
        let malformed = self.dns.take_malformed();
        self.host_count("sonde.dns.malformed", malformed);
        let capped = self.dns.take_capped();
        self.host_count("sonde.dns.names_capped", capped);
        self.scraped(st);
        self.http_ports.clear();
        let batch = emit::batch(self, ts, st);
        self.request_scrapes(ts);
        (self.publish)(&batch)
            .map_err(|e| sonde_engine::SinkError::io("cannot publish metrics", e))?;
        self.sec.end_second();
        self.keep_gone(ts, st);
        if (ts / 1_000_000_000) % 60 == 0 {
            self.discovery.retain(|pid| st.thread(pid).is_some());
        }
        if self.ctr_names.len() > 100_000 {
            self.ctr_ids.clear();
            self.ctr_names.clear();
            self.ctr_tags.clear();
        }
        Ok(())
    }
}

impl MetricsSink<'_> {
    /// Adds `n` to the host's counter `name` (nothing when 0).
    fn host_count(&mut self, name: &'static str, n: u64) {
        if n > 0 {
            self.sec.count(&[Ent::Host], name, NO_TAGS, n as f64);
        }
    }

    /// The samples scrapers brought back: gauges of the serving process and
    /// its container, with the endpoint's labels (never the implicit tags).
    fn scraped(&mut self, st: &State) {
        let Some(sc) = &self.opts.scraper else {
            return;
        };
        for r in sc.drain() {
            let Some(t) = st.thread(r.target.pid) else {
                continue;
            };
            let (ents, n) = self.entities(st, t);
            self.host_count("sonde.scrape.malformed", r.malformed);
            for s in r.samples.iter().filter(|s| s.value.is_finite()) {
                let mut extra: Vec<(crate::agg::Name, String)> = s
                    .labels
                    .iter()
                    .filter(|(k, _)| {
                        !matches!(k.as_str(), "scope" | "host") && !k.starts_with("__")
                    })
                    .map(|(k, v)| (Cow::Owned(k.clone()), v.clone()))
                    .collect();
                extra.push((Cow::Borrowed("net.port"), r.target.port.to_string()));
                extra.sort();
                for &e in ents[..n].iter().filter(|e| !matches!(e, Ent::Host)) {
                    self.sec
                        .gauge_named(e, Cow::Owned(s.name.clone()), extra.clone(), s.value);
                }
            }
        }
    }

    /// Every interval, asks for this second's HTTP ports to be scraped.
    fn request_scrapes(&mut self, ts: u64) {
        let Some(sc) = &self.opts.scraper else {
            return;
        };
        if ts < self.last_scrape + sc.interval_s * 1_000_000_000 || self.http_ports.is_empty() {
            return;
        }
        self.last_scrape = ts;
        let mut targets = std::mem::take(&mut self.http_ports);
        targets.sort_by_key(|t| (t.pid, t.port));
        targets.dedup();
        sc.request(targets);
    }
}

/// The server's port of a connection (the destination: sysdig's tuples
/// put the client first).
fn server_port(a: &SockAddrs) -> Option<u16> {
    match *a {
        SockAddrs::V4 { dport, .. } | SockAddrs::V6 { dport, .. } if dport != 0 => Some(dport),
        SockAddrs::V4Server { port, .. } | SockAddrs::V6Server { port, .. } if port != 0 => {
            Some(port)
        }
        _ => None,
    }
}

/// Whether either end of a socket uses `port`.
fn has_port(a: &SockAddrs, port: u16) -> bool {
    match *a {
        SockAddrs::V4 { sport, dport, .. } | SockAddrs::V6 { sport, dport, .. } => {
            sport == port || dport == port
        }
        SockAddrs::V4Server { port: p, .. } | SockAddrs::V6Server { port: p, .. } => p == port,
        _ => false,
    }
}

fn dest_port(a: &SockAddrs) -> Option<u16> {
    match *a {
        SockAddrs::V4 { dport, .. } | SockAddrs::V6 { dport, .. } => Some(dport),
        _ => None,
    }
}

/// `port` in decimal, written into `buf`.
fn port_str(port: u16, buf: &mut [u8; 5]) -> &str {
    let mut n = port;
    let mut i = buf.len();
    loop {
        i -= 1;
        buf[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    std::str::from_utf8(&buf[i..]).unwrap_or("0")
}

/// The entities a process's series count for: the host, its container
/// (if any) and the process; the length used.
fn process_ents(pid: i64, ctr: Option<u32>) -> ([Ent; 3], usize) {
    match ctr {
        Some(i) => ([Ent::Host, Ent::Ctr(i), Ent::Proc(pid)], 3),
        None => ([Ent::Host, Ent::Proc(pid), Ent::Host], 2),
    }
}

/// Gathers `items` in `buf`, or in `spill` when they are more than it
/// holds: the tags of one series without an allocation.
fn gather<'a, 'b>(
    items: impl Iterator<Item = (&'a str, &'a str)>,
    buf: &'b mut [(&'a str, &'a str); 8],
    spill: &'b mut Vec<(&'a str, &'a str)>,
) -> &'b mut [(&'a str, &'a str)] {
    let mut n = 0;
    for it in items {
        match buf.get_mut(n) {
            Some(slot) => *slot = it,
            None => {
                if spill.is_empty() {
                    spill.extend_from_slice(&buf[..]);
                }
                spill.push(it);
            }
        }
        n += 1;
    }
    if n <= buf.len() {
        &mut buf[..n]
    } else {
        spill
    }
}

/// Bytes as text, borrowed when they are UTF-8 (always, for socket
/// tuples), replaced where they are not.
pub(crate) fn text(b: &[u8]) -> Cow<'_, str> {
    match std::str::from_utf8(b) {
        Ok(s) => Cow::Borrowed(s),
        Err(_) => String::from_utf8_lossy(b),
    }
}

/// The name of a syscall category (`EC_*` low bits).
fn category_name(cat: u32) -> &'static str {
    use sonde_event::category as k;
    match cat {
        k::FILE => "file",
        k::NET => "net",
        k::IPC => "ipc",
        k::MEMORY => "memory",
        k::PROCESS => "process",
        k::SLEEP => "sleep",
        k::SYSTEM => "system",
        k::SIGNAL => "signal",
        k::USER => "user",
        k::TIME => "time",
        k::IO_READ | k::IO_WRITE | k::IO_OTHER => "io",
        _ => "other",
    }
}

impl Sink for MetricsSink<'_> {
    fn needs(&self) -> Needs {
        Needs {
            state: true,
            latency: true,
            tick_ns: Some(1_000_000_000),
            counted: self.counted,
            ..Needs::default()
        }
    }

    fn kernel_counts(&mut self, counts: &[KernelCount], st: &State) -> SinkResult {
        for k in counts {
            self.on_counted(k, st);
            self.kernel_counted += k.calls;
        }
        Ok(())
    }

    fn event(&mut self, ctx: &Ctx<'_, '_>, _how: Handed) -> SinkResult<Flow> {
        self.events += 1;
        let ev = ctx.ev;
        self.last_ts = ev.ts;
        if !self.started {
            self.started = true;
            self.cpu.start(ev.ts);
        }
        let Some(info) = ev.info() else {
            return Ok(Flow::Continue);
        };
        if ev.code == c::PROCINFO_E {
            if let (Some(u), Some(s), Some(t)) =
                (ev.param_u64(0), ev.param_u64(1), ctx.st.event_thread(ev))
            {
                self.cpu.procinfo_of(ev.tid, t.pid, u, s);
            }
            return Ok(Flow::Continue);
        }
        if info.dir == Direction::Exit && info.category & sonde_event::category::SYSCALL != 0 {
            self.on_exit(ctx, info);
        }
        Ok(Flow::Continue)
    }

    fn tick(&mut self, ts: u64, st: &State) -> SinkResult {
        self.flush(ts, st)
    }

    fn finish(&mut self, st: &State) -> SinkResult {
        // the last, partial second, stamped with the boundary it ends before
        if self.events > 0 || !self.sec.basic.is_empty() {
            let ts = (self.last_ts / 1_000_000_000 + 1) * 1_000_000_000;
            self.flush(ts, st)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn tags_gather_on_the_stack_and_spill_past_it() {
        let items: Vec<(String, String)> = (0..11)
            .map(|i| (format!("k{i:02}"), i.to_string()))
            .collect();
        let it = || items.iter().map(|(k, v)| (k.as_str(), v.as_str()));
        for n in [0, 3, 8, 9, 11] {
            let (mut buf, mut spill) = ([("", ""); 8], Vec::new());
            let got = super::gather(it().take(n), &mut buf, &mut spill);
            assert_eq!(got.to_vec(), it().take(n).collect::<Vec<_>>(), "{n} tags");
        }
    }

    #[test]
    fn ports_in_decimal() {
        for p in [0u16, 7, 80, 443, 8125, 10000, 65535] {
            let mut b = [0u8; 5];
            assert_eq!(super::port_str(p, &mut b), p.to_string());
        }
    }
}
