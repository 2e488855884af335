//! One second's aggregation: the entities (host, container, process)
//! events are counted for, their fixed counters, and the tagged series
//! (errors by errno, I/O by file, connection and port, HTTP, statsd)
//! under the series cap.

use std::borrow::Cow;

use rustc_hash::{FxHashMap, FxHashSet};

use crate::series::Histogram;

/// What a series belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Ent {
    /// The host.
    Host,
    /// A container (by its interned index).
    Ctr(u32),
    /// A process (by pid).
    Proc(i64),
}

/// The fixed counters of one entity for one second.
#[derive(Debug, Default)]
pub struct Basic {
    /// Syscalls (exit events).
    pub syscalls: u64,
    /// Syscalls that failed.
    pub errors: u64,
    /// File bytes read / written.
    pub file_bytes: [u64; 2],
    /// File reads / writes.
    pub file_ops: [u64; 2],
    /// Network bytes in / out.
    pub net_bytes: [u64; 2],
    /// Network reads / writes.
    pub net_ops: [u64; 2],
    /// Connections accepted / made.
    pub conn_new: [u64; 2],
    /// Connections that failed to be made.
    pub conn_failed: u64,
    /// Latencies of file syscalls.
    pub file_lat: Histogram,
    /// Latencies of network syscalls.
    pub net_lat: Histogram,
}

/// A tag key or metric name: static for ours, owned for statsd's.
pub type Name = Cow<'static, str>;

/// A tagged series' identity within a second.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Key {
    /// Whose series.
    pub ent: Ent,
    /// Metric name.
    pub name: Name,
    /// Tags besides the entity's.
    pub extra: Vec<(Name, String)>,
}

/// A tagged series' value within a second.
#[derive(Debug)]
pub enum Agg {
    /// A sum.
    Count(f64),
    /// The last level.
    Gauge(f64),
    /// A distribution.
    Hist(Histogram),
    /// Distinct members.
    Set(FxHashSet<String>),
}

/// Every series of the second being aggregated.
#[derive(Debug, Default)]
pub struct Second {
    /// Fixed counters per entity.
    pub basic: FxHashMap<Ent, Basic>,
    /// Tagged series.
    pub tagged: FxHashMap<Key, Agg>,
    /// Series refused by the cap this second.
    pub dropped: u64,
    /// The cap on tagged series.
    pub max_series: usize,
    /// HTTP transactions per connection of each process (the topology
    /// map's edges), kept apart so a request on a known connection costs
    /// no allocation; turned into tagged series at the end of the second.
    pub conn_http: FxHashMap<Ent, FxHashMap<String, ConnHttp>>,
}

/// Status classes counted per connection: 1xx to 5xx.
pub const CLASSES: [&str; 5] = ["1xx", "2xx", "3xx", "4xx", "5xx"];
/// The sides of a transaction: the request was read (`server`) or
/// written (`client`).
pub const SIDES: [&str; 2] = ["server", "client"];

/// The HTTP transactions of one connection seen by one process in a
/// second, by side.
#[derive(Debug, Default)]
pub struct ConnHttp {
    /// Requests by side and status class (index of [`CLASSES`]).
    pub requests: [[u64; 5]; 2],
    /// Latencies by side.
    pub latency: [Histogram; 2],
}

impl Second {
    /// The counters of `e`.
    #[inline]
    pub fn basic(&mut self, e: Ent) -> &mut Basic {
        self.basic.entry(e).or_default()
    }

    /// Whether the series cap is reached (a basic entity counts for ten).
    fn full(&self) -> bool {
        self.tagged.len() + self.basic.len() * 10 >= self.max_series
    }

    /// The tagged series `key`, created with `init` unless the cap is
    /// reached (then counted as dropped, and None).
    pub fn tagged(&mut self, key: Key, init: impl FnOnce() -> Agg) -> Option<&mut Agg> {
        if self.full() && !self.tagged.contains_key(&key) {
            self.dropped += 1;
            return None;
        }
        Some(self.tagged.entry(key).or_insert_with(init))
    }

    /// Adds `v` to counter `name` with `extra` tags for each entity.
    pub fn count(&mut self, ents: &[Ent], name: &'static str, extra: &[(Name, String)], v: f64) {
        for &ent in ents {
            let key = Key {
                ent,
                name: Cow::Borrowed(name),
                extra: extra.to_vec(),
            };
            if let Some(Agg::Count(c)) = self.tagged(key, || Agg::Count(0.0)) {
                *c += v;
            }
        }
    }

    /// Records `v` in histogram `name` with `extra` tags for each entity.
    pub fn hist(&mut self, ents: &[Ent], name: &'static str, extra: &[(Name, String)], v: u64) {
        for &ent in ents {
            let key = Key {
                ent,
                name: Cow::Borrowed(name),
                extra: extra.to_vec(),
            };
            if let Some(Agg::Hist(h)) = self.tagged(key, || Agg::Hist(Histogram::default())) {
                h.record(v);
            }
        }
    }

    /// Counts an HTTP transaction of `ent` over connection `conn`: `side`
    /// and `class` index [`SIDES`] and [`CLASSES`]. At most `cap`
    /// connections per entity and second, the rest under `{other}`; a
    /// known connection costs a lookup, no allocation.
    pub fn conn_http(
        &mut self,
        ent: Ent,
        conn: &str,
        cap: usize,
        side: usize,
        class: usize,
        latency_ns: u64,
    ) {
        let full = self.full();
        let per = self.conn_http.entry(ent).or_default();
        let c = match per.get_mut(conn) {
            Some(c) => c,
            None => {
                let key = if per.len() >= cap { "{other}" } else { conn };
                if full && !per.contains_key(key) {
                    self.dropped += 1;
                    return;
                }
                per.entry(key.to_string()).or_default()
            }
        };
        c.requests[side][class] += 1;
        c.latency[side].record(latency_ns);
    }

    /// Moves the per-connection HTTP counts into tagged series
    /// (`http.connection.requests` by side and status class,
    /// `http.connection.latency` by side, both tagged `net.connection`).
    pub fn fold_conn_http(&mut self) {
        for (ent, per) in std::mem::take(&mut self.conn_http) {
            for (conn, c) in per {
                for (s, side) in SIDES.iter().enumerate() {
                    if c.latency[s].count == 0 {
                        continue;
                    }
                    let base: Vec<(Name, String)> = vec![
                        ("net.connection".into(), conn.clone()),
                        ("side".into(), side.to_string()),
                    ];
                    for (k, class) in CLASSES.iter().enumerate() {
                        let n = c.requests[s][k];
                        if n == 0 {
                            continue;
                        }
                        let mut extra = base.clone();
                        extra.insert(0, ("http.status_class".into(), class.to_string()));
                        self.count(&[ent], "http.connection.requests", &extra, n as f64);
                    }
                    let key = Key {
                        ent,
                        name: Cow::Borrowed("http.connection.latency"),
                        extra: base,
                    };
                    if let Some(Agg::Hist(h)) = self.tagged(key, || Agg::Hist(Histogram::default()))
                    {
                        h.merge(&c.latency[s]);
                    }
                }
            }
        }
    }

    /// Sets gauge `name` with `extra` tags for an entity.
    pub fn gauge(&mut self, ent: Ent, name: &'static str, extra: Vec<(Name, String)>, v: f64) {
        let key = Key {
            ent,
            name: Cow::Borrowed(name),
            extra,
        };
        if let Some(Agg::Gauge(g)) = self.tagged(key, || Agg::Gauge(0.0)) {
            *g = v;
        }
    }

    /// Sets gauge `name` (a name known at run time) for an entity.
    pub fn gauge_named(&mut self, ent: Ent, name: Name, extra: Vec<(Name, String)>, v: f64) {
        let key = Key { ent, name, extra };
        if let Some(Agg::Gauge(g)) = self.tagged(key, || Agg::Gauge(0.0)) {
            *g = v;
        }
    }

    /// Adds `v` to gauge `name` with `extra` tags for each entity.
    pub fn gauge_add(
        &mut self,
        ents: &[Ent],
        name: &'static str,
        extra: &[(Name, String)],
        v: f64,
    ) {
        for &ent in ents {
            let key = Key {
                ent,
                name: Cow::Borrowed(name),
                extra: extra.to_vec(),
            };
            if let Some(Agg::Gauge(g)) = self.tagged(key, || Agg::Gauge(0.0)) {
                *g += v;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tag<'a>(k: &'a Key, name: &str) -> Option<&'a str> {
        k.extra
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    #[test]
    fn connection_http_becomes_series_by_side_and_class() {
        let mut s = Second {
            max_series: 1000,
            ..Second::default()
        };
        let (p, q) = (Ent::Proc(7), Ent::Proc(8));
        let c = "10.0.0.1:5000->10.0.0.2:80";
        for (lat, class) in [(1_000, 1), (2_000, 1), (3_000, 4)] {
            s.conn_http(p, c, 10, 0, class, lat);
        }
        s.conn_http(q, c, 10, 1, 1, 9_000);
        // the cap: a second connection of q is folded
        s.conn_http(q, "10.0.0.1:5001->10.0.0.2:80", 1, 1, 3, 5);
        s.fold_conn_http();
        assert!(s.conn_http.is_empty());
        let mut reqs: Vec<(Ent, &str, &str, &str, f64)> = Vec::new();
        let mut lats: Vec<(Ent, &str, &str, u64, u64)> = Vec::new();
        for (k, a) in &s.tagged {
            let (conn, side) = (tag(k, "net.connection").unwrap(), tag(k, "side").unwrap());
            match (&*k.name, a) {
                ("http.connection.requests", Agg::Count(n)) => {
                    reqs.push((k.ent, conn, side, tag(k, "http.status_class").unwrap(), *n))
                }
                ("http.connection.latency", Agg::Hist(h)) => {
                    lats.push((k.ent, conn, side, h.count, h.max))
                }
                other => panic!("unexpected {other:?}"),
            }
        }
        reqs.sort_by(|a, b| format!("{a:?}").cmp(&format!("{b:?}")));
        lats.sort_by(|a, b| format!("{a:?}").cmp(&format!("{b:?}")));
        assert_eq!(
            reqs,
            [
                (p, c, "server", "2xx", 2.0),
                (p, c, "server", "5xx", 1.0),
                (q, c, "client", "2xx", 1.0),
                (q, "{other}", "client", "4xx", 1.0),
            ]
        );
        assert_eq!(
            lats,
            [
                (p, c, "server", 3, 3_000),
                (q, c, "client", 1, 9_000),
                (q, "{other}", "client", 1, 5),
            ]
        );
    }

    #[test]
    fn connection_http_respects_the_series_cap() {
        let mut s = Second {
            max_series: 10,
            ..Second::default()
        };
        s.basic(Ent::Host);
        s.conn_http(Ent::Proc(1), "a:1->b:2", 10, 0, 1, 5);
        assert_eq!((s.dropped, s.conn_http[&Ent::Proc(1)].len()), (1, 0));
    }
}
