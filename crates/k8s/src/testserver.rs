//! Test code only (feature `test-server`): an HTTPS endpoint on 127.0.0.1
//! that serves the Kubernetes API the way kube-apiserver does for the
//! requests sonde and `kubectl get` make: discovery, list (with field
//! selectors, pages of `limit` items with `continue` tokens,
//! `PartialObjectMetadataList` when asked), watch (chunked events from a
//! resourceVersion, bookmarks, `410 Gone` for expired versions, timeouts), bearer-token and client-certificate auth (401),
//! get, create and replace of Leases with the API server's optimistic
//! concurrency (a stale `resourceVersion` gets `409 Conflict`), and
//! injected faults: 403 per resource, hanging responses, dropped watch
//! connections, a competing write landing just before a client's. Objects are built by the tests from the k8s-openapi
//! types, so the JSON has the real shape. Certificates come from rcgen.

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use k8s_openapi::{Metadata, Resource};
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio_rustls::rustls;

pub mod fixture;
mod objects;
use objects::{object, object_route};

/// One resource the server serves.
struct Res {
    name: &'static str,
    kind: &'static str,
    group_version: &'static str,
    namespaced: bool,
}

const RESOURCES: &[Res] = &[
    Res {
        name: "pods",
        kind: "Pod",
        group_version: "v1",
        namespaced: true,
    },
    Res {
        name: "namespaces",
        kind: "Namespace",
        group_version: "v1",
        namespaced: false,
    },
    Res {
        name: "services",
        kind: "Service",
        group_version: "v1",
        namespaced: true,
    },
    Res {
        name: "nodes",
        kind: "Node",
        group_version: "v1",
        namespaced: false,
    },
    Res {
        name: "endpointslices",
        kind: "EndpointSlice",
        group_version: "discovery.k8s.io/v1",
        namespaced: true,
    },
    Res {
        name: "replicationcontrollers",
        kind: "ReplicationController",
        group_version: "v1",
        namespaced: true,
    },
    Res {
        name: "replicasets",
        kind: "ReplicaSet",
        group_version: "apps/v1",
        namespaced: true,
    },
    Res {
        name: "deployments",
        kind: "Deployment",
        group_version: "apps/v1",
        namespaced: true,
    },
    Res {
        name: "daemonsets",
        kind: "DaemonSet",
        group_version: "apps/v1",
        namespaced: true,
    },
    Res {
        name: "statefulsets",
        kind: "StatefulSet",
        group_version: "apps/v1",
        namespaced: true,
    },
    Res {
        name: "jobs",
        kind: "Job",
        group_version: "batch/v1",
        namespaced: true,
    },
    Res {
        name: "cronjobs",
        kind: "CronJob",
        group_version: "batch/v1",
        namespaced: true,
    },
    Res {
        name: "leases",
        kind: "Lease",
        group_version: "coordination.k8s.io/v1",
        namespaced: true,
    },
];

/// A change kept for watches.
struct Change {
    rv: u64,
    res: &'static str,
    kind: &'static str,
    obj: Value,
}

/// The objects and their history.
#[derive(Default)]
struct World {
    rv: u64,
    uid: u64,
    objects: BTreeMap<(&'static str, String, String), Value>,
    log: VecDeque<Change>,
    /// Watches from a version at or before this one get 410 Gone.
    expired_before: u64,
    /// Per resource, the version of its newest change dropped from the
    /// history: an open watch behind it missed a change (410 Gone).
    trimmed: HashMap<&'static str, u64>,
}

/// Faults and settings the tests change while the server runs.
#[derive(Default)]
struct Faults {
    forbid: HashSet<String>,
    token: Option<String>,
    /// A write that lands just before the next create or replace of the
    /// same object (a competing writer winning the race).
    race: Option<(&'static str, String, String, Value)>,
}

struct Inner {
    world: Mutex<World>,
    faults: Mutex<Faults>,
    hang: AtomicBool,
    drops: AtomicU64,
    requests: AtomicU64,
    watches: AtomicU64,
    conflicts: AtomicU64,
    bookmark_every: Duration,
    history: usize,
}

/// How the server starts.
#[derive(Debug, Clone)]
pub struct ServerOptions {
    /// Require `Authorization: Bearer <token>` (or a client certificate).
    pub token: Option<String>,
    /// How often open watches get a bookmark.
    pub bookmark_every: Duration,
    /// Changes kept for watches to resume from (older: 410 Gone).
    pub history: usize,
}

impl Default for ServerOptions {
    fn default() -> Self {
        ServerOptions {
            token: None,
            bookmark_every: Duration::from_millis(500),
            history: 10_000,
        }
    }
}

/// The running endpoint; dropping it stops it.
pub struct Server {
    /// `https://127.0.0.1:PORT`.
    pub url: String,
    /// A directory with `ca.crt`, `client.crt`, `client.key`, `token`
    /// and `kubeconfig` (token auth, the test CA).
    pub dir: PathBuf,
    inner: Arc<Inner>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

fn tmpdir() -> PathBuf {
    static N: AtomicU64 = AtomicU64::new(0);
    let d = std::env::temp_dir().join(format!(
        "sonde-k8s-test-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    ));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).expect("temp dir");
    d
}

/// Certificates: a CA, the server's (127.0.0.1, localhost), a client's.
fn certs(dir: &Path) -> rustls::ServerConfig {
    use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, KeyPair, SanType};
    let ca_key = KeyPair::generate().expect("key");
    let mut p = CertificateParams::new(Vec::<String>::new()).expect("params");
    p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    p.distinguished_name
        .push(DnType::CommonName, "sonde test CA");
    let ca = p.self_signed(&ca_key).expect("ca");
    let key = KeyPair::generate().expect("key");
    let mut p = CertificateParams::new(vec!["localhost".to_string()]).expect("params");
    p.subject_alt_names
        .push(SanType::IpAddress(std::net::IpAddr::from([127, 0, 0, 1])));
    let srv = p.signed_by(&key, &ca, &ca_key).expect("server cert");
    let ckey = KeyPair::generate().expect("key");
    let mut p = CertificateParams::new(Vec::<String>::new()).expect("params");
    p.distinguished_name
        .push(DnType::CommonName, "sonde-client");
    let client = p.signed_by(&ckey, &ca, &ca_key).expect("client cert");
    std::fs::write(dir.join("ca.crt"), ca.pem()).expect("write");
    std::fs::write(dir.join("client.crt"), client.pem()).expect("write");
    std::fs::write(dir.join("client.key"), ckey.serialize_pem()).expect("write");
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut roots = rustls::RootCertStore::empty();
    roots.add(ca.der().clone()).expect("root");
    let verifier = rustls::server::WebPkiClientVerifier::builder_with_provider(
        Arc::new(roots),
        Arc::clone(&provider),
    )
    .allow_unauthenticated()
    .build()
    .expect("verifier");
    let key_der = rustls::pki_types::PrivateKeyDer::Pkcs8(key.serialize_der().into());
    let mut cfg = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("versions")
        .with_client_cert_verifier(verifier)
        .with_single_cert(vec![srv.der().clone()], key_der)
        .expect("server config");
    cfg.alpn_protocols = vec![b"http/1.1".to_vec()];
    cfg
}

impl Server {
    /// Starts the endpoint on a free port of 127.0.0.1.
    pub fn start(opts: ServerOptions) -> Server {
        let dir = tmpdir();
        let tls = Arc::new(certs(&dir));
        let token = opts
            .token
            .clone()
            .unwrap_or_else(|| "sonde-test-token".into());
        std::fs::write(dir.join("token"), &token).expect("write");
        let inner = Arc::new(Inner {
            world: Mutex::new(World::default()),
            faults: Mutex::new(Faults {
                token: opts.token.clone(),
                ..Faults::default()
            }),
            hang: AtomicBool::new(false),
            drops: AtomicU64::new(0),
            requests: AtomicU64::new(0),
            watches: AtomicU64::new(0),
            conflicts: AtomicU64::new(0),
            bookmark_every: opts.bookmark_every,
            history: opts.history.max(1),
        });
        let std_listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        std_listener.set_nonblocking(true).expect("nonblocking");
        let port = std_listener.local_addr().expect("addr").port();
        let url = format!("https://127.0.0.1:{port}");
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let inn = Arc::clone(&inner);
        let thread = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime");
            rt.block_on(async move {
                let listener = TcpListener::from_std(std_listener).expect("listener");
                let acceptor = tokio_rustls::TlsAcceptor::from(tls);
                let accept = async {
                    loop {
                        let Ok((sock, _)) = listener.accept().await else {
                            continue;
                        };
                        let acc = acceptor.clone();
                        let inn = Arc::clone(&inn);
                        tokio::spawn(async move {
                            if let Ok(s) = acc.accept(sock).await {
                                let _ = serve(s, inn).await;
                            }
                        });
                    }
                };
                tokio::select! {
                    _ = accept => {}
                    _ = rx => {}
                }
            });
        });
        let s = Server {
            url,
            dir,
            inner,
            stop: Some(tx),
            thread: Some(thread),
        };
        s.write_kubeconfig();
        s
    }

    fn write_kubeconfig(&self) {
        let d = |f: &str| self.dir.join(f).to_string_lossy().into_owned();
        let doc = json!({
            "apiVersion": "v1", "kind": "Config", "current-context": "test",
            "clusters": [{"name": "test", "cluster": {"server": self.url, "certificate-authority": d("ca.crt")}}],
            "users": [{"name": "test", "user": {"tokenFile": d("token")}}],
            "contexts": [{"name": "test", "context": {"cluster": "test", "user": "test"}}],
        });
        std::fs::write(self.dir.join("kubeconfig"), doc.to_string()).expect("write");
    }

    /// The kubeconfig file (token auth, the test CA).
    pub fn kubeconfig(&self) -> PathBuf {
        self.dir.join("kubeconfig")
    }

    /// Adds or replaces an object (ADDED or MODIFIED for watches); fills
    /// in its uid, namespace (`default`) and resourceVersion.
    pub fn put<
        K: Resource
            + Metadata<Ty = k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta>
            + serde::Serialize,
    >(
        &self,
        obj: &K,
    ) {
        let res = res_of(K::URL_PATH_SEGMENT);
        let mut v = serde_json::to_value(obj).expect("serialize");
        let mut w = self.world();
        w.rv += 1;
        let rv = w.rv;
        let name = obj.metadata().name.clone().unwrap_or_default();
        let ns = if res.namespaced {
            obj.metadata()
                .namespace
                .clone()
                .unwrap_or_else(|| "default".into())
        } else {
            String::new()
        };
        let key = (res.name, ns.clone(), name);
        let old_uid = w.objects.get(&key).map(|o| o["metadata"]["uid"].clone());
        let kind = if old_uid.is_some() {
            "MODIFIED"
        } else {
            "ADDED"
        };
        let uid = match old_uid {
            Some(u) if !u.is_null() => u,
            _ => match &obj.metadata().uid {
                Some(u) => Value::from(u.clone()),
                None => {
                    w.uid += 1;
                    Value::from(format!("{:08x}-0000-4000-8000-{:012x}", w.uid, rv))
                }
            },
        };
        let m = &mut v["metadata"];
        m["uid"] = uid;
        m["resourceVersion"] = Value::from(rv.to_string());
        if res.namespaced {
            m["namespace"] = Value::from(ns);
        }
        w.objects.insert(key, v.clone());
        w.push(rv, res.name, kind, v, self.inner.history);
    }

    /// Deletes an object (DELETED for watches); false when absent.
    pub fn delete<K: Resource>(&self, namespace: &str, name: &str) -> bool {
        let res = res_of(K::URL_PATH_SEGMENT);
        let ns = if res.namespaced { namespace } else { "" };
        let mut w = self.world();
        let Some(mut v) = w
            .objects
            .remove(&(res.name, ns.to_string(), name.to_string()))
        else {
            return false;
        };
        w.rv += 1;
        let rv = w.rv;
        v["metadata"]["resourceVersion"] = Value::from(rv.to_string());
        w.push(rv, res.name, "DELETED", v, self.inner.history);
        true
    }

    fn world(&self) -> std::sync::MutexGuard<'_, World> {
        self.inner
            .world
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Lists and watches of `resource` get 403 Forbidden (or again succeed).
    pub fn forbid(&self, resource: &str, on: bool) {
        let mut f = self
            .inner
            .faults
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if on {
            f.forbid.insert(resource.to_string());
        } else {
            f.forbid.remove(resource);
        }
    }

    /// Every request from now on hangs: read, never answered (or no more).
    pub fn hang(&self, on: bool) {
        self.inner.hang.store(on, Ordering::SeqCst);
    }

    /// Open watch connections are cut (no final chunk, as a dropped link).
    pub fn drop_watches(&self) {
        self.inner.drops.fetch_add(1, Ordering::SeqCst);
    }

    /// Forgets the history: watches resuming from any version before now
    /// get `410 Gone` (as after etcd compaction), then the open ones are cut.
    pub fn expire(&self) {
        let mut w = self.world();
        w.expired_before = w.rv + 1;
        w.log.clear();
        drop(w);
        self.drop_watches();
    }

    /// Requests served so far; watch requests among them.
    pub fn requests(&self) -> (u64, u64) {
        (
            self.inner.requests.load(Ordering::SeqCst),
            self.inner.watches.load(Ordering::SeqCst),
        )
    }

    /// The current resourceVersion.
    pub fn resource_version(&self) -> u64 {
        self.world().rv
    }

    /// Writes refused with `409 Conflict` (stale resourceVersion, or a
    /// create of an existing object).
    pub fn conflicts(&self) -> u64 {
        self.inner.conflicts.load(Ordering::SeqCst)
    }

    /// Just before the next create or replace of the same object, `obj`
    /// is written as by another client (version bumped): that request then
    /// carries a stale resourceVersion, as when two writers race.
    pub fn race_next_write<
        K: Resource
            + Metadata<Ty = k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta>
            + serde::Serialize,
    >(
        &self,
        obj: &K,
    ) {
        let res = res_of(K::URL_PATH_SEGMENT);
        let ns = obj
            .metadata()
            .namespace
            .clone()
            .unwrap_or_else(|| "default".into());
        let name = obj.metadata().name.clone().unwrap_or_default();
        let v = serde_json::to_value(obj).expect("serialize");
        if let Ok(mut f) = self.inner.faults.lock() {
            f.race = Some((res.name, ns, name, v));
        }
    }

    /// An object as the server holds it now.
    pub fn get<K: Resource + serde::de::DeserializeOwned>(
        &self,
        namespace: &str,
        name: &str,
    ) -> Option<K> {
        let res = res_of(K::URL_PATH_SEGMENT);
        let ns = if res.namespaced { namespace } else { "" };
        let w = self.world();
        let v = w
            .objects
            .get(&(res.name, ns.to_string(), name.to_string()))?;
        serde_json::from_value(v.clone()).ok()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.hang(false);
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

impl World {
    fn push(&mut self, rv: u64, res: &'static str, kind: &'static str, obj: Value, history: usize) {
        self.log.push_back(Change { rv, res, kind, obj });
        while self.log.len() > history {
            if let Some(c) = self.log.pop_front() {
                self.expired_before = c.rv + 1;
                self.trimmed.insert(c.res, c.rv);
            }
        }
    }
}

fn res_of(seg: &str) -> &'static Res {
    RESOURCES
        .iter()
        .find(|r| r.name == seg)
        .expect("a resource the test server serves")
}

/// One parsed request.
struct Req {
    method: String,
    body: Vec<u8>,
    path: String,
    query: BTreeMap<String, String>,
    headers: BTreeMap<String, String>,
}

fn pct_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'%' if i + 2 < b.len() => {
                let h = std::str::from_utf8(&b[i + 1..i + 3]).ok();
                match h.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                    Some(c) => {
                        out.push(c);
                        i += 3;
                        continue;
                    }
                    None => out.push(b'%'),
                }
            }
            b'+' => out.push(b' '),
            c => out.push(c),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn parse_req(head: &str) -> Option<Req> {
    let mut lines = head.split("\r\n");
    let first = lines.next()?;
    let mut parts = first.split(' ');
    let method = parts.next()?.to_string();
    let target = parts.next()?;
    let (path, q) = target.split_once('?').unwrap_or((target, ""));
    let query = q
        .split('&')
        .filter(|s| !s.is_empty())
        .map(|kv| {
            let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
            (pct_decode(k), pct_decode(v))
        })
        .collect();
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    Some(Req {
        method,
        body: Vec::new(),
        path: path.to_string(),
        query,
        headers,
    })
}

type Tls = tokio_rustls::server::TlsStream<tokio::net::TcpStream>;

async fn serve(mut s: Tls, inn: Arc<Inner>) -> std::io::Result<()> {
    let client_cert = s
        .get_ref()
        .1
        .peer_certificates()
        .is_some_and(|c| !c.is_empty());
    let mut buf = Vec::new();
    loop {
        let head = loop {
            if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                let head = String::from_utf8_lossy(&buf[..i]).into_owned();
                buf.drain(..i + 4);
                break head;
            }
            let mut chunk = [0u8; 4096];
            let n = s.read(&mut chunk).await?;
            if n == 0 {
                return Ok(());
            }
            buf.extend_from_slice(&chunk[..n]);
        };
        let Some(mut req) = parse_req(&head) else {
            return Ok(());
        };
        let len = req
            .headers
            .get("content-length")
            .and_then(|l| l.parse::<usize>().ok())
            .unwrap_or(0);
        while buf.len() < len {
            let mut chunk = [0u8; 4096];
            let n = s.read(&mut chunk).await?;
            if n == 0 {
                return Ok(());
            }
            buf.extend_from_slice(&chunk[..n]);
        }
        req.body = buf.drain(..len).collect();
        inn.requests.fetch_add(1, Ordering::SeqCst);
        if inn.hang.load(Ordering::SeqCst) {
            // read, never answered, until the hang ends
            while inn.hang.load(Ordering::SeqCst) {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            return Ok(());
        }
        if !respond(&mut s, &inn, &req, client_cert).await? {
            return Ok(());
        }
    }
}

async fn send(s: &mut Tls, code: u16, body: &Value) -> std::io::Result<bool> {
    let text = body.to_string();
    let reason = match code {
        200 => "OK",
        201 => "Created",
        400 => "Bad Request",
        409 => "Conflict",
        401 => "Unauthorized",
        403 => "Forbidden",
        405 => "Method Not Allowed",
        _ => "Not Found",
    };
    let head = format!(
        "HTTP/1.1 {code} {reason}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
        text.len()
    );
    s.write_all(head.as_bytes()).await?;
    s.write_all(text.as_bytes()).await?;
    s.flush().await?;
    Ok(true)
}

fn status(code: u16, reason: &str, message: &str, kind: &str) -> Value {
    json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
        "message": message, "reason": reason, "details": {"kind": kind}, "code": code})
}

/// Answers one request; false when the connection must close.
async fn respond(
    s: &mut Tls,
    inn: &Arc<Inner>,
    req: &Req,
    client_cert: bool,
) -> std::io::Result<bool> {
    let token = inn.faults.lock().ok().and_then(|f| f.token.clone());
    if let Some(t) = token {
        let ok = req
            .headers
            .get("authorization")
            .is_some_and(|a| *a == format!("Bearer {t}"));
        if !ok && !client_cert {
            return send(s, 401, &status(401, "Unauthorized", "Unauthorized", "")).await;
        }
    }
    if let Some(d) = discovery(&req.path, &s.get_ref().0.local_addr()?) {
        return send(s, 200, &d).await;
    }
    if let Some(r) = object_route(&req.path) {
        return object(s, inn, req, r).await;
    }
    let Some((res, ns)) = route(&req.path) else {
        return send(
            s,
            404,
            &status(
                404,
                "NotFound",
                "the server could not find the requested resource",
                "",
            ),
        )
        .await;
    };
    let forbidden = inn.faults.lock().is_ok_and(|f| f.forbid.contains(res.name));
    if forbidden {
        let (verb, scope) = if req
            .query
            .get("watch")
            .is_some_and(|w| w == "true" || w == "1")
        {
            ("watch", "at the cluster scope")
        } else {
            ("list", "at the cluster scope")
        };
        let msg = format!(
            "{} is forbidden: User \"system:serviceaccount:sonde:sonde\" cannot {verb} resource \"{}\" in API group \"{}\" {scope}",
            res.name,
            res.name,
            res.group_version.split_once('/').map_or("", |(g, _)| g)
        );
        return send(s, 403, &status(403, "Forbidden", &msg, res.name)).await;
    }
    let meta_only = req
        .headers
        .get("accept")
        .is_some_and(|a| a.contains("as=PartialObjectMetadata"));
    let sel = req.query.get("fieldSelector").cloned().unwrap_or_default();
    let filter = Filter::new(ns, &sel);
    if req
        .query
        .get("watch")
        .is_some_and(|w| w == "true" || w == "1")
    {
        inn.watches.fetch_add(1, Ordering::SeqCst);
        watch(s, inn, res, &filter, req, meta_only).await?;
        return Ok(false);
    }
    // pages as kube-apiserver serves them: `limit` items, then a
    // `continue` token (the first page's version and the last key sent)
    let limit = req
        .query
        .get("limit")
        .and_then(|l| l.parse::<usize>().ok())
        .filter(|&l| l > 0)
        .unwrap_or(usize::MAX);
    let token = req.query.get("continue").and_then(|c| {
        let mut it = c.splitn(3, '/');
        let rv: u64 = it.next()?.parse().ok()?;
        Some((rv, it.next()?.to_string(), it.next()?.to_string()))
    });
    let (rv, items, next) = {
        let w = inn
            .world
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let after = token
            .as_ref()
            .map(|(_, ns, name)| (ns.as_str(), name.as_str()));
        let mut page: Vec<(&(&'static str, String, String), &Value)> = w
            .objects
            .iter()
            .filter(|((r, ns, name), v)| {
                *r == res.name
                    && !after.is_some_and(|a| (ns.as_str(), name.as_str()) <= a)
                    && filter.matches(v)
            })
            .take(limit.saturating_add(1))
            .collect();
        let rv = token.as_ref().map_or(w.rv, |t| t.0);
        let next = (page.len() > limit).then(|| {
            page.truncate(limit);
            let (_, ns, name) = page[limit - 1].0;
            format!("{rv}/{ns}/{name}")
        });
        let items: Vec<Value> = page
            .into_iter()
            .map(|(_, v)| if meta_only { partial(v) } else { v.clone() })
            .collect();
        (rv, items, next)
    };
    let (api, kind) = if meta_only {
        (
            "meta.k8s.io/v1".to_string(),
            "PartialObjectMetadataList".to_string(),
        )
    } else {
        (res.group_version.to_string(), format!("{}List", res.kind))
    };
    let mut body = json!({"apiVersion": api, "kind": kind, "metadata": {"resourceVersion": rv.to_string()}, "items": items});
    if let Some(c) = next {
        body["metadata"]["continue"] = Value::from(c);
    }
    send(s, 200, &body).await
}

/// A namespace and a field selector (`spec.nodeName`, `metadata.name`,
/// `metadata.namespace`; `=`, `==` and `!=`).
struct Filter {
    ns: Option<String>,
    terms: Vec<(String, bool, String)>,
}

impl Filter {
    fn new(ns: Option<String>, sel: &str) -> Filter {
        let terms = sel
            .split(',')
            .filter(|t| !t.is_empty())
            .filter_map(|t| {
                if let Some((k, v)) = t.split_once("!=") {
                    return Some((k.to_string(), false, v.to_string()));
                }
                let (k, v) = t.split_once("==").or_else(|| t.split_once('='))?;
                Some((k.to_string(), true, v.to_string()))
            })
            .collect();
        Filter { ns, terms }
    }

    fn matches(&self, v: &Value) -> bool {
        if let Some(ns) = &self.ns {
            if v["metadata"]["namespace"].as_str() != Some(ns.as_str()) {
                return false;
            }
        }
        self.terms.iter().all(|(k, eq, want)| {
            let mut cur = v;
            for part in k.split('.') {
                cur = &cur[part];
            }
            let got = cur.as_str().unwrap_or("");
            (got == want) == *eq
        })
    }
}

/// The `PartialObjectMetadata` form of an object.
fn partial(v: &Value) -> Value {
    json!({"apiVersion": "meta.k8s.io/v1", "kind": "PartialObjectMetadata", "metadata": v["metadata"].clone()})
}

async fn chunk(s: &mut Tls, v: &Value) -> std::io::Result<()> {
    let mut text = v.to_string();
    text.push('\n');
    s.write_all(format!("{:x}\r\n", text.len()).as_bytes())
        .await?;
    s.write_all(text.as_bytes()).await?;
    s.write_all(b"\r\n").await?;
    s.flush().await
}

/// A watch: events after `resourceVersion`, bookmarks, 410 for expired
/// versions, the end at `timeoutSeconds`, a cut when the test drops it.
async fn watch(
    s: &mut Tls,
    inn: &Arc<Inner>,
    res: &'static Res,
    filter: &Filter,
    req: &Req,
    meta_only: bool,
) -> std::io::Result<()> {
    let head =
        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n";
    s.write_all(head.as_bytes()).await?;
    let mut from: u64 = req
        .query
        .get("resourceVersion")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let bookmarks = req
        .query
        .get("allowWatchBookmarks")
        .is_some_and(|b| b == "true");
    let timeout = req
        .query
        .get("timeoutSeconds")
        .and_then(|t| t.parse().ok())
        .unwrap_or(290u64);
    let end = Instant::now() + Duration::from_secs(timeout);
    let drops = inn.drops.load(Ordering::SeqCst);
    let mut last_bookmark = Instant::now();
    let expired = {
        let w = inn
            .world
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if from == 0 {
            from = w.rv;
        }
        (from + 1 < w.expired_before).then(|| {
            format!(
                "too old resource version: {from} ({})",
                w.expired_before - 1
            )
        })
    };
    if let Some(msg) = expired {
        let st = status(410, "Expired", &msg, "");
        chunk(s, &json!({"type": "ERROR", "object": st})).await?;
        s.write_all(b"0\r\n\r\n").await?;
        return s.flush().await;
    }
    loop {
        if inn.drops.load(Ordering::SeqCst) != drops {
            // cut: no final chunk
            return Ok(());
        }
        if Instant::now() >= end {
            s.write_all(b"0\r\n\r\n").await?;
            return s.flush().await;
        }
        let (events, rv) = {
            let w = inn
                .world
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            if w.trimmed.get(res.name).is_some_and(|&t| t > from) {
                (Vec::new(), None)
            } else {
                let ev: Vec<Value> = w
                    .log
                    .iter()
                    .filter(|c| c.rv > from && c.res == res.name && filter.matches(&c.obj))
                    .map(|c| {
                        let o = if meta_only {
                            partial(&c.obj)
                        } else {
                            c.obj.clone()
                        };
                        json!({"type": c.kind, "object": o})
                    })
                    .collect();
                (ev, Some(w.rv))
            }
        };
        let Some(rv) = rv else {
            // the watch fell behind the kept history and a change of its
            // own was dropped: as the API server does, end it with 410
            // Gone instead of skipping that change
            let st = status(
                410,
                "Expired",
                &format!("too old resource version: {from}"),
                "",
            );
            chunk(s, &json!({"type": "ERROR", "object": st})).await?;
            s.write_all(b"0\r\n\r\n").await?;
            return s.flush().await;
        };
        for e in &events {
            chunk(s, e).await?;
        }
        from = rv;
        if bookmarks && last_bookmark.elapsed() >= inn.bookmark_every {
            last_bookmark = Instant::now();
            let (api, kind) = if meta_only {
                ("meta.k8s.io/v1", "PartialObjectMetadata")
            } else {
                (res.group_version, res.kind)
            };
            let b = json!({"type": "BOOKMARK", "object": {"apiVersion": api, "kind": kind,
                "metadata": {"resourceVersion": rv.to_string(),
                    "annotations": {"k8s.io/initial-events-end": "true"}}}});
            chunk(s, &b).await?;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// `/api/v1/pods`, `/api/v1/namespaces/NS/pods`, `/apis/apps/v1/...`,
/// `/apis/batch/v1/...`, `/apis/discovery.k8s.io/v1/...`.
fn route(path: &str) -> Option<(&'static Res, Option<String>)> {
    let rest = path
        .strip_prefix("/api/v1/")
        .map(|r| ("v1", r))
        .or_else(|| path.strip_prefix("/apis/apps/v1/").map(|r| ("apps/v1", r)))
        .or_else(|| {
            path.strip_prefix("/apis/batch/v1/")
                .map(|r| ("batch/v1", r))
        })
        .or_else(|| {
            path.strip_prefix("/apis/discovery.k8s.io/v1/")
                .map(|r| ("discovery.k8s.io/v1", r))
        })
        .or_else(|| {
            path.strip_prefix("/apis/coordination.k8s.io/v1/")
                .map(|r| ("coordination.k8s.io/v1", r))
        });
    let (gv, rest) = rest?;
    let parts: Vec<&str> = rest.split('/').collect();
    let (name, ns) = match parts.as_slice() {
        [r] => (*r, None),
        ["namespaces", ns, r] => (*r, Some((*ns).to_string())),
        _ => return None,
    };
    let res = RESOURCES
        .iter()
        .find(|r| r.name == name && r.group_version == gv)?;
    Some((res, ns))
}

/// Discovery documents (`/api`, `/apis`, `/api/v1`, `/apis/G/V`, `/version`).
fn discovery(path: &str, addr: &std::net::SocketAddr) -> Option<Value> {
    let gv_list = |gv: &str| {
        let resources: Vec<Value> = RESOURCES
            .iter()
            .filter(|r| r.group_version == gv)
            .map(|r| {
                json!({"name": r.name, "singularName": r.kind.to_ascii_lowercase(), "namespaced": r.namespaced,
                    "kind": r.kind, "verbs": ["get", "list", "watch", "create", "update"]})
            })
            .collect();
        json!({"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": gv, "resources": resources})
    };
    let group = |g: &str| {
        json!({"name": g, "versions": [{"groupVersion": format!("{g}/v1"), "version": "v1"}],
            "preferredVersion": {"groupVersion": format!("{g}/v1"), "version": "v1"}})
    };
    Some(match path {
        "/api" => json!({"kind": "APIVersions", "versions": ["v1"],
            "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": addr.to_string()}]}),
        "/apis" => {
            json!({"kind": "APIGroupList", "apiVersion": "v1", "groups": [group("apps"), group("batch"), group("discovery.k8s.io"), group("coordination.k8s.io")]})
        }
        "/api/v1" => gv_list("v1"),
        "/apis/apps/v1" => gv_list("apps/v1"),
        "/apis/batch/v1" => gv_list("batch/v1"),
        "/apis/discovery.k8s.io/v1" => gv_list("discovery.k8s.io/v1"),
        "/apis/coordination.k8s.io/v1" => gv_list("coordination.k8s.io/v1"),
        "/version" => json!({"major": "1", "minor": "31", "gitVersion": "v1.31.0-sonde-test",
            "platform": "linux/amd64"}),
        _ => return None,
    })
}
