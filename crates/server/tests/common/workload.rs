//! A synthetic fleet shaped like the agent's series (crates/agent emit.rs:
//! `scope`, `host.hostname`, `container.*`, `k8s.*` tags; connections
//! (each pod's proxy calls the next pod's app on the next host); cpu.user,
//! cpu.system, memory.rss, net.bytes, file.bytes, http.requests,
//! http.latency; on request http.connection.*) for the web UI's tests and load measurement.

use serde_json::{json, Value as J};

use super::{batch, counter, gauge, series};

const NS: [&str; 4] = ["shop", "billing", "search", "ops"];
const DEP: [&str; 3] = ["web", "api", "worker"];

/// `hosts` x `containers` (two per pod), `seconds` seconds ending at `end_s`.
pub struct Fleet {
    pub hosts: usize,
    pub containers: usize,
    pub seconds: i64,
    pub end_s: i64,
    /// Whether the apps also count their HTTP requests per connection
    /// (`http.connection.*`, the topology's edge requests).
    pub http_edges: bool,
}

impl Fleet {
    pub fn host(&self, h: usize) -> String {
        format!("node-{h:03}")
    }

    /// Container `c` of host `h`: its tags.
    pub fn ctr_tags(&self, h: usize, c: usize) -> Vec<(&'static str, String)> {
        let p = c / 2;
        let ns = NS[p % NS.len()];
        let dep = format!("{ns}-{}", DEP[(p / NS.len()) % DEP.len()]);
        vec![
            ("scope", "container".into()),
            ("host.hostname", self.host(h)),
            ("k8s.ns.name", ns.into()),
            ("k8s.deployment.name", dep.clone()),
            ("k8s.pod.name", format!("{dep}-{h:03}{p:02}")),
            ("container.name", ["app", "proxy"][c % 2].into()),
            ("container.id", format!("{:012x}", h * 1000 + c)),
        ]
    }

    /// The connection from the proxy `c` (odd) of host `h` to the app of
    /// the next pod on the next host, as both ends name it.
    pub fn connection(&self, h: usize, c: usize) -> String {
        let pods = (self.containers / 2).max(1);
        let (h2, c2) = ((h + 1) % self.hosts, 2 * ((c / 2 + 1) % pods));
        format!("10.0.{h}.{c}:{}->10.0.{h2}.{c2}:80", 40_000 + c)
    }

    /// A process's `net.connection.bytes` (proxies call, apps serve) and
    /// the apps' `net.listening` on port 80 (sink.rs, emit.rs).
    fn connections(
        &self,
        h: usize,
        c: usize,
        t: i64,
        proc_tags: &[(&str, &str)],
        out: &mut Vec<J>,
    ) {
        let pods = (self.containers / 2).max(1);
        let conn = if c % 2 == 1 {
            self.connection(h, c)
        } else if self.containers >= 2 {
            let hc = (h + self.hosts - 1) % self.hosts;
            self.connection(hc, 2 * ((c / 2 + pods - 1) % pods) + 1)
        } else {
            return;
        };
        let bytes = 3000.0 + 100.0 * (c % 5) as f64;
        let (mine, theirs) = if c % 2 == 1 {
            ("out", "in")
        } else {
            ("in", "out")
        };
        for (dir, v) in [(mine, bytes), (theirs, bytes / 3.0)] {
            let mut tg = proc_tags.to_vec();
            tg.extend_from_slice(&[("net.connection", conn.as_str()), ("direction", dir)]);
            out.push(counter("net.connection.bytes", t, &tg, v));
        }
        if c % 2 == 0 {
            let mut tg = proc_tags.to_vec();
            tg.push(("net.port", "80"));
            out.push(gauge("net.listening", t, &tg, 1.0));
        }
        if self.http_edges && c % 2 == 0 {
            let mut tg = proc_tags.to_vec();
            tg.extend_from_slice(&[("net.connection", conn.as_str()), ("side", "server")]);
            let lo = 1_000_000 * (1 + c as u64 % 4);
            out.push(series(
                "http.connection.latency",
                t,
                &tg,
                json!({"type": "histogram", "count": 2, "sum": (3 * lo) as f64, "min": lo as f64,
                    "max": (2 * lo) as f64, "buckets": [[lo, 1], [2 * lo, 1]]}),
            ));
            tg.push(("http.status_class", "2xx"));
            out.push(counter("http.connection.requests", t, &tg, 2.0));
        }
    }

    fn one_second(&self, h: usize, t: i64, out: &mut Vec<J>) {
        let (mut cpu, mut mem) = (0.0, 0.0);
        for c in 0..self.containers {
            let tags = self.ctr_tags(h, c);
            let tg: Vec<(&str, &str)> = tags.iter().map(|(k, v)| (*k, v.as_str())).collect();
            let with = |extra: &[(&'static str, &'static str)]| {
                let mut v = tg.clone();
                v.extend_from_slice(extra);
                v
            };
            let wave = ((t + c as i64) % 10) as f64;
            let u = 1.0 + (c % 7) as f64 + wave * 0.3;
            cpu += u * 1.25;
            let rss = 50e6 + (c as f64) * 5e6;
            mem += rss;
            out.push(gauge("cpu.user", t, &tg, u));
            out.push(gauge("cpu.system", t, &tg, u * 0.25));
            out.push(gauge("memory.rss", t, &tg, rss));
            out.push(counter(
                "net.bytes",
                t,
                &with(&[("direction", "in")]),
                1000.0 * (1 + c % 5) as f64 + wave * 100.0,
            ));
            out.push(counter(
                "net.bytes",
                t,
                &with(&[("direction", "out")]),
                2000.0 * (1 + c % 3) as f64,
            ));
            out.push(counter(
                "file.bytes",
                t,
                &with(&[("direction", "out")]),
                500.0 * (1 + c % 4) as f64,
            ));
            if c % 2 == 0 {
                out.push(counter(
                    "http.requests",
                    t,
                    &with(&[("http.status_class", "2xx"), ("side", "server")]),
                    5.0 + wave,
                ));
                if t % 5 == 0 {
                    out.push(counter(
                        "http.requests",
                        t,
                        &with(&[("http.status_class", "5xx"), ("side", "server")]),
                        1.0,
                    ));
                }
                let lo = 1_000_000 * (1 + c as u64 % 4);
                out.push(series(
                    "http.latency",
                    t,
                    &with(&[("side", "server")]),
                    json!({
                    "type": "histogram", "count": 2, "sum": (3 * lo) as f64, "min": lo as f64,
                    "max": (2 * lo) as f64, "buckets": [[lo, 1], [2 * lo, 1]]}),
                ));
            }
            // a process carries its container's tags (emit.rs)
            let mut proc_tags = tg.clone();
            proc_tags[0] = ("scope", "process");
            proc_tags.push(("proc.name", if c % 2 == 0 { "nginx" } else { "envoy" }));
            out.push(gauge("cpu.user", t, &proc_tags, u));
            self.connections(h, c, t, &proc_tags, out);
        }
        let host = self.host(h);
        let ht = [("scope", "host"), ("host.hostname", host.as_str())];
        out.push(gauge("cpu.user", t, &ht, cpu * 0.8 + 2.0));
        out.push(gauge("cpu.system", t, &ht, cpu * 0.2 + 1.0));
        out.push(gauge("memory.rss", t, &ht, mem + 300e6));
        let hin = [ht[0], ht[1], ("direction", "in")];
        out.push(counter(
            "net.bytes",
            t,
            &hin,
            5000.0 * self.containers as f64,
        ));
        let hout = [ht[0], ht[1], ("direction", "out")];
        out.push(counter(
            "file.bytes",
            t,
            &hout,
            800.0 * self.containers as f64,
        ));
    }

    /// The batches, `per` seconds each, host after host: (agent, batch).
    pub fn batches(&self, per: i64) -> Vec<(String, J)> {
        let mut out = Vec::new();
        let start = self.end_s - self.seconds;
        for h in 0..self.hosts {
            let mut seq = 1;
            let mut t0 = start;
            while t0 < self.end_s {
                let mut recs = Vec::new();
                for t in t0..(t0 + per).min(self.end_s) {
                    self.one_second(h, t, &mut recs);
                }
                recs.push(json!({"kind": "event", "event": {"kind": "keepalive", "agent": self.host(h),
                    "ts_ms": t0 * 1000, "interval_ms": 10_000, "subscriptions": ["linux", "web"], "leaving": false}}));
                if seq == 1 {
                    let status = if h % 2 == 0 { "ok" } else { "warning" };
                    recs.push(json!({"kind": "event", "event": {"kind": "check", "check": "disk",
                        "status": status, "started_ms": t0 * 1000, "duration_ms": 15, "perfdata": []}}));
                }
                out.push((self.host(h), batch(&self.host(h), seq, t0 + per, recs)));
                seq += 1;
                t0 += per;
            }
        }
        out
    }
}
