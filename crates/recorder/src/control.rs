//! The recorder's local control socket: how `sonde agent capture` on the
//! host asks the running agent for a capture. A unix stream socket under
//! `/run/sonde/` (directory 0700, socket 0600, peers checked to be root);
//! one request per connection, one JSON line each way:
//!
//! ```text
//! -> {"before_ms":10000,"after_ms":5000,"path":"/abs/file.scap"}
//! <- {"ok":{"path":"/abs/file.scap","events":1234,...}}   or   {"error":"..."}
//! ```

use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::{CaptureReport, RecorderError, RecorderHandle};

/// Where the agent listens unless told otherwise.
pub const DEFAULT_SOCKET: &str = "/run/sonde/agent.sock";

/// Longest request or answer line accepted.
const MAX_LINE: u64 = 64 << 10;

/// Time a capture may take beyond its `after`, before the server answers
/// with a timeout.
const SLACK: Duration = Duration::from_secs(60);

/// A capture request on the socket.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CaptureRequest {
    /// Window before the trigger, in milliseconds.
    pub before_ms: u64,
    /// Time after the trigger, in milliseconds.
    pub after_ms: u64,
    /// The file to write (absolute: the agent's working directory is not
    /// the caller's).
    pub path: PathBuf,
}

/// The answer on the socket.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
enum Answer {
    Ok(CaptureReport),
    Error(String),
}

/// The serving side: a thread accepting requests and passing them to a
/// [`RecorderHandle`]. Dropping it stops the thread and removes the socket.
pub struct ControlServer {
    path: PathBuf,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

fn sock_err(path: &Path) -> impl Fn(std::io::Error) -> RecorderError + '_ {
    move |source| RecorderError::Socket {
        path: path.to_path_buf(),
        source,
    }
}

impl ControlServer {
    /// Listens on `path` (its directory is created 0700 when missing; a
    /// stale socket there is replaced) and serves captures from `handle`.
    pub fn start(path: &Path, handle: RecorderHandle) -> Result<ControlServer, RecorderError> {
        let e = sock_err(path);
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            if !dir.exists() {
                std::fs::DirBuilder::new()
                    .recursive(true)
                    .mode(0o700)
                    .create(dir)
                    .map_err(&e)?;
            }
        }
        if path.exists() {
            // a live agent answers; a stale socket from a dead one does not
            if UnixStream::connect(path).is_ok() {
                return Err(e(std::io::Error::new(
                    std::io::ErrorKind::AddrInUse,
                    "another agent is listening",
                )));
            }
            std::fs::remove_file(path).map_err(&e)?;
        }
        let listener = UnixListener::bind(path).map_err(&e)?;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).map_err(&e)?;
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let thread = std::thread::Builder::new()
            .name("sonde-recorder-ctl".into())
            .spawn(move || {
                for conn in listener.incoming() {
                    if flag.load(Ordering::Acquire) {
                        break;
                    }
                    let Ok(conn) = conn else { continue };
                    let h = handle.clone();
                    std::thread::spawn(move || serve(conn, &h));
                }
            })
            .map_err(&e)?;
        Ok(ControlServer {
            path: path.to_path_buf(),
            stop,
            thread: Some(thread),
        })
    }

    /// The socket's path.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for ControlServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Release);
        // wake the accept loop
        let _ = UnixStream::connect(&self.path);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
        let _ = std::fs::remove_file(&self.path);
    }
}

/// The uid of the process at the other end of `conn`.
fn peer_uid(conn: &UnixStream) -> Option<u32> {
    use std::os::unix::io::AsRawFd;
    let mut cred = libc::ucred {
        pid: 0,
        uid: u32::MAX,
        gid: u32::MAX,
    };
    let mut len = std::mem::size_of::<libc::ucred>() as libc::socklen_t;
    // SAFETY: getsockopt writes at most `len` bytes into `cred`.
    let rc = unsafe {
        libc::getsockopt(
            conn.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_PEERCRED,
            (&mut cred as *mut libc::ucred).cast(),
            &mut len,
        )
    };
    (rc == 0).then_some(cred.uid)
}

fn serve(conn: UnixStream, handle: &RecorderHandle) {
    let answer = match answer(&conn, handle) {
        Ok(r) => Answer::Ok(r),
        Err(e) => Answer::Error(e.to_string()),
    };
    if let Ok(mut line) = serde_json::to_vec(&answer) {
        line.push(b'\n');
        let mut c = &conn;
        let _ = c.write_all(&line);
    }
}

fn answer(conn: &UnixStream, handle: &RecorderHandle) -> Result<CaptureReport, RecorderError> {
    if peer_uid(conn) != Some(0) {
        return Err(RecorderError::Protocol(
            "permission denied: root only".into(),
        ));
    }
    let _ = conn.set_read_timeout(Some(Duration::from_secs(10)));
    let mut line = String::new();
    BufReader::new(conn.take(MAX_LINE))
        .read_line(&mut line)
        .map_err(|e| RecorderError::Protocol(format!("cannot read the request: {e}")))?;
    let req: CaptureRequest = serde_json::from_str(line.trim())
        .map_err(|e| RecorderError::Protocol(format!("bad request: {e}")))?;
    if !req.path.is_absolute() {
        return Err(RecorderError::Protocol(format!(
            "the path must be absolute: '{}'",
            req.path.display()
        )));
    }
    let after = Duration::from_millis(req.after_ms);
    handle
        .trigger(Duration::from_millis(req.before_ms), after, req.path)?
        .wait_timeout(after + SLACK)
}

/// The client side, for `sonde agent capture --before B --after A -w FILE`:
/// asks the agent listening on `socket` for a capture and waits for it. A
/// relative `path` is taken from the caller's working directory.
pub fn request_capture(
    socket: &Path,
    before: Duration,
    after: Duration,
    path: &Path,
) -> Result<CaptureReport, RecorderError> {
    let path = if path.is_absolute() {
        path.to_path_buf()
    } else {
        std::env::current_dir()
            .map_err(|e| RecorderError::Write {
                path: path.to_path_buf(),
                source: e,
            })?
            .join(path)
    };
    let req = CaptureRequest {
        before_ms: u64::try_from(before.as_millis()).unwrap_or(u64::MAX),
        after_ms: u64::try_from(after.as_millis()).unwrap_or(u64::MAX),
        path,
    };
    let e = sock_err(socket);
    let mut conn = UnixStream::connect(socket).map_err(&e)?;
    conn.set_read_timeout(Some(after + SLACK + Duration::from_secs(5)))
        .map_err(&e)?;
    let mut line = serde_json::to_vec(&req).map_err(|x| RecorderError::Protocol(x.to_string()))?;
    line.push(b'\n');
    conn.write_all(&line).map_err(&e)?;
    let mut back = String::new();
    BufReader::new((&conn).take(MAX_LINE))
        .read_line(&mut back)
        .map_err(&e)?;
    match serde_json::from_str::<Answer>(back.trim()) {
        Ok(Answer::Ok(r)) => Ok(r),
        Ok(Answer::Error(m)) => Err(RecorderError::Protocol(m)),
        Err(x) => Err(RecorderError::Protocol(format!(
            "bad answer from the agent: {x}"
        ))),
    }
}
