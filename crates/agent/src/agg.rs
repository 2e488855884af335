//! One second's aggregation: the entities (host, container, process)
//! events are counted for, their fixed counters, and the tagged series
//! (errors by errno, I/O by file, connection and port, HTTP, statsd)
//! under the series cap.

use std::borrow::Cow;
use std::hash::{Hash, Hasher};

use hashbrown::hash_map::EntryRef;
use hashbrown::Equivalent;
use rustc_hash::{FxBuildHasher, FxHashMap, FxHashSet};

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
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Key {
    /// Whose series.
    pub ent: Ent,
    /// Metric name.
    pub name: Name,
    /// Tags besides the entity's.
    pub extra: Vec<(Name, String)>,
}

/// A [`Key`] made of borrowed parts, to find a series without building
/// (and allocating) its key: it hashes and compares as the key would.
/// Made with [`KeyRef::new`], or [`KeyRef::of`] for one more entity.
pub struct KeyRef<'a, A, B> {
    /// Whose series.
    pub ent: Ent,
    /// Metric name.
    pub name: &'static str,
    /// Tags besides the entity's.
    pub extra: &'a [(A, B)],
    /// [`tags_hash`] of name and tags: hashed once for all entities.
    th: u64,
}

/// The hash of a key's name and tags (the entity apart: a series counted
/// for several entities hashes its tags once).
fn tags_hash<'s>(name: &str, n: usize, tags: impl Iterator<Item = (&'s str, &'s str)>) -> u64 {
    let mut h = rustc_hash::FxHasher::default();
    h.write(name.as_bytes());
    h.write_usize(n);
    for (k, v) in tags {
        h.write(k.as_bytes());
        h.write_u8(0xff);
        h.write(v.as_bytes());
        h.write_u8(0xff);
    }
    h.finish()
}

impl Hash for Key {
    fn hash<H: Hasher>(&self, h: &mut H) {
        let tags = self.extra.iter().map(|(k, v)| (&**k, v.as_str()));
        self.ent.hash(h);
        h.write_u64(tags_hash(&self.name, self.extra.len(), tags));
    }
}

impl<A: AsRef<str>, B: AsRef<str>> Hash for KeyRef<'_, A, B> {
    fn hash<H: Hasher>(&self, h: &mut H) {
        self.ent.hash(h);
        h.write_u64(self.th);
    }
}

impl<'a, A: AsRef<str>, B: AsRef<str>> KeyRef<'a, A, B> {
    /// The key of series `name` of `ent` with `extra` tags.
    pub fn new(ent: Ent, name: &'static str, extra: &'a [(A, B)]) -> Self {
        let tags = extra.iter().map(|(k, v)| (k.as_ref(), v.as_ref()));
        KeyRef {
            ent,
            name,
            extra,
            th: tags_hash(name, extra.len(), tags),
        }
    }

    /// The same series of entity `ent`.
    pub fn of(&self, ent: Ent) -> Self {
        KeyRef { ent, ..*self }
    }
}

impl<A: AsRef<str>, B: AsRef<str>> Equivalent<Key> for KeyRef<'_, A, B> {
    fn equivalent(&self, k: &Key) -> bool {
        self.ent == k.ent
            && self.name == k.name
            && self.extra.len() == k.extra.len()
            && self
                .extra
                .iter()
                .zip(&k.extra)
                .all(|((a, b), (x, y))| a.as_ref() == x && b.as_ref() == y)
    }
}

impl<A: AsRef<str>, B: AsRef<str>> KeyRef<'_, A, B> {
    /// The owned key.
    pub fn to_key(&self) -> Key {
        Key {
            ent: self.ent,
            name: Cow::Borrowed(self.name),
            extra: self
                .extra
                .iter()
                .map(|(k, v)| (Cow::Owned(k.as_ref().to_owned()), v.as_ref().to_owned()))
                .collect(),
        }
    }
}

impl<A: AsRef<str>, B: AsRef<str>> From<&KeyRef<'_, A, B>> for Key {
    fn from(k: &KeyRef<'_, A, B>) -> Key {
        k.to_key()
    }
}

/// No tags besides the entity's.
pub const NO_TAGS: &[(&str, &str)] = &[];

/// The tagged series of a second, found by [`Key`] or [`KeyRef`].
pub type Tagged = hashbrown::HashMap<Key, Agg, FxBuildHasher>;

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
    pub tagged: Tagged,
    /// How many distinct series each capped metric of each entity has
    /// this second (see [`Second::capped_count`]).
    pub distinct: FxHashMap<(Ent, &'static str), usize>,
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

    /// The series `key` (borrowed), created with `init` unless the cap
    /// is reached: a known series costs a lookup, no allocation.
    pub fn tagged_ref<A: AsRef<str>, B: AsRef<str>>(
        &mut self,
        key: &KeyRef<'_, A, B>,
        init: impl FnOnce() -> Agg,
    ) -> Option<&mut Agg> {
        let full = self.full();
        match self.tagged.entry_ref(key) {
            EntryRef::Occupied(o) => Some(o.into_mut()),
            EntryRef::Vacant(_) if full => {
                self.dropped += 1;
                None
            }
            EntryRef::Vacant(v) => Some(v.insert(init())),
        }
    }

    /// Starts the next second: every series and count of this one goes.
    pub fn end_second(&mut self) {
        self.basic.clear();
        self.tagged.clear();
        self.distinct.clear();
        self.dropped = 0;
    }

    /// Adds `v` to counter `name` with `extra` tags for each entity.
    pub fn count<A: AsRef<str>, B: AsRef<str>>(
        &mut self,
        ents: &[Ent],
        name: &'static str,
        extra: &[(A, B)],
        v: f64,
    ) {
        let key = KeyRef::new(Ent::Host, name, extra);
        for &ent in ents {
            let key = key.of(ent);
            if let Some(Agg::Count(c)) = self.tagged_ref(&key, || Agg::Count(0.0)) {
                *c += v;
            }
        }
    }

    /// Adds `v` to counter `name` of `ent` tagged with the direction
    /// `dname` and one high-cardinality tag: at most `cap` distinct values
    /// per direction and second (`cap * 2` series), the rest under
    /// `{other}`. A known series costs two lookups, no allocation.
    pub fn capped_count(
        &mut self,
        ent: Ent,
        name: &'static str,
        dname: &'static str,
        (tag, value): (&'static str, &str),
        cap: usize,
        v: u64,
    ) {
        let mut extra = [("direction", dname), (tag, value)];
        let key = KeyRef::new(ent, name, &extra);
        // a known series: one lookup
        if let Some(Agg::Count(c)) = self.tagged.get_mut(&key) {
            *c += v as f64;
            return;
        }
        let n = self.distinct.entry((ent, name)).or_default();
        if *n >= cap * 2 {
            extra[1].1 = "{other}";
        } else {
            *n += 1;
        }
        self.count(&[ent], name, &extra, v as f64);
    }

    /// Records `v` in histogram `name` with `extra` tags for each entity.
    pub fn hist<A: AsRef<str>, B: AsRef<str>>(
        &mut self,
        ents: &[Ent],
        name: &'static str,
        extra: &[(A, B)],
        v: u64,
    ) {
        let key = KeyRef::new(Ent::Host, name, extra);
        for &ent in ents {
            let key = key.of(ent);
            if let Some(Agg::Hist(h)) = self.tagged_ref(&key, || Agg::Hist(Histogram::default())) {
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
    pub fn gauge_add<A: AsRef<str>, B: AsRef<str>>(
        &mut self,
        ents: &[Ent],
        name: &'static str,
        extra: &[(A, B)],
        v: f64,
    ) {
        let key = KeyRef::new(Ent::Host, name, extra);
        for &ent in ents {
            let key = key.of(ent);
            if let Some(Agg::Gauge(g)) = self.tagged_ref(&key, || Agg::Gauge(0.0)) {
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

    /// A borrowed key finds the series its owned form made, and only it.
    #[test]
    fn borrowed_keys_find_owned_ones() {
        use std::hash::BuildHasher;
        let mut s = Second {
            max_series: 1000,
            ..Second::default()
        };
        let owned: Vec<(Name, String)> = vec![("direction".into(), "in".into())];
        s.count(&[Ent::Host], "net.port.bytes", &owned, 2.0);
        s.count(&[Ent::Host], "net.port.bytes", &[("direction", "in")], 3.0);
        s.count(&[Ent::Host], "net.port.bytes", &[("direction", "out")], 5.0);
        s.count(&[Ent::Host], "net.port.bytes", &[("directio", "nin")], 7.0);
        s.count(
            &[Ent::Proc(1)],
            "net.port.bytes",
            &[("direction", "in")],
            11.0,
        );
        s.count::<&str, &str>(&[Ent::Host], "net.port.bytes", &[], 13.0);
        assert_eq!(s.tagged.len(), 5);
        let k = Key {
            ent: Ent::Host,
            name: "net.port.bytes".into(),
            extra: owned,
        };
        assert!(matches!(s.tagged[&k], Agg::Count(v) if v == 5.0));
        let r = KeyRef::new(Ent::Host, "net.port.bytes", &[("direction", "in")]);
        let b = FxBuildHasher;
        assert_eq!(b.hash_one(&k), b.hash_one(&r));
        assert_eq!(r.to_key(), k);
    }

    /// Past `cap * 2` distinct values of the tag, new values go to
    /// `{other}`; values already counted keep their series.
    #[test]
    fn capped_counts_fold_new_values_into_other() {
        let mut s = Second {
            max_series: 1000,
            ..Second::default()
        };
        let e = Ent::Proc(3);
        let conn = |i: u64| format!("10.0.0.1:{i}->10.0.0.2:80");
        for i in 0..6 {
            s.capped_count(
                e,
                "net.connection.bytes",
                "in",
                ("net.connection", &conn(i)),
                2,
                i + 1,
            );
        }
        s.capped_count(
            e,
            "net.connection.bytes",
            "in",
            ("net.connection", &conn(0)),
            2,
            100,
        );
        let mut got: Vec<(String, f64)> = s
            .tagged
            .iter()
            .map(|(k, a)| match a {
                Agg::Count(n) => (tag(k, "net.connection").unwrap().to_string(), *n),
                other => panic!("{other:?}"),
            })
            .collect();
        got.sort_by(|a, b| a.0.cmp(&b.0));
        let want = [
            (conn(0), 101.0),
            (conn(1), 2.0),
            (conn(2), 3.0),
            (conn(3), 4.0),
        ];
        let mut want: Vec<(String, f64)> = want.into_iter().collect();
        want.push(("{other}".into(), 11.0));
        want.sort_by(|a, b| a.0.cmp(&b.0));
        assert_eq!(got, want);
        // a new second starts from no values
        s.end_second();
        s.capped_count(
            e,
            "net.connection.bytes",
            "in",
            ("net.connection", &conn(9)),
            2,
            1,
        );
        assert_eq!(
            tag(s.tagged.keys().next().unwrap(), "net.connection"),
            Some(&*conn(9))
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
