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
}

impl Second {
    /// The counters of `e`.
    #[inline]
    pub fn basic(&mut self, e: Ent) -> &mut Basic {
        self.basic.entry(e).or_default()
    }

    /// The tagged series `key`, created with `init` unless the cap is
    /// reached (then counted as dropped, and None).
    pub fn tagged(&mut self, key: Key, init: impl FnOnce() -> Agg) -> Option<&mut Agg> {
        let full = self.tagged.len() + self.basic.len() * 10 >= self.max_series;
        if full && !self.tagged.contains_key(&key) {
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
