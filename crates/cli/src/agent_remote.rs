//! The server's requests to `sonde agent`, which come back with the
//! acknowledgements of its batches (the agent only connects out): a
//! flight-recorder capture (`{"kind":"capture","id":ID,"before_ms":N,
//! "after_ms":N}`) is written from the recorder to a temporary file and
//! uploaded to `/api/v1/agent/captures/ID`; a failure is reported to
//! `/api/v1/agent/captures/ID/failed`; a live table (`{"kind":"live",
//! "id":ID,"view":V,"container":C,"duration_ms":N}`) starts or renews a
//! view in the engine's [`crate::agent_live::LiveViews`] sink (a bad view
//! or scope is reported to `/api/v1/agent/live/ID`). Requests of other
//! kinds are ignored (a newer server), once with a message.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use sonde_recorder::RecorderHandle;
use sonde_transport::{CommandQueue, Uploader};

/// The longest capture a server may ask for, before and after.
const MAX_SPAN: Duration = Duration::from_secs(600);

/// A capture request, checked.
#[derive(Debug, PartialEq)]
struct CaptureCmd {
    id: String,
    before: Duration,
    after: Duration,
}

/// The request's id, if it is one the server could have made.
fn valid_id(cmd: &serde_json::Value) -> Option<&str> {
    cmd.get("id").and_then(|v| v.as_str()).filter(|s| {
        !s.is_empty()
            && s.len() <= 64
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    })
}

/// A live-table request, checked.
#[derive(Debug, PartialEq)]
struct LiveCmd {
    id: String,
    view: String,
    /// The scope's filter: `container.id=ID`, or empty (the host).
    scope: String,
    lease: Duration,
}

/// Reads a live request; `Err`: its id (if any) and why it is refused.
fn parse_live(cmd: &serde_json::Value) -> Result<LiveCmd, (Option<String>, String)> {
    let id = valid_id(cmd).ok_or((None, "live request without a valid id".to_string()))?;
    let bad = |m: String| (Some(id.to_string()), m);
    let view = cmd.get("view").and_then(|v| v.as_str()).unwrap_or("");
    let scope = match cmd.get("container") {
        None | Some(serde_json::Value::Null) => String::new(),
        Some(c) => match c.as_str() {
            Some(c)
                if !c.is_empty() && c.len() <= 64 && c.bytes().all(|b| b.is_ascii_hexdigit()) =>
            {
                format!("container.id={c}")
            }
            _ => {
                return Err(bad(format!(
                    "bad scope: container {c} is not a container id"
                )))
            }
        },
    };
    let ms = cmd
        .get("duration_ms")
        .and_then(|v| v.as_u64())
        .unwrap_or(10_000);
    Ok(LiveCmd {
        id: id.to_string(),
        view: view.to_string(),
        scope,
        lease: Duration::from_millis(ms).min(crate::agent_live::MAX_LEASE),
    })
}

/// Reads a request; `Err` says why it is refused (`Ok(None)`: not a capture).
fn parse(cmd: &serde_json::Value) -> Result<Option<CaptureCmd>, String> {
    if cmd.get("kind").and_then(|k| k.as_str()) != Some("capture") {
        return Ok(None);
    }
    let id = valid_id(cmd).ok_or("capture request without a valid id")?;
    let ms = |k: &str| {
        let v = cmd.get(k).and_then(|v| v.as_u64()).unwrap_or(0);
        Duration::from_millis(v).min(MAX_SPAN)
    };
    Ok(Some(CaptureCmd {
        id: id.to_string(),
        before: ms("before_ms"),
        after: ms("after_ms"),
    }))
}

/// Serves the server's requests until `stop`.
pub struct Remote {
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Remote {
    /// Starts the thread that takes requests from `queue` (captures need
    /// the `recorder`, live tables the `live` sink's request channel).
    pub fn start(
        queue: CommandQueue,
        uploader: Uploader,
        recorder: Option<RecorderHandle>,
        live: Option<LiveRequests>,
        tmp: PathBuf,
    ) -> Remote {
        let stop = Arc::new(AtomicBool::new(false));
        let s = stop.clone();
        let thread = std::thread::Builder::new()
            .name("sonde-remote".into())
            .spawn(move || {
                let mut warned = false;
                let mut views: Option<Vec<sonde_top::View>> = None;
                while !s.load(Ordering::Acquire) {
                    let Some(cmd) = queue.next(Duration::from_millis(300)) else {
                        continue;
                    };
                    if cmd.get("kind").and_then(|k| k.as_str()) == Some("live") {
                        live_table(&cmd, live.as_ref(), &mut views, &uploader);
                        continue;
                    }
                    match parse(&cmd) {
                        Ok(Some(c)) => capture(&c, &uploader, recorder.as_ref(), &tmp),
                        Ok(None) if !warned => {
                            warned = true;
                            eprintln!("sonde agent: ignoring a server request of an unknown kind");
                        }
                        Ok(None) => {}
                        Err(e) => eprintln!("sonde agent: {e}"),
                    }
                }
            })
            .ok();
        Remote { stop, thread }
    }
}

impl Drop for Remote {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Release);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// The live sink's request channel.
pub type LiveRequests = std::sync::mpsc::Sender<crate::agent_live::Start>;

/// Starts or renews a live table, or tells the server why not.
fn live_table(
    cmd: &serde_json::Value,
    live: Option<&LiveRequests>,
    views: &mut Option<Vec<sonde_top::View>>,
    up: &Uploader,
) {
    let refuse = |id: &str, msg: &str, bad: bool| {
        let body = crate::agent_live::refusal(msg, bad).to_string();
        if let Err(e) = up.upload(&format!("/api/v1/agent/live/{id}"), body.as_bytes()) {
            eprintln!("sonde agent: live table {id}: {e}");
        }
    };
    let c = match parse_live(cmd) {
        Ok(c) => c,
        Err((Some(id), why)) => return refuse(&id, &why, true),
        Err((None, why)) => return eprintln!("sonde agent: {why}"),
    };
    let Some(live) = live else {
        return refuse(
            &c.id,
            "this agent has no live event stream (sidecar or file)",
            false,
        );
    };
    if views.is_none() {
        match sonde_top::bundled() {
            Ok(v) => *views = Some(sonde_top::run::prepare_views(v, false)),
            Err(e) => return refuse(&c.id, &format!("cannot load the views: {e}"), false),
        }
    }
    let all = views.as_deref().unwrap_or_default();
    let Some(view) = all.iter().find(|v| v.id == c.view) else {
        return refuse(&c.id, &format!("unknown view '{}'", c.view), true);
    };
    let start = crate::agent_live::Start {
        id: c.id,
        view: view.clone(),
        scope: c.scope,
        lease: c.lease,
    };
    let _ = live.send(start);
}

/// Writes the capture and uploads it (or why it failed).
fn capture(c: &CaptureCmd, up: &Uploader, rec: Option<&RecorderHandle>, tmp: &std::path::Path) {
    let path = tmp.join(format!("capture-{}.scap", c.id));
    let written = rec
        .ok_or_else(|| "this agent runs no flight recorder".to_string())
        .and_then(|rec| {
            rec.trigger(c.before, c.after, &path)
                .map_err(|e| e.to_string())
        })
        .and_then(|p| {
            p.wait_timeout(c.after + Duration::from_secs(60))
                .map_err(|e| e.to_string())
        })
        .and_then(|_| std::fs::read(&path).map_err(|e| e.to_string()));
    let _ = std::fs::remove_file(&path);
    let sent = match written {
        Ok(bytes) => up.upload(&format!("/api/v1/agent/captures/{}", c.id), &bytes),
        Err(e) => {
            eprintln!("sonde agent: capture {} failed: {e}", c.id);
            up.upload(
                &format!("/api/v1/agent/captures/{}/failed", c.id),
                e.as_bytes(),
            )
        }
    };
    if let Err(e) = sent {
        eprintln!("sonde agent: capture {}: {e}", c.id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn requests_parse_and_bad_ones_are_refused() {
        let ok = parse(&json!({"kind":"capture","id":"a-1","before_ms":5000,"after_ms":2000}));
        assert_eq!(
            ok.unwrap(),
            Some(CaptureCmd {
                id: "a-1".into(),
                before: Duration::from_secs(5),
                after: Duration::from_secs(2)
            })
        );
        assert_eq!(parse(&json!({"kind":"reboot"})).unwrap(), None);
        for bad in ["../x", "", "a b", &"x".repeat(65)] {
            assert!(
                parse(&json!({"kind":"capture","id":bad})).is_err(),
                "{bad:?}"
            );
        }
        let huge = parse(&json!({"kind":"capture","id":"z","before_ms":u64::MAX}));
        assert_eq!(huge.unwrap().unwrap().before, MAX_SPAN);
    }

    #[test]
    fn live_requests_parse_and_bad_scopes_are_refused() {
        let ok = parse_live(
            &json!({"kind":"live","id":"s1","view":"procs","container":"ab12","duration_ms":5000}),
        );
        assert_eq!(
            ok.unwrap(),
            LiveCmd {
                id: "s1".into(),
                view: "procs".into(),
                scope: "container.id=ab12".into(),
                lease: Duration::from_secs(5)
            }
        );
        let host = parse_live(&json!({"kind":"live","id":"s2","view":"files","container":null}));
        assert_eq!(host.unwrap().scope, "");
        let long =
            parse_live(&json!({"kind":"live","id":"s3","view":"files","duration_ms":u64::MAX}));
        assert_eq!(long.unwrap().lease, crate::agent_live::MAX_LEASE);
        let bad =
            parse_live(&json!({"kind":"live","id":"s4","view":"procs","container":"x or 1=1"}));
        let (id, why) = bad.unwrap_err();
        assert_eq!(id.as_deref(), Some("s4"));
        assert!(why.contains("bad scope"), "{why}");
        assert_eq!(parse_live(&json!({"kind":"live"})).unwrap_err().0, None);
    }
}
