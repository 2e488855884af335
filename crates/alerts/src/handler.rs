//! Handlers, the Sensu way: named, of type `pipe` (a command with the
//! event's JSON on stdin; argv only, never a shell line built from
//! tags), `webhook` (HTTP POST of the JSON, or Slack's `{"text": ...}`
//! body) or `tcp` (the JSON as one line to host:port); each with filters
//! (event kinds, states, tag matches, occurrences and refresh so a
//! flapping alert or a check critical every 10 s does not flood), their
//! validation, and how they show without their secrets.

use std::collections::{BTreeMap, HashMap};

use serde::{Deserialize, Serialize};
use sonde_store::{Event, TagFilter};

use crate::rule::check_name;
use crate::AlertError;

/// The longest delivery timeout: 60 s.
pub const MAX_TIMEOUT_MS: u64 = 60_000;

/// A handler (unknown fields are ignored: serde cannot refuse them
/// beside a flattened type).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Handler {
    /// Its name.
    pub name: String,
    /// Its type and target.
    #[serde(flatten)]
    pub kind: HandlerKind,
    /// Which events it takes.
    #[serde(default)]
    pub filters: Filters,
    /// Delivery timeout, ms (default 5 s).
    #[serde(default = "default_timeout")]
    pub timeout_ms: u64,
}

fn default_timeout() -> u64 {
    5_000
}

/// A handler's type and target.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum HandlerKind {
    /// Runs `command` (argv: program, then arguments, no shell) with the
    /// event's JSON on stdin; a non-zero exit is a failure.
    Pipe {
        /// Program and arguments.
        command: Vec<String>,
    },
    /// POSTs the event to `url` (http or https).
    Webhook {
        /// Where (may hold a token: never logged nor shown).
        url: String,
        /// Extra headers (e.g. Authorization: never logged nor shown).
        #[serde(default)]
        headers: BTreeMap<String, String>,
        /// The body's shape.
        #[serde(default)]
        format: WebhookFormat,
    },
    /// Writes the event's JSON and a newline to `address` (host:port).
    Tcp {
        /// host:port.
        address: String,
    },
}

/// A webhook body's shape.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WebhookFormat {
    /// The event as JSON.
    #[default]
    Json,
    /// Slack's incoming webhook body: `{"text": "one line"}`.
    Slack,
}

/// Which events a handler takes. Every part must pass.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Filters {
    /// Event kinds (`alert`, `check`, `keepalive`; empty: all).
    #[serde(default)]
    pub kinds: Vec<String>,
    /// States (an alert's `state`: `firing`, `resolved`; a check's or
    /// host's `status`: `critical`, `warning`, `ok`, `silent`, ...;
    /// empty: all).
    #[serde(default)]
    pub states: Vec<String>,
    /// Filters on the event's tags.
    #[serde(default)]
    pub tags: Vec<TagFilter>,
    /// Handle only from the Nth consecutive event with the same state
    /// for the same subject (alert group, host and check, host); 0 or 1:
    /// the first.
    #[serde(default)]
    pub occurrences: u32,
    /// At most one notification per subject within this many ms (0: no
    /// limit), so a flapping alert does not flood.
    #[serde(default)]
    pub refresh_ms: i64,
}

/// An event's state for filters: an alert's `state` or a check's or
/// host's `status`.
pub fn state_of(e: &Event) -> &str {
    e.tags
        .get("state")
        .or_else(|| e.tags.get("status"))
        .map_or("", String::as_str)
}

/// What an event is about, for occurrences and refresh: its kind and the
/// tags naming its subject.
pub fn subject_of(e: &Event) -> String {
    let mut s = e.kind.clone();
    for (k, v) in &e.tags {
        if !matches!(k.as_str(), "state" | "status" | "value" | "silenced") {
            s.push('\u{1f}');
            s.push_str(k);
            s.push('=');
            s.push_str(v);
        }
    }
    s
}

impl Handler {
    /// Checks the handler; the error names the field at fault.
    pub fn validate(&self) -> Result<(), AlertError> {
        let bad = |m: String| Err(AlertError::Invalid(format!("handler '{}': {m}", self.name)));
        check_name("handler", &self.name)?;
        if self.timeout_ms == 0 || self.timeout_ms > MAX_TIMEOUT_MS {
            return bad("timeout_ms: must be within 1 and 60000".into());
        }
        if self.filters.refresh_ms < 0 {
            return bad("filters.refresh_ms: must not be negative".into());
        }
        if let Err(e) = sonde_store::eval::compile_filters(&self.filters.tags) {
            return bad(format!("filters.tags: {e}"));
        }
        match &self.kind {
            HandlerKind::Pipe { command } => {
                if command.first().map_or(true, String::is_empty) {
                    return bad("pipe: 'command' needs a program (argv, no shell)".into());
                }
            }
            HandlerKind::Webhook { url, headers, .. } => {
                let scheme_ok = url.starts_with("http://") || url.starts_with("https://");
                if !scheme_ok || url.parse::<ureq::http::Uri>().is_err() {
                    return bad("webhook: 'url' must be an http:// or https:// URL".into());
                }
                for (k, v) in headers {
                    let ok = ureq::http::HeaderName::from_bytes(k.as_bytes()).is_ok()
                        && ureq::http::HeaderValue::from_str(v).is_ok();
                    if !ok {
                        return bad(format!("webhook: header '{k}' is not a valid header"));
                    }
                }
            }
            HandlerKind::Tcp { address } => {
                let ok = address
                    .rsplit_once(':')
                    .is_some_and(|(h, p)| !h.is_empty() && p.parse::<u16>().is_ok_and(|p| p > 0));
                if !ok {
                    return bad("tcp: 'address' must be host:port".into());
                }
            }
        }
        Ok(())
    }

    /// The handler as it may be shown (REST, logs): a webhook's URL cut
    /// to its scheme and host, header values hidden.
    pub fn redacted(&self) -> Handler {
        let mut h = self.clone();
        if let HandlerKind::Webhook { url, headers, .. } = &mut h.kind {
            *url = redact_url(url);
            for v in headers.values_mut() {
                *v = "<hidden>".into();
            }
        }
        h
    }

    /// Whether `e` passes the kind, state and tag filters (occurrences
    /// and refresh are the [`Throttle`]'s).
    pub fn takes(&self, e: &Event) -> bool {
        let f = &self.filters;
        (f.kinds.is_empty() || f.kinds.contains(&e.kind))
            && (f.states.is_empty() || f.states.iter().any(|s| s == state_of(e)))
            && sonde_store::eval::compile_filters(&f.tags)
                .is_ok_and(|m| sonde_store::eval::matches(&m, &e.tags))
    }
}

/// A URL with only its scheme and host left: `https://hooks.slack.com/…`.
pub fn redact_url(url: &str) -> String {
    let (scheme, rest) = url.split_once("://").unwrap_or(("", url));
    let host = rest.split(['/', '?', '#']).next().unwrap_or("");
    let host = host.rsplit('@').next().unwrap_or(host);
    format!("{scheme}://{host}/…")
}

/// Occurrences and refresh, per handler and subject.
#[derive(Debug, Default)]
pub struct Throttle {
    /// subject -> (state, consecutive count, last notified at).
    seen: HashMap<String, (String, u32, Option<i64>)>,
}

impl Throttle {
    /// Counts `e` and says whether it is to be handled under `f`.
    pub fn pass(&mut self, f: &Filters, e: &Event) -> bool {
        let state = state_of(e).to_string();
        let entry = self
            .seen
            .entry(subject_of(e))
            .or_insert_with(|| (state.clone(), 0, None));
        if entry.0 == state {
            entry.1 = entry.1.saturating_add(1);
        } else {
            *entry = (state, 1, entry.2);
        }
        if entry.1 < f.occurrences.max(1) {
            return false;
        }
        if f.refresh_ms > 0 && entry.2.is_some_and(|t| e.ts_ms - t < f.refresh_ms) {
            return false;
        }
        entry.2 = Some(e.ts_ms);
        true
    }
}

/// A one-line text for chat (Slack's `text`).
pub fn summary(e: &Event) -> String {
    let tag = |k: &str| e.tags.get(k).map_or("", String::as_str);
    match e.kind.as_str() {
        "alert" => {
            let mut group: Vec<String> = e
                .tags
                .iter()
                .filter(|(k, _)| !matches!(k.as_str(), "rule" | "state" | "value" | "silenced"))
                .map(|(k, v)| format!("{k}={v}"))
                .collect();
            group.sort();
            format!(
                "[{}] alert {} {} (value {})",
                tag("state").to_uppercase(),
                tag("rule"),
                group.join(" "),
                tag("value")
            )
        }
        "check" => format!(
            "[{}] check {} on {}",
            tag("status").to_uppercase(),
            tag("check"),
            tag("host")
        ),
        "keepalive" => format!("[{}] host {}", tag("status").to_uppercase(), tag("host")),
        k => format!("[{k}] {}", e.agent),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_lose_their_secrets() {
        assert_eq!(
            redact_url("https://hooks.slack.com/services/T0/B0/XXXX?x=1"),
            "https://hooks.slack.com/…"
        );
        assert_eq!(
            redact_url("http://user:pa55@example.com:8080/h?token=t"),
            "http://example.com:8080/…"
        );
        assert_eq!(redact_url("http://h?token=t"), "http://h/…");
    }

    #[test]
    fn states_subjects_and_summaries() {
        let mut tags = sonde_store::Tags::new();
        for (k, v) in [
            ("rule", "cpu"),
            ("state", "firing"),
            ("host", "h1"),
            ("value", "97"),
        ] {
            tags.insert(k.into(), v.into());
        }
        let mut e = Event {
            ts_ms: 0,
            agent: "h1".into(),
            kind: "alert".into(),
            tags,
            body: serde_json::Value::Null,
        };
        assert_eq!(state_of(&e), "firing");
        assert_eq!(summary(&e), "[FIRING] alert cpu host=h1 (value 97)");
        let firing = subject_of(&e);
        e.tags.insert("state".into(), "resolved".into());
        e.tags.insert("value".into(), "3".into());
        assert_eq!(subject_of(&e), firing, "the same alert whatever its state");
        e.tags.insert("host".into(), "h2".into());
        assert_ne!(subject_of(&e), firing);
    }
}
