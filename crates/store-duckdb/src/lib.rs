//! # sonde-store-duckdb: the embedded metrics store
//!
//! Owns [`DuckStore`], the [`sonde_store::Store`] of `sonde server` when
//! nothing else is configured: one DuckDB database file (or memory). It
//! links against the prebuilt `libduckdb.so` that `.ci/install-deps`
//! installs (see Cargo.toml for the pinned version); no other crate
//! depends on DuckDB.
//!
//! Schema (module `schema`): `series` (id, metric, tags as JSON, kept in
//! memory too, so filters, regexes and group-bys are resolved against
//! the catalog and the SQL only joins sample rows to series ids),
//! `samples` (series id, ms, value) for counters and gauges, `hists`
//! (series id, ms, count, sum, min, max, encoded buckets), `seqlog` (the
//! last batch per agent, appended in the batch's transaction and
//! compacted by [`Store::maintain`]; `seqs` holds those of older
//! databases), `events`,
//! and `rollups` (resolution, series id, ms, count, sum, min, max,
//! sketch) that [`Store::maintain`] fills as soon as a slot has settled
//! (not only when it leaves the full-resolution window), so a long range
//! at a coarse step is answered from the coarsest aligned roll-up plus
//! the full-resolution tail not rolled up yet.
//!
//! Connections: one writer (ingest, roll-ups) behind a mutex with the
//! catalog, and a pool of read connections to the same database (as
//! many as cores), so queries run side by side and beside writes. A
//! query plans against the catalog under the writer's lock and opens
//! its read transaction there, so it sees exactly the committed state
//! the catalog and the horizon describe.
//!
//! Does **not** own: the query semantics (sonde-store's `eval`), the
//! server, HTTP or PromQL.
#![warn(missing_docs)]

mod codec;
mod flat;
mod ingest;
mod many;
mod query;
mod readers;
mod rollup;
mod schema;

use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::sync::{Mutex, MutexGuard};

use duckdb::Connection;
use sonde_store::{
    Answer, Event, EventQuery, Query, Result, Sample, Store, StoreError, TagFilter, Tags,
};

pub use rollup::SKETCH_ERROR;

/// How the store keeps data.
#[derive(Debug, Clone, Copy)]
pub struct Options {
    /// How long samples stay at full resolution (1 s) before
    /// [`Store::maintain`] folds them into roll-ups, in ms (default 6 h).
    pub retention_ms: i64,
    /// How long the 10 s, 1 min and 1 h roll-ups are kept, in ms
    /// (default 7 days, 90 days, forever).
    pub rollup_retention_ms: [i64; 3],
}

impl Default for Options {
    fn default() -> Self {
        const DAY: i64 = 24 * 3600 * 1000;
        Options {
            retention_ms: DAY / 4,
            rollup_retention_ms: [7 * DAY, 90 * DAY, i64::MAX],
        }
    }
}

/// One series in the in-memory catalog.
#[derive(Debug, Clone)]
pub(crate) struct SeriesInfo {
    pub metric: String,
    pub tags: Tags,
    /// Its first sample was a histogram.
    pub hist: bool,
}

/// The series catalog: ids by metric and tags, and back.
#[derive(Debug, Default)]
pub(crate) struct Catalog {
    pub ids: HashMap<String, HashMap<Tags, u32>>,
    pub series: Vec<SeriesInfo>,
    /// Each series' identity as one byte string ([`flat::key`]), by id:
    /// checking that a sample is a known series reads one contiguous
    /// buffer instead of the catalog's 15 tag strings.
    pub flat: Vec<Box<[u8]>>,
}

impl Catalog {
    pub fn get(&self, metric: &str, tags: &Tags) -> Option<u32> {
        self.ids.get(metric)?.get(tags).copied()
    }

    pub fn insert(&mut self, metric: &str, tags: &Tags, hist: bool) -> u32 {
        let id = self.series.len() as u32;
        self.flat.push(flat::key(metric, tags));
        self.series.push(SeriesInfo {
            metric: metric.to_string(),
            tags: tags.clone(),
            hist,
        });
        self.ids
            .entry(metric.to_string())
            .or_default()
            .insert(tags.clone(), id);
        id
    }
}

pub(crate) struct Inner {
    pub conn: Connection,
    pub catalog: Catalog,
    pub seqs: HashMap<String, u64>,
    /// Each agent's last batch's series ids by position: agents send the
    /// same series in the same order every second, so a comparison
    /// replaces most catalog lookups.
    pub last_sids: HashMap<String, Vec<u32>>,
    /// Samples older than this (ms) are in roll-ups only.
    pub horizon_ms: i64,
    /// Per roll-up level (10 s, 1 min, 1 h): rows older than this (ms)
    /// have expired.
    pub floors: [i64; 3],
    /// Per roll-up level: its rows hold every sample older than this (ms).
    pub rolled: [i64; 3],
    pub opts: Options,
}

/// The embedded store: [`Store`] over one DuckDB database.
pub struct DuckStore {
    inner: Mutex<Inner>,
    readers: readers::Readers,
}

pub(crate) fn engine(e: impl std::fmt::Display) -> StoreError {
    StoreError::Engine(e.to_string())
}

impl DuckStore {
    /// Opens (or creates) the database file at `path`.
    pub fn open(path: impl AsRef<Path>, opts: Options) -> Result<DuckStore> {
        let conn = Connection::open(path.as_ref())
            .map_err(|e| StoreError::Engine(format!("opening {}: {e}", path.as_ref().display())))?;
        Self::with_connection(conn, opts)
    }

    /// A store in memory (tests).
    pub fn in_memory(opts: Options) -> Result<DuckStore> {
        Self::with_connection(Connection::open_in_memory().map_err(engine)?, opts)
    }

    fn with_connection(conn: Connection, opts: Options) -> Result<DuckStore> {
        schema::create(&conn)?;
        let readers = readers::Readers::new(&conn, readers::default_size())?;
        let catalog = schema::load_catalog(&conn)?;
        let seqs = schema::load_seqs(&conn)?;
        let (horizon_ms, floors, rolled) = schema::load_horizon(&conn)?;
        let inner = Inner {
            conn,
            catalog,
            seqs,
            last_sids: HashMap::new(),
            horizon_ms,
            floors,
            rolled,
            opts,
        };
        Ok(DuckStore {
            inner: Mutex::new(inner),
            readers,
        })
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // A panic while holding the lock leaves the catalog as it was
        // before the failed batch (it is updated after the commit).
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Writes everything to the file and compacts it (DuckDB CHECKPOINT).
    pub fn checkpoint(&self) -> Result<()> {
        self.lock()
            .conn
            .execute_batch("FORCE CHECKPOINT")
            .map_err(engine)
    }

    /// Samples stored at full resolution (counters, gauges and histograms).
    pub fn full_resolution_rows(&self) -> Result<u64> {
        let g = self.lock();
        let n: i64 = g
            .conn
            .query_row(
                "SELECT (SELECT count(*) FROM samples) + (SELECT count(*) FROM hists)",
                [],
                |r| r.get(0),
            )
            .map_err(engine)?;
        Ok(n as u64)
    }
}

impl DuckStore {
    /// Several queries in one read transaction: those [`many`] can fuse
    /// read their rows together, the others one by one.
    fn query_fused(&self, qs: &[Query]) -> Vec<Result<Answer>> {
        let mut reader = self.readers.take();
        let mut plans: Vec<Option<Result<query::Plan>>> = {
            let g = self.lock();
            let plans: Vec<_> = qs.iter().map(|q| Some(query::plan(&g, q))).collect();
            let reads = plans
                .iter()
                .flatten()
                .any(|p| p.as_ref().is_ok_and(|p| !p.is_empty()));
            if reads {
                if let Err(e) = reader.begin() {
                    return qs.iter().map(|_| Err(engine(&e))).collect();
                }
            }
            plans
        };
        let mut out: Vec<Option<Result<Answer>>> = qs.iter().map(|_| None).collect();
        let mut fused: BTreeMap<many::FuseKey, Vec<usize>> = BTreeMap::new();
        for (i, p) in plans.iter().enumerate() {
            if let Some(Ok(p)) = p {
                if let Some(k) = many::fuse_key(&qs[i], p) {
                    fused.entry(k).or_default().push(i);
                }
            }
        }
        for (key, idx) in fused.into_iter().filter(|(_, v)| v.len() > 1) {
            let ps: Vec<query::Plan> = idx
                .iter()
                .filter_map(|&i| plans[i].take().and_then(|p| p.ok()))
                .collect();
            let these: Vec<&Query> = idx.iter().map(|&i| &qs[i]).collect();
            match many::run_fused(reader.conn(), key, &these, ps) {
                Ok(answers) => idx
                    .iter()
                    .zip(answers)
                    .for_each(|(&i, a)| out[i] = Some(Ok(a))),
                Err(e) => idx.iter().for_each(|&i| out[i] = Some(Err(engine(&e)))),
            }
        }
        for (i, p) in plans.into_iter().enumerate() {
            match p {
                Some(Ok(p)) if p.is_empty() => out[i] = Some(Ok(query::empty(&p))),
                Some(Ok(p)) => out[i] = Some(query::run(reader.conn(), &qs[i], p)),
                Some(Err(e)) => out[i] = Some(Err(e)),
                None => {}
            }
        }
        out.into_iter()
            .map(|a| a.unwrap_or_else(|| Err(engine("query not answered"))))
            .collect()
    }

    /// Series with samples in the range: their ids read on a reader,
    /// then named from the catalog.
    fn series_in(
        &self,
        metric: Option<&str>,
        filters: &[TagFilter],
        start_ms: i64,
        end_ms: i64,
    ) -> Result<Vec<(String, Tags)>> {
        let m = sonde_store::eval::compile_filters(filters).map_err(StoreError::BadQuery)?;
        let sids = query::series_ids(self.readers.take().conn(), start_ms, end_ms)?;
        let g = self.lock();
        let mut out: Vec<(String, Tags)> = sids
            .into_iter()
            .filter_map(|sid| g.catalog.series.get(sid as usize))
            .filter(|s| {
                metric.map_or(true, |m| m == s.metric) && sonde_store::eval::matches(&m, &s.tags)
            })
            .map(|s| (s.metric.clone(), s.tags.clone()))
            .collect();
        out.sort();
        Ok(out)
    }
}

impl Store for DuckStore {
    fn write_batch(
        &self,
        agent: &str,
        seq: u64,
        samples: &[Sample],
        events: &[Event],
    ) -> Result<()> {
        ingest::write_batch(&mut self.lock(), agent, seq, samples, events)
    }

    fn last_seqs(&self) -> Result<HashMap<String, u64>> {
        Ok(self.lock().seqs.clone())
    }

    fn query(&self, q: &Query) -> Result<Answer> {
        let mut reader = self.readers.take();
        let plan = {
            let g = self.lock();
            let plan = query::plan(&g, q)?;
            if !plan.is_empty() {
                // the snapshot the plan describes: no write is under way
                reader.begin()?;
            }
            plan
        };
        if plan.is_empty() {
            return Ok(query::empty(&plan));
        }
        query::run(reader.conn(), q, plan)
    }

    fn query_many(&self, qs: &[Query]) -> Vec<Result<Answer>> {
        self.query_fused(qs)
    }

    fn series(
        &self,
        metric: Option<&str>,
        filters: &[TagFilter],
        start_ms: i64,
        end_ms: i64,
    ) -> Result<Vec<(String, Tags)>> {
        self.series_in(metric, filters, start_ms, end_ms)
    }

    fn tag_names(&self, start_ms: i64, end_ms: i64) -> Result<Vec<String>> {
        let s = self.series_in(None, &[], start_ms, end_ms)?;
        let names: std::collections::BTreeSet<String> =
            s.into_iter().flat_map(|(_, t)| t.into_keys()).collect();
        Ok(names.into_iter().collect())
    }

    fn tag_values(&self, name: &str, start_ms: i64, end_ms: i64) -> Result<Vec<String>> {
        let s = self.series_in(None, &[], start_ms, end_ms)?;
        let vals: std::collections::BTreeSet<String> = s
            .into_iter()
            .filter_map(|(_, mut t)| t.remove(name))
            .collect();
        Ok(vals.into_iter().collect())
    }

    fn events(&self, q: &EventQuery) -> Result<Vec<Event>> {
        query::events(self.readers.take().conn(), q)
    }

    fn maintain(&self, now_ms: i64) -> Result<()> {
        rollup::maintain(&mut self.lock(), now_ms)
    }
}
