//! The case generator of the differential test: fields from the registry
//! (every field sysdig 0.29.3 has that sonde extracts), operators valid for
//! each field's type, values sampled from each trace by sonde itself
//! (names, paths, ports, addresses, numbers) plus edges and near misses.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

use sonde_fields::registry::{fields, flags, FieldType};

/// splitmix64: small, seeded, deterministic.
pub struct Rng(u64);

impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    pub fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
    pub fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }
    pub fn pick<'a, T>(&mut self, v: &'a [T]) -> &'a T {
        &v[self.below(v.len())]
    }
}

/// One run to compare.
pub struct Case {
    pub trace: PathBuf,
    pub args: Vec<String>,
}

impl Case {
    /// `("filter", filter text)` or `("format", format text)`.
    pub fn subject(&self) -> (&'static str, &str) {
        let last = self.args.last().map(String::as_str).unwrap_or("");
        if self.args.len() >= 3 && self.args[self.args.len() - 2] != "-p" {
            ("filter", last)
        } else {
            ("format", last)
        }
    }

    /// As a command line, for reports.
    pub fn describe(&self) -> String {
        let name = self.trace.file_name().unwrap_or_default().to_string_lossy();
        let args: Vec<String> = self.args.iter().map(|a| format!("'{a}'")).collect();
        format!("-r {name} {}", args.join(" "))
    }
}

/// A field the generator may use, with the name to write (arguments
/// filled in) and its type.
#[derive(Clone)]
struct Usable {
    name: String,
    ty: FieldType,
    /// Only valid in filters (not in `-p`).
    filter_only: bool,
    /// The field whose printed values stand for this one's.
    values_from: String,
}

/// Arguments tried for fields that take one.
const INDEX_ARGS: &[&str] = &["0", "1", "2"];
const KEY_ARGS: &[&str] = &["fd", "res", "name", "size", "data", "tid", "flags", "path"];

fn usable_fields() -> Vec<Usable> {
    let mut v = Vec::new();
    for f in fields() {
        if f.has(flags::NEWER) || !f.extracted() || f.ty == FieldType::Dynamic {
            continue;
        }
        // plugin, mesos, span and k8s API fields: no data in the traces
        if ["evt.plugin", "mesos.", "marathon.", "span.", "evtin."]
            .iter()
            .any(|p| f.name.starts_with(p))
        {
            continue;
        }
        let filter_only = f.has(flags::FILTER_ONLY);
        let mut names = Vec::new();
        if f.has(flags::ARG_REQUIRED) || (f.takes_arg() && f.name.ends_with(".arg")) {
            if f.has(flags::ARG_INDEX) {
                names.extend(INDEX_ARGS.iter().map(|a| format!("{}[{a}]", f.name)));
            }
            if f.has(flags::ARG_DOT) {
                names.extend(KEY_ARGS.iter().map(|a| format!("{}.{a}", f.name)));
            }
            if f.has(flags::ARG_KEY) && !f.has(flags::ARG_DOT) {
                names.extend(KEY_ARGS.iter().take(3).map(|a| format!("{}[{a}]", f.name)));
            }
        } else {
            names.push(f.name.to_string());
        }
        for name in names {
            let values_from = match f.name {
                "fd.ip" => "fd.cip",
                "fd.port" => "fd.sport",
                "fd.net" | "fd.cnet" => "fd.cip",
                "fd.snet" => "fd.sip",
                "fd.proto" => "fd.l4proto",
                _ => &name,
            }
            .to_string();
            v.push(Usable {
                name,
                ty: f.ty,
                filter_only,
                values_from,
            });
        }
    }
    v
}

/// Values sonde prints for each field on one trace (at most 40 each).
type Samples = BTreeMap<String, Vec<String>>;

fn sample(sonde: &str, trace: &Path, fields: &[Usable]) -> Samples {
    let mut out = Samples::new();
    let printable: Vec<&Usable> = fields.iter().filter(|f| !f.filter_only).collect();
    for chunk in printable.chunks(24) {
        let fmt: Vec<String> = chunk.iter().map(|f| format!("%{}", f.name)).collect();
        let fmt = format!("*{}", fmt.join("\u{1f}"));
        let o = Command::new(sonde)
            .env("TZ", "UTC")
            .arg("-r")
            .arg(trace)
            .args(["-p", &fmt])
            .output()
            .expect("run sonde");
        let text = String::from_utf8_lossy(&o.stdout);
        let mut seen: Vec<BTreeSet<String>> = vec![BTreeSet::new(); chunk.len()];
        for line in text.lines() {
            for (i, v) in line.split('\u{1f}').enumerate() {
                if i < chunk.len() && seen[i].len() < 40 && usable_value(v) {
                    seen[i].insert(v.to_string());
                }
            }
        }
        for (f, s) in chunk.iter().zip(seen) {
            out.insert(f.name.clone(), s.into_iter().collect());
        }
    }
    out
}

/// Values a filter can quote as they are.
fn usable_value(v: &str) -> bool {
    !v.is_empty()
        && v != "<NA>"
        && v.len() <= 120
        && v.chars().all(|c| c.is_ascii_graphic() || c == ' ')
        && !v.contains(['"', '\'', '\\', '(', ')'])
}

/// The generator: per trace, the samples; fields shared.
pub struct Gen {
    rng: Rng,
    fields: Vec<Usable>,
    traces: Vec<(PathBuf, Samples)>,
}

const NUM_OPS: &[&str] = &["=", "!=", "<", "<=", ">", ">=", "in", "exists"];
const STR_OPS: &[&str] = &[
    "=",
    "!=",
    "contains",
    "icontains",
    "startswith",
    "endswith",
    "glob",
    "in",
    "exists",
];
const PATH_OPS: &[&str] = &[
    "=",
    "!=",
    "contains",
    "startswith",
    "endswith",
    "glob",
    "pmatch",
];
const BOOL_OPS: &[&str] = &["=", "!=", "exists"];
const IP_OPS: &[&str] = &["=", "!=", "in", "exists"];
const BUF_OPS: &[&str] = &["=", "!=", "contains", "startswith", "exists"];

impl Gen {
    /// Samples every trace (one sonde run per 24 fields per trace).
    pub fn new(seed: u64, traces: &[PathBuf], sonde: &str) -> Gen {
        let fields = usable_fields();
        let traces = traces
            .iter()
            .map(|t| (t.clone(), sample(sonde, t, &fields)))
            .collect();
        Gen {
            rng: Rng(seed),
            fields,
            traces,
        }
    }

    fn values(&self, t: usize, f: &Usable) -> &[String] {
        self.traces[t]
            .1
            .get(&f.values_from)
            .map(Vec::as_slice)
            .unwrap_or(&[])
    }

    /// One filter case, on trace `i % traces`.
    pub fn filter_case(&mut self, i: usize) -> Case {
        let t = i % self.traces.len();
        let n = if self.rng.chance(30) {
            2 + self.rng.below(2)
        } else {
            1
        };
        let mut parts = Vec::new();
        for _ in 0..n {
            let mut c = self.comparison(t);
            if self.rng.chance(15) {
                c = format!("not {c}");
            }
            parts.push(c);
        }
        let mut text = parts[0].clone();
        for p in &parts[1..] {
            let op = if self.rng.chance(50) { "and" } else { "or" };
            text = if self.rng.chance(30) {
                format!("({text}) {op} {p}")
            } else {
                format!("{text} {op} {p}")
            };
        }
        Case {
            trace: self.traces[t].0.clone(),
            args: vec!["-p".into(), "%evt.num".into(), text],
        }
    }

    /// `field op value`, with a value the trace has (usually).
    fn comparison(&mut self, t: usize) -> String {
        let f = loop {
            let f = self.rng.pick(&self.fields).clone();
            // most picks use fields the trace has values for
            if !self.values(t, &f).is_empty() || self.rng.chance(10) {
                break f;
            }
        };
        let ops = match f.ty {
            FieldType::Charbuf => STR_OPS,
            FieldType::FsPath => PATH_OPS,
            FieldType::Bool => BOOL_OPS,
            FieldType::IpAddr => IP_OPS,
            FieldType::IpNet => &["=", "!="][..],
            FieldType::Bytebuf => BUF_OPS,
            _ => NUM_OPS,
        };
        let op = *self.rng.pick(ops);
        if op == "exists" {
            return format!("{} exists", f.name);
        }
        let vals = self.values(t, &f).to_vec();
        if op == "in" || op == "pmatch" {
            let k = 1 + self.rng.below(3);
            let list: Vec<String> = (0..k).map(|_| self.value(&f, &vals, "=")).collect();
            return format!("{} {op} ({})", f.name, list.join(", "));
        }
        let v = self.value(&f, &vals, op);
        format!("{} {op} {v}", f.name)
    }

    /// A value for `f` under `op`: sampled, derived or an edge.
    fn value(&mut self, f: &Usable, vals: &[String], op: &str) -> String {
        let numeric = !matches!(
            f.ty,
            FieldType::Charbuf
                | FieldType::FsPath
                | FieldType::Bytebuf
                | FieldType::IpAddr
                | FieldType::IpNet
                | FieldType::Bool
        );
        let base = if vals.is_empty() || self.rng.chance(8) {
            None
        } else {
            Some(self.rng.pick(vals).clone())
        };
        if f.ty == FieldType::Bool {
            return if self.rng.chance(50) { "true" } else { "false" }.into();
        }
        if f.ty == FieldType::IpNet || f.name.starts_with("fd.net") || f.name.ends_with("net") {
            let ip = base.unwrap_or_else(|| "127.0.0.1".into());
            return match ip.parse::<std::net::Ipv4Addr>() {
                Ok(a) => {
                    let o = a.octets();
                    format!("{}.{}.{}.0/{}", o[0], o[1], o[2], 24)
                }
                Err(_) => ip,
            };
        }
        if numeric {
            let n: i64 = base.and_then(|b| b.trim().parse().ok()).unwrap_or(0);
            return match self.rng.below(6) {
                0 => (n + 1).to_string(),
                1 => (n - 1).max(0).to_string(),
                2 => "0".into(),
                _ => n.to_string(),
            };
        }
        let s = base.unwrap_or_else(|| "nothing_like_this".into());
        let quote = |v: &str| {
            if v.contains(' ') || v.is_empty() {
                format!("\"{v}\"")
            } else {
                v.to_string()
            }
        };
        let cut = |r: &mut Rng, s: &str| -> String {
            let chars: Vec<char> = s.chars().collect();
            if chars.len() < 2 {
                return s.to_string();
            }
            let a = r.below(chars.len() - 1);
            let b = a + 1 + r.below(chars.len() - a - 1);
            chars[a..=b.min(chars.len() - 1)].iter().collect()
        };
        match op {
            "contains" => quote(&cut(&mut self.rng, &s)),
            "icontains" => quote(&cut(&mut self.rng, &s).to_uppercase()),
            "startswith" => {
                let k = 1 + self.rng.below(s.len());
                quote(&s.chars().take(k).collect::<String>())
            }
            "endswith" => {
                let n = s.chars().count();
                let k = self.rng.below(n);
                quote(&s.chars().skip(k).collect::<String>())
            }
            "glob" => {
                let mut g: Vec<char> = s.chars().collect();
                let i = self.rng.below(g.len());
                g[i] = '?';
                let mut g: String = g.into_iter().collect();
                if self.rng.chance(50) {
                    let k = self.rng.below(g.len()).max(1);
                    g = format!("{}*", g.chars().take(k).collect::<String>());
                }
                quote(&g)
            }
            _ => quote(&s),
        }
    }

    /// One `-p` format case: 3 to 8 printable fields, sometimes as JSON.
    pub fn format_case(&mut self, i: usize) -> Case {
        let t = i % self.traces.len();
        let printable: Vec<Usable> = self
            .fields
            .iter()
            .filter(|f| !f.filter_only)
            .cloned()
            .collect();
        let k = 3 + self.rng.below(6);
        let mut fmt = if self.rng.chance(60) {
            "*".to_string()
        } else {
            String::new()
        };
        fmt.push_str("%evt.num");
        for _ in 0..k {
            let f = self.rng.pick(&printable);
            if self.rng.chance(10) {
                fmt.push_str(&format!(" %{}{}", 4 + self.rng.below(12), f.name));
            } else {
                fmt.push_str(&format!(" %{}", f.name));
            }
        }
        let mut args = Vec::new();
        if self.rng.chance(20) {
            args.push("-j".to_string());
        }
        args.push("-p".into());
        args.push(fmt);
        Case {
            trace: self.traces[t].0.clone(),
            args,
        }
    }
}
