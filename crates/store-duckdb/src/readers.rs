//! The pool of read connections: clones of the writer's connection
//! (the same database, so they see every committed write), each with its
//! own `qsel` temporary table. A caller takes one, waiting while all are
//! busy, and gives it back when the guard drops.

use std::sync::{Condvar, Mutex};

use duckdb::Connection;
use sonde_store::Result;

use crate::engine;

/// Each reader's selection tables (temporary tables are per connection):
/// one query's, and several fused queries' (`q` numbers the query).
const READER_DDL: &str = "CREATE TEMP TABLE IF NOT EXISTS qsel(sid UINTEGER, grp UINTEGER); \
     CREATE TEMP TABLE IF NOT EXISTS qmany(q UINTEGER, sid UINTEGER, grp UINTEGER);";

/// As many readers as cores (at least 2).
pub fn default_size() -> usize {
    std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(2)
        .max(2)
}

/// The free read connections.
pub struct Readers {
    free: Mutex<Vec<Connection>>,
    returned: Condvar,
}

impl Readers {
    /// `n` readers of `writer`'s database.
    pub fn new(writer: &Connection, n: usize) -> Result<Readers> {
        let mut free = Vec::with_capacity(n);
        for _ in 0..n.max(1) {
            let c = writer.try_clone().map_err(engine)?;
            c.execute_batch(READER_DDL).map_err(engine)?;
            free.push(c);
        }
        Ok(Readers {
            free: Mutex::new(free),
            returned: Condvar::new(),
        })
    }

    /// A free reader (waits for one).
    pub fn take(&self) -> Reader<'_> {
        let mut free = self.free.lock().unwrap_or_else(|p| p.into_inner());
        loop {
            if let Some(conn) = free.pop() {
                return Reader {
                    pool: self,
                    conn: Some(conn),
                    open: false,
                };
            }
            free = self.returned.wait(free).unwrap_or_else(|p| p.into_inner());
        }
    }
}

/// A read connection taken from the pool.
pub struct Reader<'a> {
    pool: &'a Readers,
    conn: Option<Connection>,
    open: bool,
}

impl Reader<'_> {
    /// The connection.
    pub fn conn(&self) -> &Connection {
        self.conn.as_ref().expect("a reader holds its connection")
    }

    /// Opens a read transaction and fixes its snapshot now (DuckDB takes
    /// it at the first access to the database, not at BEGIN).
    pub fn begin(&mut self) -> Result<()> {
        let c = self.conn();
        c.execute_batch("BEGIN TRANSACTION").map_err(engine)?;
        self.open = true;
        self.conn()
            .query_row("SELECT count(*) FROM meta", [], |r| r.get::<_, i64>(0))
            .map_err(engine)?;
        Ok(())
    }

    /// Ends the read transaction (nothing to keep).
    pub fn end(&mut self) {
        if self.open {
            self.open = false;
            let _ = self.conn().execute_batch("ROLLBACK");
        }
    }
}

impl Drop for Reader<'_> {
    fn drop(&mut self) {
        self.end();
        if let Some(c) = self.conn.take() {
            let mut free = self.pool.free.lock().unwrap_or_else(|p| p.into_inner());
            free.push(c);
            self.pool.returned.notify_one();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn readers_see_committed_writes_and_wait_for_a_free_one() {
        let w = Connection::open_in_memory().unwrap();
        crate::schema::create(&w).unwrap();
        let pool = Readers::new(&w, 2).unwrap();
        w.execute_batch("INSERT INTO meta VALUES ('k', 7)").unwrap();
        let n = |r: &Reader<'_>| -> i64 {
            r.conn()
                .query_row("SELECT count(*) FROM meta", [], |r| r.get(0))
                .unwrap()
        };
        let mut a = pool.take();
        a.begin().unwrap();
        assert_eq!(n(&a), 1);
        // a write committed after the snapshot is not seen in it, then is
        w.execute_batch("INSERT INTO meta VALUES ('j', 8)").unwrap();
        assert_eq!(n(&a), 1);
        a.end();
        assert_eq!(n(&a), 2);
        let b = pool.take();
        let waited = std::thread::scope(|s| {
            let h = s.spawn(|| {
                let t = std::time::Instant::now();
                let c = pool.take();
                (t.elapsed(), n(&c))
            });
            std::thread::sleep(std::time::Duration::from_millis(100));
            drop(a);
            h.join().unwrap()
        });
        assert!(
            waited.0 >= std::time::Duration::from_millis(90),
            "{waited:?}"
        );
        assert_eq!(waited.1, 2);
        drop(b);
    }
}
