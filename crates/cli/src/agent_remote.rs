//! The server's requests to `sonde agent`, which come back with the
//! acknowledgements of its batches (the agent only connects out): a
//! flight-recorder capture (`{"kind":"capture","id":ID,"before_ms":N,
//! "after_ms":N}`) is written from the recorder to a temporary file and
//! uploaded to `/api/v1/agent/captures/ID`; a failure is reported to
//! `/api/v1/agent/captures/ID/failed`. Requests of other kinds are
//! ignored (a newer server), once with a message.

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

/// Reads a request; `Err` says why it is refused (`Ok(None)`: not a capture).
fn parse(cmd: &serde_json::Value) -> Result<Option<CaptureCmd>, String> {
    if cmd.get("kind").and_then(|k| k.as_str()) != Some("capture") {
        return Ok(None);
    }
    let id = cmd
        .get("id")
        .and_then(|v| v.as_str())
        .filter(|s| {
            !s.is_empty()
                && s.len() <= 64
                && s.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        })
        .ok_or("capture request without a valid id")?;
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
    /// Starts the thread that takes requests from `queue`.
    pub fn start(
        queue: CommandQueue,
        uploader: Uploader,
        recorder: RecorderHandle,
        tmp: PathBuf,
    ) -> Remote {
        let stop = Arc::new(AtomicBool::new(false));
        let s = stop.clone();
        let thread = std::thread::Builder::new()
            .name("sonde-remote".into())
            .spawn(move || {
                let mut warned = false;
                while !s.load(Ordering::Acquire) {
                    let Some(cmd) = queue.next(Duration::from_millis(300)) else {
                        continue;
                    };
                    match parse(&cmd) {
                        Ok(Some(c)) => capture(&c, &uploader, &recorder, &tmp),
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

/// Writes the capture and uploads it (or why it failed).
fn capture(c: &CaptureCmd, up: &Uploader, rec: &RecorderHandle, tmp: &std::path::Path) {
    let path = tmp.join(format!("capture-{}.scap", c.id));
    let written = rec
        .trigger(c.before, c.after, &path)
        .and_then(|p| p.wait_timeout(c.after + Duration::from_secs(60)))
        .map_err(|e| e.to_string())
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
}
