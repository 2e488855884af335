//! A two-shard ClickHouse on loopback for the tests: each shard a
//! `clickhouse-server` child with its own HTTP and TCP ports and data
//! directory under one temporary directory, both in a `remote_servers`
//! cluster named `sonde`. Started as plain children (the pid is the
//! server's), ready once `/ping` answers; SIGTERM on drop. A shard can be
//! SIGKILLed and started again on the same data directory.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use sonde_livetest::free_port;
use sonde_store_clickhouse::{ClickStore, Options};

const SERVER: &str = "/usr/bin/clickhouse-server";
const SERVER_ALT: &str = "/usr/sbin/clickhouse-server";

/// The server binary, or None (a failure under CI=true).
pub fn server_binary() -> Option<&'static str> {
    for b in [SERVER, SERVER_ALT] {
        if Path::new(b).exists() {
            return Some(b);
        }
    }
    if std::env::var("CI").is_ok_and(|v| v == "true") {
        panic!("clickhouse-server is not installed (.ci/install-deps installs it)");
    }
    eprintln!("SKIP: clickhouse-server is not installed");
    None
}

const USERS: &str = r#"<?xml version="1.0"?>
<yandex>
  <profiles><default><max_memory_usage>4000000000</max_memory_usage></default></profiles>
  <users><default><password></password><networks><ip>127.0.0.1</ip><ip>::1</ip></networks>
    <profile>default</profile><quota>default</quota></default></users>
  <quotas><default><interval><duration>3600</duration><queries>0</queries><errors>0</errors>
    <result_rows>0</result_rows><read_rows>0</read_rows><execution_time>0</execution_time>
  </interval></default></quotas>
</yandex>
"#;

/// One shard.
pub struct Shard {
    pub http: u16,
    pub tcp: u16,
    pub dir: PathBuf,
    child: Option<Child>,
}

/// The cluster.
pub struct Cluster {
    pub root: PathBuf,
    pub shards: Vec<Shard>,
    bin: &'static str,
}

impl Cluster {
    /// Starts `n` shards, or None when ClickHouse is missing outside CI.
    pub fn start(n: usize) -> Option<Cluster> {
        let bin = server_binary()?;
        let root = std::env::temp_dir().join(format!(
            "sonde-ch-{}-{}",
            std::process::id(),
            Instant::now().elapsed().as_nanos() ^ rand_ish()
        ));
        std::fs::create_dir_all(&root).unwrap();
        std::fs::write(root.join("users.xml"), USERS).unwrap();
        let shards: Vec<Shard> = (0..n)
            .map(|i| Shard {
                http: free_port(),
                tcp: free_port(),
                dir: root.join(format!("shard{i}")),
                child: None,
            })
            .collect();
        let mut c = Cluster { root, shards, bin };
        for i in 0..n {
            c.write_config(i);
            c.start_shard(i);
        }
        Some(c)
    }

    fn write_config(&self, i: usize) {
        let s = &self.shards[i];
        std::fs::create_dir_all(s.dir.join("tmp")).unwrap();
        let mut remote = String::new();
        for o in &self.shards {
            remote += &format!(
                "<shard><replica><host>127.0.0.1</host><port>{}</port></replica></shard>",
                o.tcp
            );
        }
        let d = s.dir.display();
        let cfg = format!(
            r#"<?xml version="1.0"?>
<yandex>
  <logger><level>warning</level><log>{d}/server.log</log><errorlog>{d}/error.log</errorlog></logger>
  <listen_host>127.0.0.1</listen_host>
  <http_port>{}</http_port>
  <tcp_port>{}</tcp_port>
  <path>{d}/</path>
  <tmp_path>{d}/tmp/</tmp_path>
  <users_config>{}</users_config>
  <default_profile>default</default_profile>
  <default_database>default</default_database>
  <mark_cache_size>53687091</mark_cache_size>
  <remote_servers><sonde>{remote}</sonde></remote_servers>
</yandex>
"#,
            s.http,
            s.tcp,
            self.root.join("users.xml").display()
        );
        std::fs::write(s.dir.join("config.xml"), cfg).unwrap();
    }

    /// Starts shard `i` (again) on its data directory and waits until it
    /// answers.
    pub fn start_shard(&mut self, i: usize) {
        let s = &mut self.shards[i];
        let out = std::fs::File::create(s.dir.join("stdout.log")).unwrap();
        let child = Command::new(self.bin)
            .arg(format!(
                "--config-file={}",
                s.dir.join("config.xml").display()
            ))
            .current_dir(&s.dir)
            .stdin(Stdio::null())
            .stdout(out.try_clone().unwrap())
            .stderr(out)
            .spawn()
            .expect("clickhouse-server starts");
        s.child = Some(child);
        let url = format!("127.0.0.1:{}", s.http);
        let t0 = Instant::now();
        loop {
            if ping(&url) {
                return;
            }
            if let Some(c) = s.child.as_mut() {
                if let Ok(Some(st)) = c.try_wait() {
                    let log = std::fs::read_to_string(s.dir.join("stdout.log")).unwrap_or_default();
                    let err = std::fs::read_to_string(s.dir.join("error.log")).unwrap_or_default();
                    let tail: Vec<&str> = err.lines().rev().take(20).collect();
                    panic!(
                        "shard {i} (http {}, tcp {}) exited with {st}: {log}\nerror.log ends:\n{}",
                        s.http,
                        s.tcp,
                        tail.into_iter().rev().collect::<Vec<_>>().join("\n")
                    );
                }
            }
            assert!(
                t0.elapsed() < Duration::from_secs(60),
                "shard {i} not ready in 60 s"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// SIGKILLs shard `i`.
    pub fn kill_shard(&mut self, i: usize) {
        if let Some(mut c) = self.shards[i].child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// Shard `i`'s server pid.
    pub fn pid(&self, i: usize) -> Option<u32> {
        self.shards[i].child.as_ref().map(Child::id)
    }

    /// The shards' HTTP URLs.
    pub fn urls(&self) -> Vec<String> {
        self.shards
            .iter()
            .map(|s| format!("http://127.0.0.1:{}", s.http))
            .collect()
    }

    /// Store options over this cluster.
    pub fn options(&self, database: &str) -> Options {
        Options {
            shards: self.urls(),
            cluster: "sonde".into(),
            database: database.into(),
            timeout: Duration::from_secs(30),
            ..Options::default()
        }
    }

    /// A store over this cluster.
    pub fn store(&self, database: &str) -> ClickStore {
        ClickStore::open(self.options(database)).expect("store opens")
    }
}

fn rand_ish() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0)
}

/// Whether the server at `addr` answers `/ping` with `Ok.`.
fn ping(addr: &str) -> bool {
    use std::io::{Read, Write};
    let Ok(mut s) = std::net::TcpStream::connect(addr) else {
        return false;
    };
    let _ = s.set_read_timeout(Some(Duration::from_secs(2)));
    if s.write_all(b"GET /ping HTTP/1.0\r\nHost: localhost\r\n\r\n")
        .is_err()
    {
        return false;
    }
    let mut buf = String::new();
    let _ = s.read_to_string(&mut buf);
    buf.contains("Ok.")
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let mut kids = Vec::new();
        for s in &mut self.shards {
            if let Some(c) = s.child.take() {
                let _ = Command::new("kill")
                    .args(["-TERM", &c.id().to_string()])
                    .status();
                kids.push(c);
            }
        }
        for mut c in kids {
            let t0 = Instant::now();
            while !matches!(c.try_wait(), Ok(Some(_))) {
                if t0.elapsed() > Duration::from_secs(10) {
                    let _ = c.kill();
                    let _ = c.wait();
                    break;
                }
                std::thread::sleep(Duration::from_millis(50));
            }
        }
        let _ = std::fs::remove_dir_all(&self.root);
    }
}
