//! SIGINT/SIGTERM: stop the engine through its stop handle, so captures
//! and written files end cleanly (a valid file up to the last event).

use std::sync::OnceLock;

use sonde_engine::StopHandle;

static STOP: OnceLock<StopHandle> = OnceLock::new();

extern "C" fn on_signal(_: libc::c_int) {
    if let Some(h) = STOP.get() {
        h.stop();
    }
}

/// Installs the handlers for `stop`. A second signal while stopping kills
/// as usual.
pub fn install(stop: StopHandle) {
    let _ = STOP.set(stop);
    // SAFETY: the handler only reads an initialised OnceLock and stores to
    // an atomic, both async-signal-safe.
    unsafe {
        let mut sa: libc::sigaction = std::mem::zeroed();
        sa.sa_sigaction = on_signal as *const () as usize;
        sa.sa_flags = libc::SA_RESETHAND;
        libc::sigemptyset(&mut sa.sa_mask);
        libc::sigaction(libc::SIGINT, &sa, std::ptr::null_mut());
        libc::sigaction(libc::SIGTERM, &sa, std::ptr::null_mut());
    }
}
