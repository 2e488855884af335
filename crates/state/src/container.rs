//! Containers: the table filled from `container` events, and how threads
//! are attributed to containers from their cgroups (docker layout, as
//! sysdig 0.29 does it when reading captures).

/// What sonde knows about one container.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Container {
    /// Short (12 hex digits) id.
    pub id: Vec<u8>,
    /// Container name.
    pub name: Vec<u8>,
    /// Image name.
    pub image: Vec<u8>,
    /// Whether the metadata lookup succeeded (a failed one hides the event).
    pub successful: bool,
    /// The container's labels that have string values.
    pub labels: Vec<(Vec<u8>, Vec<u8>)>,
    /// The rest of the metadata sysdig keeps (`container.*` fields).
    pub meta: Option<Box<ContainerMeta>>,
}

/// Container metadata beyond id, name and image: only containers described
/// by a `container` event carry it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ContainerMeta {
    /// Image id.
    pub image_id: Vec<u8>,
    /// Image repository.
    pub image_repo: Vec<u8>,
    /// Image tag.
    pub image_tag: Vec<u8>,
    /// Image digest.
    pub image_digest: Vec<u8>,
    /// `sinsp_container_type` (0 docker, 1 lxc, ...); None when the event
    /// does not say.
    pub kind: Option<u32>,
    /// Whether the container runs privileged.
    pub privileged: bool,
    /// Its mounts.
    pub mounts: Vec<Mount>,
    /// Health probes: (kind, exe, args); kind 1 healthcheck, 2 liveness,
    /// 3 readiness.
    pub probes: Vec<(u8, Vec<u8>, Vec<Vec<u8>>)>,
    /// The container's IPv4 address (0: none).
    pub ip: u32,
}

/// One container mount.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Mount {
    /// Source path on the host.
    pub source: Vec<u8>,
    /// Destination path in the container.
    pub dest: Vec<u8>,
    /// Mount mode (e.g. `ro`, `z`).
    pub mode: Vec<u8>,
    /// Whether it is mounted read-write.
    pub rdwr: bool,
    /// Mount propagation (e.g. `rprivate`).
    pub propagation: Vec<u8>,
}

impl Mount {
    /// `source:dest:mode:rdwr:propagation`, as sysdig shows a mount.
    pub fn render(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.source);
        out.push(b':');
        out.extend_from_slice(&self.dest);
        out.push(b':');
        out.extend_from_slice(&self.mode);
        out.push(b':');
        out.extend_from_slice(if self.rdwr { b"true" } else { b"false" });
        out.push(b':');
        out.extend_from_slice(&self.propagation);
    }
}

impl Container {
    /// The payload of a `container` event describing this container, as
    /// sysdig writes it (keys sorted): what [`parse_container_json`] reads
    /// back. Bytes that are not UTF-8 are escaped as `\u00XX`.
    pub fn to_json(&self) -> Vec<u8> {
        let m = self.meta.as_deref().cloned().unwrap_or_default();
        let mut j = b"{\"container\":{\"Mounts\":[".to_vec();
        for (i, mt) in m.mounts.iter().enumerate() {
            if i > 0 {
                j.push(b',');
            }
            j.extend_from_slice(b"{\"Destination\":");
            json_str(&mut j, &mt.dest);
            j.extend_from_slice(b",\"Mode\":");
            json_str(&mut j, &mt.mode);
            j.extend_from_slice(b",\"Propagation\":");
            json_str(&mut j, &mt.propagation);
            j.extend_from_slice(if mt.rdwr {
                b",\"RW\":true"
            } else {
                b",\"RW\":false"
            });
            j.extend_from_slice(b",\"Source\":");
            json_str(&mut j, &mt.source);
            j.push(b'}');
        }
        j.extend_from_slice(b"],\"id\":");
        json_str(&mut j, &self.id);
        for (k, v) in [
            (&b"image"[..], &self.image),
            (b"imagedigest", &m.image_digest),
            (b"imageid", &m.image_id),
            (b"imagerepo", &m.image_repo),
            (b"imagetag", &m.image_tag),
        ] {
            j.extend_from_slice(b",\"");
            j.extend_from_slice(k);
            j.extend_from_slice(b"\":");
            json_str(&mut j, v);
        }
        let ip = if m.ip == 0 {
            String::new()
        } else {
            std::net::Ipv4Addr::from(m.ip).to_string()
        };
        j.extend_from_slice(b",\"ip\":");
        json_str(&mut j, ip.as_bytes());
        j.extend_from_slice(b",\"labels\":{");
        for (i, (k, v)) in self.labels.iter().enumerate() {
            if i > 0 {
                j.push(b',');
            }
            json_str(&mut j, k);
            j.push(b':');
            json_str(&mut j, v);
        }
        j.extend_from_slice(b"},\"lookup_state\":");
        j.extend_from_slice(if self.successful { b"1" } else { b"2" });
        j.extend_from_slice(b",\"name\":");
        json_str(&mut j, &self.name);
        j.extend_from_slice(if m.privileged {
            b",\"privileged\":true"
        } else {
            b",\"privileged\":false"
        });
        if let Some(k) = m.kind {
            j.extend_from_slice(format!(",\"type\":{k}").as_bytes());
        }
        j.extend_from_slice(b"}}");
        j
    }

    /// The value of label `key`.
    pub fn label(&self, key: &[u8]) -> Option<&[u8]> {
        self.labels
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_slice())
    }
}

/// The container id a thread belongs to according to its cgroups
/// (`subsys=path` entries, NUL-separated): the first 12 characters of a
/// 64-hex-digit id that ends a path (`/docker/<id>`) or is wrapped as
/// `docker-<id>.scope`.
pub fn container_id_from_cgroups(cgroups: &[u8]) -> Option<&[u8]> {
    const ID_LEN: usize = 64;
    for entry in crate::thread::split_nul(cgroups) {
        let path = match entry.iter().position(|&c| c == b'=') {
            Some(i) => &entry[i + 1..],
            None => continue,
        };
        let candidates: [(&[u8], &[u8]); 2] = [(b"/", b""), (b"/docker-", b".scope")];
        for (prefix, suffix) in candidates {
            let Some(start) = rfind(path, prefix).map(|s| s + prefix.len()) else {
                continue;
            };
            let end = if suffix.is_empty() {
                path.len()
            } else {
                match rfind(path, suffix) {
                    Some(e) => e,
                    None => continue,
                }
            };
            if end < start || end - start != ID_LEN {
                continue;
            }
            if path[start..end].iter().all(|c| c.is_ascii_hexdigit()) {
                return Some(&path[start..start + 12]);
            }
        }
    }
    None
}

/// Appends `s` as a JSON string.
fn json_str(j: &mut Vec<u8>, s: &[u8]) {
    j.push(b'"');
    for chunk in s.utf8_chunks() {
        for c in chunk.valid().chars() {
            match c {
                '"' => j.extend_from_slice(b"\\\""),
                '\\' => j.extend_from_slice(b"\\\\"),
                '\n' => j.extend_from_slice(b"\\n"),
                '\r' => j.extend_from_slice(b"\\r"),
                '\t' => j.extend_from_slice(b"\\t"),
                c if (c as u32) < 0x20 => {
                    j.extend_from_slice(format!("\\u{:04x}", c as u32).as_bytes());
                }
                c => {
                    let mut b = [0u8; 4];
                    j.extend_from_slice(c.encode_utf8(&mut b).as_bytes());
                }
            }
        }
        for &b in chunk.invalid() {
            j.extend_from_slice(format!("\\u{b:04x}").as_bytes());
        }
    }
    j.push(b'"');
}

fn rfind(hay: &[u8], needle: &[u8]) -> Option<usize> {
    if needle.len() > hay.len() {
        return None;
    }
    (0..=hay.len() - needle.len())
        .rev()
        .find(|&i| &hay[i..i + needle.len()] == needle)
}

/// Parses the JSON payload of a `container` event
/// (`{"container":{"id":…,"name":…,"image":…,"lookup_state":…}}`).
/// Returns None when the text is not valid JSON.
pub fn parse_container_json(s: &[u8]) -> Option<Container> {
    let mut p = Json { s, i: 0, depth: 0 };
    let mut c = Container {
        successful: true,
        ..Default::default()
    };
    p.ws();
    p.object(&mut |p, key| {
        if key != b"container" {
            return p.skip();
        }
        p.ws();
        if p.peek() != Some(b'{') {
            return p.skip();
        }
        let mut meta = ContainerMeta::default();
        p.object(&mut |p, k| container_field(p, &k, &mut c, &mut meta))?;
        // sysdig lists the probes in kind order
        meta.probes.sort_by_key(|p| p.0);
        c.meta = Some(Box::new(std::mem::take(&mut meta)));
        Some(())
    })?;
    Some(c)
}

/// Reads field `k` of the `container` object into `c` or `meta`.
fn container_field(
    p: &mut Json<'_>,
    k: &[u8],
    c: &mut Container,
    meta: &mut ContainerMeta,
) -> Option<()> {
    p.ws();
    let strings: &mut [(&[u8], &mut Vec<u8>)] = &mut [
        (b"imageid", &mut meta.image_id),
        (b"imagerepo", &mut meta.image_repo),
        (b"imagetag", &mut meta.image_tag),
        (b"imagedigest", &mut meta.image_digest),
        (b"id", &mut c.id),
        (b"name", &mut c.name),
        (b"image", &mut c.image),
    ];
    if p.string_field(k, strings)? {
        return Some(());
    }
    match k {
        b"ip" if p.peek() == Some(b'"') => {
            let v = p.string()?;
            let ip = std::str::from_utf8(&v)
                .ok()
                .and_then(|t| t.parse::<std::net::Ipv4Addr>().ok());
            meta.ip = ip.map(u32::from).unwrap_or(0);
            Some(())
        }
        b"type" => {
            meta.kind = p.scalar_str()?.parse::<u32>().ok();
            Some(())
        }
        b"privileged" => {
            meta.privileged = p.scalar_str()? == "true";
            Some(())
        }
        b"Mounts" if p.peek() == Some(b'[') => p.array(&mut |p| {
            p.ws();
            if p.peek() != Some(b'{') {
                return p.skip();
            }
            meta.mounts.push(mount(p)?);
            Some(())
        }),
        b"Healthcheck" | b"LivenessProbe" | b"ReadinessProbe" if p.peek() == Some(b'{') => {
            let kind = match k {
                b"Healthcheck" => 1,
                b"LivenessProbe" => 2,
                _ => 3,
            };
            if let Some((exe, args)) = probe(p)? {
                meta.probes.push((kind, exe, args));
            }
            Some(())
        }
        b"labels" if p.peek() == Some(b'{') => p.object(&mut |p, label| {
            p.ws();
            if p.peek() == Some(b'"') {
                let v = p.string()?;
                c.labels.push((label, v));
                Some(())
            } else {
                p.skip()
            }
        }),
        b"lookup_state" => {
            if let Ok(v) = p.scalar_str()?.parse::<u64>() {
                // 1 = successful, 2 = failed; "started" cannot finish
                // in a capture and counts as failed; other values
                // count as successful
                c.successful = !matches!(v, 0 | 2);
            }
            Some(())
        }
        _ => p.skip(),
    }
}

/// One entry of `Mounts`.
fn mount(p: &mut Json<'_>) -> Option<Mount> {
    let mut m = Mount::default();
    p.object(&mut |p, mk| {
        p.ws();
        let strings: &mut [(&[u8], &mut Vec<u8>)] = &mut [
            (b"Source", &mut m.source),
            (b"Destination", &mut m.dest),
            (b"Mode", &mut m.mode),
            (b"Propagation", &mut m.propagation),
        ];
        if p.string_field(&mk, strings)? {
            return Some(());
        }
        if mk == b"RW" {
            m.rdwr = p.scalar()? == b"true";
            return Some(());
        }
        p.skip()
    })?;
    Some(m)
}

/// A health probe object: its `exe` (None without one) and `args`.
#[allow(clippy::type_complexity)]
fn probe(p: &mut Json<'_>) -> Option<Option<(Vec<u8>, Vec<Vec<u8>>)>> {
    let (mut exe, mut args) = (None, Vec::new());
    p.object(&mut |p, pk| {
        p.ws();
        match pk.as_slice() {
            b"exe" if p.peek() == Some(b'"') => {
                exe = Some(p.string()?);
                Some(())
            }
            b"args" if p.peek() == Some(b'[') => p.array(&mut |p| {
                p.ws();
                if p.peek() == Some(b'"') {
                    args.push(p.string()?);
                    Some(())
                } else {
                    p.skip()
                }
            }),
            _ => p.skip(),
        }
    })?;
    Some(exe.map(|e| (e, args)))
}

/// A tiny JSON scanner: enough to walk objects and read strings.
struct Json<'a> {
    s: &'a [u8],
    i: usize,
    /// How many values [`Json::skip`] is inside (bounded: a hostile
    /// payload must not exhaust the stack).
    depth: u32,
}

/// The deepest nesting a `container` payload may have (sysdig's own JSON
/// has 4 levels).
const MAX_DEPTH: u32 = 64;

impl Json<'_> {
    fn peek(&self) -> Option<u8> {
        self.s.get(self.i).copied()
    }

    fn ws(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.i += 1;
        }
    }

    fn eat(&mut self, c: u8) -> Option<()> {
        self.ws();
        (self.peek() == Some(c)).then(|| self.i += 1)
    }

    /// Walks an object, calling `f` with each key (positioned at its value).
    fn object(&mut self, f: &mut dyn FnMut(&mut Self, Vec<u8>) -> Option<()>) -> Option<()> {
        self.eat(b'{')?;
        self.ws();
        if self.peek() == Some(b'}') {
            self.i += 1;
            return Some(());
        }
        loop {
            self.ws();
            let key = self.string()?;
            self.eat(b':')?;
            f(self, key)?;
            self.ws();
            match self.peek()? {
                b',' => self.i += 1,
                b'}' => {
                    self.i += 1;
                    return Some(());
                }
                _ => return None,
            }
        }
    }

    fn string(&mut self) -> Option<Vec<u8>> {
        self.eat(b'"')?;
        let mut out = Vec::new();
        loop {
            let c = self.peek()?;
            self.i += 1;
            match c {
                b'"' => return Some(out),
                b'\\' => {
                    let e = self.peek()?;
                    self.i += 1;
                    match e {
                        b'n' => out.push(b'\n'),
                        b't' => out.push(b'\t'),
                        b'r' => out.push(b'\r'),
                        b'b' => out.push(8),
                        b'f' => out.push(12),
                        b'u' => {
                            let hex = std::str::from_utf8(self.s.get(self.i..self.i + 4)?).ok()?;
                            let v = u32::from_str_radix(hex, 16).ok()?;
                            self.i += 4;
                            let ch = char::from_u32(v).unwrap_or('\u{fffd}');
                            let mut b = [0u8; 4];
                            out.extend_from_slice(ch.encode_utf8(&mut b).as_bytes());
                        }
                        other => out.push(other),
                    }
                }
                other => out.push(other),
            }
        }
    }

    /// Walks an array, calling `f` positioned at each element.
    fn array(&mut self, f: &mut dyn FnMut(&mut Self) -> Option<()>) -> Option<()> {
        self.eat(b'[')?;
        self.ws();
        if self.peek() == Some(b']') {
            self.i += 1;
            return Some(());
        }
        loop {
            f(self)?;
            self.ws();
            match self.peek()? {
                b',' => self.i += 1,
                b']' => {
                    self.i += 1;
                    return Some(());
                }
                _ => return None,
            }
        }
    }

    /// Skips one value of any kind (None past [`MAX_DEPTH`] levels).
    /// When `k` is the name of one of `fields`, reads its string value
    /// into that field (skips a value of another type) and gives true.
    fn string_field(&mut self, k: &[u8], fields: &mut [(&[u8], &mut Vec<u8>)]) -> Option<bool> {
        let Some((_, field)) = fields.iter_mut().find(|(name, _)| *name == k) else {
            return Some(false);
        };
        if self.peek() == Some(b'"') {
            **field = self.string()?;
        } else {
            self.skip()?;
        }
        Some(true)
    }

    /// Skips a value; its text (a number, `true`, ...).
    fn scalar(&mut self) -> Option<&[u8]> {
        let start = self.i;
        self.skip()?;
        Some(&self.s[start..self.i])
    }

    /// As [`Json::scalar`], as trimmed UTF-8 (None if it is not).
    fn scalar_str(&mut self) -> Option<&str> {
        let v = self.scalar()?;
        std::str::from_utf8(v).ok().map(str::trim)
    }

    fn skip(&mut self) -> Option<()> {
        if self.depth >= MAX_DEPTH {
            return None;
        }
        self.depth += 1;
        let r = self.skip_value();
        self.depth -= 1;
        r
    }

    fn skip_value(&mut self) -> Option<()> {
        self.ws();
        match self.peek()? {
            b'{' => self.object(&mut |p, _| p.skip()),
            b'[' => {
                self.i += 1;
                self.ws();
                if self.peek() == Some(b']') {
                    self.i += 1;
                    return Some(());
                }
                loop {
                    self.skip()?;
                    self.ws();
                    match self.peek()? {
                        b',' => self.i += 1,
                        b']' => {
                            self.i += 1;
                            return Some(());
                        }
                        _ => return None,
                    }
                }
            }
            b'"' => self.string().map(|_| ()),
            _ => {
                let start = self.i;
                while let Some(c) = self.peek() {
                    if matches!(c, b',' | b'}' | b']' | b' ' | b'\t' | b'\n' | b'\r') {
                        break;
                    }
                    self.i += 1;
                }
                (self.i > start).then_some(())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_from_docker_cgroups() {
        let id = "697956520d891b5cb0e215093970c733549a3f745f52263c05b37f8a488994f3";
        let cg = format!("cpuset=/docker/{id}\0cpu=/docker/{id}\0");
        assert_eq!(
            container_id_from_cgroups(cg.as_bytes()),
            Some(&b"697956520d89"[..])
        );
        let cg = format!("cpu=/system.slice/docker-{id}.scope\0");
        assert_eq!(
            container_id_from_cgroups(cg.as_bytes()),
            Some(&b"697956520d89"[..])
        );
        assert_eq!(container_id_from_cgroups(b"cpu=/user.slice\0"), None);
    }

    #[test]
    fn container_json() {
        let j = br#"{"container":{"Mounts":[],"env":[],"id":"9dbcbd0c435f","image":"nginx:latest","labels":{"a":"b \"q\""},"memory_limit":0,"name":"epic_cray","privileged":true,"type":0}}"#;
        let c = parse_container_json(j).unwrap();
        assert_eq!(c.id, b"9dbcbd0c435f");
        assert_eq!(c.name, b"epic_cray");
        assert_eq!(c.image, b"nginx:latest");
        assert_eq!(c.label(b"a"), Some(&b"b \"q\""[..]));
        assert!(c.successful);
        let c = parse_container_json(br#"{"container":{"id":"x","lookup_state":2}}"#).unwrap();
        assert!(!c.successful);
        assert!(parse_container_json(b"{not json").is_none());
    }

    #[test]
    fn container_json_round_trip() {
        let c = Container {
            id: b"abc".to_vec(),
            name: b"w\"e\\b\n\xff".to_vec(),
            image: b"busybox:1".to_vec(),
            successful: true,
            labels: vec![(b"app".to_vec(), b"demo".to_vec())],
            meta: Some(Box::new(ContainerMeta {
                kind: Some(11),
                privileged: true,
                ip: 0x0a00_0002,
                image_tag: b"1".to_vec(),
                mounts: vec![Mount {
                    source: b"/a".to_vec(),
                    dest: b"/b".to_vec(),
                    rdwr: true,
                    ..Default::default()
                }],
                ..Default::default()
            })),
        };
        let back = parse_container_json(&c.to_json()).unwrap();
        let mut want = c.clone();
        // invalid UTF-8 comes back as the code point of the byte
        want.name = "w\"e\\b\n\u{ff}".as_bytes().to_vec();
        assert_eq!(back, want);
    }

    /// Hostile `container` events (what a capture file may carry): every
    /// truncation and byte flip of a real payload, deep nesting, huge
    /// labels, invalid UTF-8 and bad escapes never panic, and what parses
    /// writes back as JSON that parses again.
    #[test]
    fn hostile_container_json_never_panics() {
        let real = br#"{"container":{"Mounts":[{"Destination":"/b","Mode":"","Propagation":"rprivate","RW":true,"Source":"/a"}],"cpu_period":100000,"env":[],"id":"9dbcbd0c435f","image":"nginx:latest","imagedigest":"sha256:96fb","ip":"172.17.0.2","is_pod_sandbox":false,"labels":{"maintainer":"NGINX <d@n.com>"},"lookup_state":1,"name":"epic_cray","port_mappings":[],"privileged":true,"type":0}}"#;
        let check = |b: &[u8]| {
            if let Some(c) = parse_container_json(b) {
                assert!(parse_container_json(&c.to_json()).is_some());
            }
        };
        for n in 0..real.len() {
            check(&real[..n]);
        }
        for i in 0..real.len() {
            for v in [0u8, b'"', b'\\', b'{', b'[', b'}', 0xff, 0xc3] {
                let mut b = real.to_vec();
                b[i] = v;
                check(&b);
            }
        }
        // nesting deeper than any stack would take by recursion
        for open in [&b"["[..], b"{\"a\":"] {
            let mut b = br#"{"container":{"id":"x","labels":"#.to_vec();
            for _ in 0..200_000 {
                b.extend_from_slice(open);
            }
            check(&b);
        }
        // a 4 MiB label, invalid UTF-8, bad escapes
        let big = format!(
            r#"{{"container":{{"id":"x","name":"n","labels":{{"big":"{}"}}}}}}"#,
            "a".repeat(4 << 20)
        );
        let c = parse_container_json(big.as_bytes()).unwrap();
        assert_eq!(c.label(b"big").map(<[u8]>::len), Some(4 << 20));
        check(big.as_bytes());
        for bad in [
            &b"{\"container\":{\"id\":\"\xff\xfe\",\"name\":\"\xc3\"}}"[..],
            br#"{"container":{"id":"\uZZZZ"}}"#,
            br#"{"container":{"id":"\ud800\u0041","name":"\"#,
            br#"{"container":{"id":1e999999,"labels":{"k":[1,{"x":null}]}}}"#,
            b"\xef\xbb\xbf{\"container\":{}}",
        ] {
            check(bad);
        }
    }
}
