//! Live tables for the server: `sonde top`'s views run on the agent's own
//! event stream while a page watches them. The server's `live` request
//! (`{"kind":"live","id":ID,"view":V,"container":C|null,"duration_ms":N}`,
//! through `agent_remote`) becomes a [`sonde_top::ViewSink`] inside the
//! [`LiveViews`] sink of the agent's engine, filtered to the scope
//! (`container.id=C`, or the whole host) and refreshed every
//! [`REFRESH_NS`] of event time; each sample's rows go to
//! `POST /api/v1/agent/live/ID` from a thread of their own (the engine
//! never waits on the network). A run ends by itself when its lease
//! (`duration_ms`, at most [`MAX_LEASE`]) passes without a renewal; at
//! most [`MAX_RUNNING`] run at once. Without a request the sink costs one
//! check of an empty list per event.

use std::sync::mpsc::{self, Receiver, Sender, SyncSender};
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use sonde_engine::{Flow, Handed, Needs, Sink, SinkResult};
use sonde_fields::Ctx;
use sonde_state::State;
use sonde_top::{Sample, View, ViewSink};
use sonde_transport::Uploader;

/// Views running at once, at most.
pub const MAX_RUNNING: usize = 4;
/// The longest lease a request may ask for.
pub const MAX_LEASE: Duration = Duration::from_secs(60);
/// How often each view makes a sample (event time).
pub const REFRESH_NS: u64 = 2_000_000_000;
/// Rows sent per sample, at most (the sorted top).
const MAX_ROWS: usize = 200;

/// A request to start (or renew) a view, checked.
#[derive(Debug)]
pub struct Start {
    /// The server's session id.
    pub id: String,
    /// The view, tagged for this run.
    pub view: View,
    /// The scope's filter (`container.id=...`, or empty: the host).
    pub scope: String,
    /// How long it runs without a renewal.
    pub lease: Duration,
}

/// What goes to the server: a session's sample or its refusal.
pub type Upload = (String, Value);

struct Running {
    id: String,
    sink: ViewSink<'static>,
    until: Instant,
}

/// The engine sink that runs the requested views.
pub struct LiveViews {
    rx: Receiver<Start>,
    out: SyncSender<Upload>,
    running: Vec<Running>,
    /// Syscalls the tables may go without ([`LiveViews::leave_out`]).
    counted: &'static [&'static str],
}

/// A refusal, as the server reads it.
pub fn refusal(msg: &str, bad_request: bool) -> Value {
    json!({"error": msg, "bad_request": bad_request})
}

impl LiveViews {
    /// The sink, the sender of its requests, and the receiver of what it
    /// uploads.
    pub fn new() -> (LiveViews, Sender<Start>, Receiver<Upload>) {
        let (tx, rx) = mpsc::channel();
        let (out, up) = mpsc::sync_channel(32);
        let sink = LiveViews {
            rx,
            out,
            running: Vec::new(),
            counted: &[],
        };
        (sink, tx, up)
    }

    /// Lets the tables go without these syscalls' events, which the kernel
    /// may then count instead (see `sonde_engine::Needs::counted`).
    pub fn leave_out(&mut self, syscalls: &'static [&'static str]) {
        self.counted = syscalls;
    }

    /// Takes the requests that came, and ends the runs whose lease passed.
    fn requests(&mut self) {
        let now = Instant::now();
        self.running.retain(|r| r.until > now);
        while let Ok(s) = self.rx.try_recv() {
            self.start(s, now);
        }
    }

    fn start(&mut self, s: Start, now: Instant) {
        let until = now + s.lease.min(MAX_LEASE);
        if let Some(r) = self.running.iter_mut().find(|r| r.id == s.id) {
            r.until = until;
            return;
        }
        if self.running.len() >= MAX_RUNNING {
            let msg = format!("this agent runs at most {MAX_RUNNING} live tables at once");
            let _ = self.out.try_send((s.id, refusal(&msg, false)));
            return;
        }
        let filter = sonde_top::combine_filters(&s.scope, &s.view.filter_at(0));
        let publish = publisher(&s.view, s.id.clone(), self.out.clone());
        match ViewSink::new(&s.view, 0, &filter, true, REFRESH_NS, publish) {
            Ok(sink) => self.running.push(Running {
                id: s.id,
                sink,
                until,
            }),
            Err(e) => {
                let _ = self.out.try_send((s.id, refusal(&e, true)));
            }
        }
    }
}

/// A view's samples as JSON: its columns, and each row's key and values
/// as `sonde top --raw` prints them.
fn publisher(
    view: &View,
    id: String,
    out: SyncSender<Upload>,
) -> sonde_top::sink::Publish<'static> {
    let names: Vec<String> = view
        .shown_columns()
        .into_iter()
        .map(|i| view.columns[i].name.clone())
        .collect();
    let key = view.key().map(|c| c.field.clone()).unwrap_or_default();
    let view_id = view.id.clone();
    let mut first = true;
    Box::new(move |s: Sample| {
        // the first sample only arms the view's timer (as csysdig's)
        if std::mem::take(&mut first) {
            return Ok(());
        }
        let _ = out.try_send((
            id.clone(),
            json!({"sample": sample_json(&view_id, &key, &names, &s)}),
        ));
        Ok(())
    })
}

/// One sample: `{"view", "key", "columns", "rows": [{"k", "d"}], "seconds"}`.
fn sample_json(view: &str, key: &str, names: &[String], s: &Sample) -> Value {
    let n = s.types.len();
    // the value columns are the last shown ones (the key column first)
    let columns = &names[names.len().saturating_sub(n)..];
    let rows: Vec<Value> = s
        .rows
        .iter()
        .take(MAX_ROWS)
        .map(|r| {
            let d: Vec<String> = (0..r.vals.len().min(n))
                .map(|c| s.text(r, c, 0).trim().to_string())
                .collect();
            json!({"k": s.key_text(r), "d": d})
        })
        .collect();
    json!({
        "view": view, "key": key, "columns": columns, "rows": rows,
        "total": s.rows.len(), "seconds": s.time_delta as f64 / 1e9,
    })
}

impl Sink for LiveViews {
    fn needs(&self) -> Needs {
        Needs {
            state: true,
            tick_ns: Some(250_000_000),
            counted: self.counted,
            ..Needs::default()
        }
    }

    fn event(&mut self, ctx: &Ctx<'_, '_>, how: Handed) -> SinkResult<Flow> {
        for r in &mut self.running {
            r.sink.event(ctx, how)?;
        }
        Ok(Flow::Continue)
    }

    fn tick(&mut self, _ts: u64, _st: &State) -> SinkResult {
        self.requests();
        Ok(())
    }

    fn idle(&mut self, ts: u64, st: &State) -> SinkResult {
        self.requests();
        for r in &mut self.running {
            r.sink.idle(ts, st)?;
        }
        Ok(())
    }
}

/// Sends what the views publish to the server, until the sink is gone.
pub fn start_uploads(rx: Receiver<Upload>, up: Uploader) -> Option<std::thread::JoinHandle<()>> {
    std::thread::Builder::new()
        .name("sonde-live-up".into())
        .spawn(move || {
            let mut warned = false;
            for (id, body) in rx {
                let path = format!("/api/v1/agent/live/{id}");
                if let Err(e) = up.upload(&path, body.to_string().as_bytes()) {
                    // a page that went away: its run ends with its lease
                    if !warned
                        && !matches!(e, sonde_transport::UploadError::Refused { status: 404, .. })
                    {
                        warned = true;
                        eprintln!("sonde agent: live table {id}: {e}");
                    }
                }
            }
        })
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn view(id: &str) -> View {
        let views = sonde_top::run::prepare_views(sonde_top::bundled().unwrap(), false);
        views.into_iter().find(|v| v.id == id).unwrap()
    }

    #[test]
    fn runs_are_bounded_renewed_and_refused_with_reasons() {
        let (mut sink, tx, up) = LiveViews::new();
        let start = |id: &str, scope: &str, ms: u64| Start {
            id: id.into(),
            view: view("procs"),
            scope: scope.into(),
            lease: Duration::from_millis(ms),
        };
        tx.send(start("a", "container.id=abc", 60_000)).unwrap();
        tx.send(start("a", "container.id=abc", 60_000)).unwrap();
        sink.requests();
        assert_eq!(sink.running.len(), 1, "a renewal is the same run");
        tx.send(start("bad", "(((", 1000)).unwrap();
        sink.requests();
        let (id, why) = up.try_recv().unwrap();
        assert_eq!(id, "bad");
        assert_eq!(why["bad_request"], true, "{why}");
        for i in 0..MAX_RUNNING {
            tx.send(start(&format!("r{i}"), "", 60_000)).unwrap();
        }
        sink.requests();
        assert_eq!(sink.running.len(), MAX_RUNNING);
        let (_, why) = up.try_recv().unwrap();
        assert!(why["error"].as_str().unwrap().contains("at most"), "{why}");
        // a lease that passed ends its run
        tx.send(start("short", "", 1)).unwrap();
        sink.running.truncate(1);
        sink.requests();
        std::thread::sleep(Duration::from_millis(5));
        sink.requests();
        assert!(sink.running.iter().all(|r| r.id != "short"));
    }
}
