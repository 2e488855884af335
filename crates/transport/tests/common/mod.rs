//! Test certificates (a CA, the server's for 127.0.0.1 and localhost, a
//! client's), generated at test time (sonde-livetest), and a collecting store.
#![allow(dead_code)]

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use sonde_transport::{Batch, Ingest, Token};

/// Certificates for a test.
pub struct Pki {
    /// The CA certificate.
    pub ca: CertificateDer<'static>,
    /// The server's chain and key.
    pub server: (Vec<CertificateDer<'static>>, PrivateKeyDer<'static>),
    /// The client's chain and key.
    pub client: (Vec<CertificateDer<'static>>, PrivateKeyDer<'static>),
}

/// Fresh certificates.
pub fn pki() -> Pki {
    let t = sonde_livetest::test_pki("agent-1");
    let der = |d: Vec<u8>| CertificateDer::from(d);
    let key = |d: Vec<u8>| PrivateKeyDer::Pkcs8(d.into());
    Pki {
        ca: der(t.ca_der),
        server: (vec![der(t.server_der)], key(t.server_key_der)),
        client: (vec![der(t.client_der)], key(t.client_key_der)),
    }
}

/// What a store received: (agent, seq, records).
pub type Got = Arc<Mutex<Vec<(String, u64, Vec<serde_json::Value>)>>>;

/// An ingest accepting `tokens`, collecting into the returned list.
pub fn ingest(tokens: &[&str]) -> (Arc<Ingest>, Got) {
    let got: Got = Arc::default();
    let g = got.clone();
    let ing = Ingest::new(
        tokens.iter().map(|t| Token::new(*t)).collect(),
        move |b: &Batch| {
            g.lock()
                .unwrap()
                .push((b.agent.clone(), b.seq, b.records.clone()));
            Ok(())
        },
    );
    (Arc::new(ing), got)
}

/// A fresh directory path for a test (not created).
pub fn tmpdir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("sonde-transport-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    d
}

/// Waits up to `secs` for `f`.
pub fn wait_for(secs: u64, mut f: impl FnMut() -> bool) -> bool {
    let end = std::time::Instant::now() + std::time::Duration::from_secs(secs);
    while std::time::Instant::now() < end {
        if f() {
            return true;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    f()
}
