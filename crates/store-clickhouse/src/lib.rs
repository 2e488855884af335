//! # sonde-store-clickhouse: the distributed metrics store
//!
//! Owns [`ClickStore`], the [`sonde_store::Store`] of `sonde server` over
//! a ClickHouse cluster, spoken to over its HTTP interface (plain HTTP,
//! RowBinary in and out, so floats travel bit-exact). Several servers may
//! share one cluster: the store keeps no state of its own beyond caches.
//!
//! ## Layout
//! Every shard has local `ReplacingMergeTree` tables and a `Distributed`
//! table over each (module `schema`; the cluster is the `remote_servers`
//! entry named in [`Options::cluster`], on every shard). Series ids are a
//! 64-bit hash of metric and tags ([`series_id`]) and the sharding key,
//! so a series' samples, histograms, roll-ups and catalog row are on one
//! shard. Writes go through the `Distributed` tables with
//! `insert_distributed_sync=1` (acknowledged only once every shard has
//! the rows); queries fan out to each shard's local tables in parallel
//! and fold per series there (complete, since a series is on one shard),
//! and the server merges the shards' per-group partial aggregates (sum,
//! count, min, max) or, for quantiles, histograms and `Merge`, the
//! per-series cells, with sonde-store's `eval` (the documented
//! semantics, the same code DuckStore uses). The value sketch of the
//! roll-ups is sonde-store's (`eval::sketch_key`); buckets and sketches
//! are stored as two `Array(UInt64)` columns, so no engine-specific codec.
//!
//! ## Exactly once without transactions
//! ClickHouse has no multi-statement transactions, and a `Distributed`
//! insert that fails on one shard may have landed on another. The
//! argument instead: every row has a natural identity — a series has one
//! sample per second, so samples and histograms are keyed by (series,
//! second), roll-up rows by (resolution, series, row start, fold slice),
//! events by all their columns — and the tables are
//! `ReplacingMergeTree` on that key, so writing a row twice stores it
//! once after merges; until a merge, every query reads deduplicated data
//! (`FINAL` on each shard's local tables: one row per key, the newest
//! version; duplicates are on the same shard because the sharding key is
//! the series; measured 13x cheaper than a `GROUP BY` of the key). The agent's `seq` is written after the data: a
//! batch is acknowledged only when its data and its `seq` are stored, a
//! failed batch is retried whole (the transport resends unacknowledged
//! batches), a retry rewrites the same rows, and a replayed batch (`seq`
//! not above the stored one) is ignored. Hence an acknowledged second is
//! present exactly once and never counted twice; the fault test kills a
//! shard mid-ingest to check it.
//!
//! ## Portable SQL (18.16 to current)
//! Debian's ClickHouse is 18.16, so the SQL avoids what it lacks or what
//! changed since: no `DateTime64` (times are `Int64` ms), no column
//! codecs (default LZ4), no `TTL` (retention is [`Store::maintain`]
//! dropping whole partitions), no `JSONExtract*` (tags are stored as a
//! JSON string and parsed by the server; filters, regexes and group-bys
//! are resolved against the catalog in Rust, with the same regex engine
//! as every other engine), no `LowCardinality` (needs a setting on
//! 18.16), no `ON CLUSTER` DDL (needs ZooKeeper: DDL runs on each shard),
//! no insert-deduplication tokens (Replicated tables only), and no
//! `RowBinaryWithNamesAndTypes` or JSON formats with types.
//!
//! Does **not** own: the query semantics (sonde-store's `eval`), the
//! server, HTTP APIs or PromQL, or starting ClickHouse.
#![warn(missing_docs)]

mod http;
mod ingest;
mod query;
mod rollup;
mod schema;

use std::collections::{HashMap, HashSet};
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use sonde_store::{
    Answer, Event, EventQuery, Query, Result, Sample, Store, StoreError, TagFilter, Tags,
};

pub use sonde_store::eval::SKETCH_ERROR;

use http::Client;

/// How to reach the cluster and how long data is kept.
#[derive(Clone)]
pub struct Options {
    /// Each shard's HTTP URL (`http://host:8123`), one per shard of the
    /// cluster. Writes go to the first that answers; queries and
    /// maintenance go to each.
    pub shards: Vec<String>,
    /// The `remote_servers` cluster (on every shard) that the
    /// `Distributed` tables span.
    pub cluster: String,
    /// The database (created if missing).
    pub database: String,
    /// The ClickHouse user.
    pub user: String,
    /// Its password (never logged or put in an error).
    pub password: String,
    /// How long samples stay at full resolution (1 s), ms (default 6 h).
    pub retention_ms: i64,
    /// How long the 10 s, 1 min and 1 h roll-ups are kept, ms (default
    /// 7 days, 90 days, forever).
    pub rollup_retention_ms: [i64; 3],
    /// The HTTP timeout per statement.
    pub timeout: Duration,
}

impl std::fmt::Debug for Options {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Options")
            .field("shards", &self.shards)
            .field("cluster", &self.cluster)
            .field("database", &self.database)
            .field("user", &self.user)
            .field("password", &"<hidden>")
            .field("retention_ms", &self.retention_ms)
            .field("rollup_retention_ms", &self.rollup_retention_ms)
            .finish()
    }
}

impl Default for Options {
    fn default() -> Self {
        const DAY: i64 = 24 * 3600 * 1000;
        Options {
            shards: vec!["http://127.0.0.1:8123".into()],
            cluster: "sonde".into(),
            database: "sonde".into(),
            user: "default".into(),
            password: String::new(),
            retention_ms: DAY / 4,
            rollup_retention_ms: [7 * DAY, 90 * DAY, i64::MAX],
            timeout: Duration::from_secs(60),
        }
    }
}

/// The series id of a metric and its tags: 64-bit FNV-1a over the name
/// and each tag, separated by NUL bytes (stable across builds and hosts,
/// so every server instance computes the same id without a shared
/// counter; two series colliding, about one chance in 2^64 per pair,
/// would share rows).
pub fn series_id(metric: &str, tags: &Tags) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    let mut eat = |b: &[u8]| {
        for x in b.iter().chain(std::iter::once(&0u8)) {
            h ^= u64::from(*x);
            h = h.wrapping_mul(0x0000_0100_0000_01b3);
        }
    };
    eat(metric.as_bytes());
    for (k, v) in tags {
        eat(k.as_bytes());
        eat(v.as_bytes());
    }
    h
}

pub(crate) struct Caches {
    /// Series ids known to be in the catalog.
    pub known: HashSet<u64>,
    /// The last sequence number stored per agent (by this instance or
    /// read at open).
    pub seqs: HashMap<String, u64>,
}

/// The distributed store: [`Store`] over a ClickHouse cluster.
pub struct ClickStore {
    pub(crate) shards: Vec<Client>,
    pub(crate) db: String,
    pub(crate) opts: Options,
    caches: Mutex<Caches>,
    /// Serializes [`Store::maintain`] within this instance.
    maintaining: Mutex<()>,
}

pub(crate) fn engine(e: impl std::fmt::Display) -> StoreError {
    StoreError::Engine(e.to_string())
}

impl ClickStore {
    /// Connects to every shard, creates the database and tables that are
    /// missing, and loads the agents' sequence numbers.
    pub fn open(opts: Options) -> Result<ClickStore> {
        schema::ident("database", &opts.database).map_err(StoreError::BadQuery)?;
        schema::ident("cluster", &opts.cluster).map_err(StoreError::BadQuery)?;
        if opts.shards.is_empty() {
            return Err(StoreError::BadQuery("no ClickHouse shard URL".into()));
        }
        let shards: Vec<Client> = opts
            .shards
            .iter()
            .map(|u| Client::new(u, &opts.user, &opts.password, opts.timeout))
            .collect();
        for c in &shards {
            schema::create(c, &opts.database, &opts.cluster)?;
        }
        let store = ClickStore {
            db: opts.database.clone(),
            shards,
            opts,
            caches: Mutex::new(Caches {
                known: HashSet::new(),
                seqs: HashMap::new(),
            }),
            maintaining: Mutex::new(()),
        };
        let seqs = store.read_seqs()?;
        store.caches().seqs = seqs;
        Ok(store)
    }

    pub(crate) fn caches(&self) -> MutexGuard<'_, Caches> {
        self.caches.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Runs `f` on every shard in parallel; the results in shard order.
    pub(crate) fn each<T: Send>(&self, f: impl Fn(&Client) -> Result<T> + Sync) -> Result<Vec<T>> {
        std::thread::scope(|s| {
            let hs: Vec<_> = self.shards.iter().map(|c| s.spawn(|| f(c))).collect();
            hs.into_iter()
                .map(|h| {
                    h.join()
                        .unwrap_or_else(|_| Err(engine("a shard query panicked")))
                })
                .collect()
        })
    }

    /// Runs a statement on the first shard that answers (writes through
    /// the `Distributed` tables may start on any shard).
    pub(crate) fn any_shard(
        &self,
        sql: &str,
        body: Option<&[u8]>,
        settings: &str,
    ) -> Result<Vec<u8>> {
        let mut last = None;
        for c in &self.shards {
            match c.run(sql, body, settings) {
                Ok(b) => return Ok(b),
                Err(e) => last = Some(e),
            }
        }
        Err(last.unwrap_or_else(|| engine("no shard")))
    }

    fn read_seqs(&self) -> Result<HashMap<String, u64>> {
        let b = self.any_shard(
            &format!(
                "SELECT agent, max(seq) FROM {}.seqs_d GROUP BY agent FORMAT RowBinary",
                self.db
            ),
            None,
            "",
        )?;
        let mut r = http::Reader::new(&b);
        let mut out = HashMap::new();
        while r.more() {
            let a = r.str()?;
            out.insert(a, r.u64()?);
        }
        Ok(out)
    }

    /// Samples stored at full resolution (counters, gauges and
    /// histograms, each (series, second) once), from the horizon on.
    pub fn full_resolution_rows(&self) -> Result<u64> {
        let (h, _) = rollup::horizon(self)?;
        let n = self.each(|c| {
            let b = c.run(
                &format!(
                    "SELECT (SELECT count() FROM {db}.samples FINAL WHERE ts >= {h}) \
                     + (SELECT count() FROM {db}.hists FINAL WHERE ts >= {h}) FORMAT RowBinary",
                    db = self.db
                ),
                None,
                "",
            )?;
            http::Reader::new(&b).u64()
        })?;
        Ok(n.iter().sum())
    }
}

impl Store for ClickStore {
    fn write_batch(
        &self,
        agent: &str,
        seq: u64,
        samples: &[Sample],
        events: &[Event],
    ) -> Result<()> {
        ingest::write_batch(self, agent, seq, samples, events)
    }

    fn last_seqs(&self) -> Result<HashMap<String, u64>> {
        let fresh = self.read_seqs()?;
        let mut c = self.caches();
        for (a, s) in fresh {
            let e = c.seqs.entry(a).or_default();
            *e = (*e).max(s);
        }
        Ok(c.seqs.clone())
    }

    fn query(&self, q: &Query) -> Result<Answer> {
        query::query(self, q)
    }

    fn series(
        &self,
        metric: Option<&str>,
        filters: &[TagFilter],
        start_ms: i64,
        end_ms: i64,
    ) -> Result<Vec<(String, Tags)>> {
        query::series(self, metric, filters, start_ms, end_ms)
    }

    fn tag_names(&self, start_ms: i64, end_ms: i64) -> Result<Vec<String>> {
        let s = query::series(self, None, &[], start_ms, end_ms)?;
        let names: std::collections::BTreeSet<String> =
            s.into_iter().flat_map(|(_, t)| t.into_keys()).collect();
        Ok(names.into_iter().collect())
    }

    fn tag_values(&self, name: &str, start_ms: i64, end_ms: i64) -> Result<Vec<String>> {
        let s = query::series(self, None, &[], start_ms, end_ms)?;
        let vals: std::collections::BTreeSet<String> = s
            .into_iter()
            .filter_map(|(_, mut t)| t.remove(name))
            .collect();
        Ok(vals.into_iter().collect())
    }

    fn events(&self, q: &EventQuery) -> Result<Vec<Event>> {
        query::events(self, q)
    }

    fn maintain(&self, now_ms: i64) -> Result<()> {
        let _g = self.maintaining.lock().unwrap_or_else(|p| p.into_inner());
        rollup::maintain(self, now_ms)
    }
}
