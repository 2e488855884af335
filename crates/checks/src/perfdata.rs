//! The Nagios plugin output convention: the first line is the status
//! text; perfdata follows a `|` (on the first line, and after a `|` in the
//! long output): space-separated `'label'=value[UOM];[warn];[crit];[min];[max]`.
//! Malformed items are skipped, never a panic.

use serde::{Deserialize, Serialize};

/// One perfdata item: a metric the check reported.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PerfMetric {
    /// The label (quotes removed).
    pub label: String,
    /// The value (`None` for `U`, a value the plugin could not determine).
    pub value: Option<f64>,
    /// Unit of measure: empty, `s`, `ms`, `us`, `%`, `B`, `KB`, `MB`, `GB`,
    /// `TB` or `c` (a counter).
    pub uom: String,
    /// Warning threshold, a Nagios range kept as written (`10`, `@5:10`, `~:3`).
    pub warn: Option<String>,
    /// Critical threshold, as written.
    pub crit: Option<String>,
    /// Smallest possible value.
    pub min: Option<f64>,
    /// Largest possible value.
    pub max: Option<f64>,
}

/// Splits plugin output into the status line, the long output and the
/// perfdata items.
pub fn parse_output(text: &str) -> (String, String, Vec<PerfMetric>) {
    let mut lines = text.lines();
    let first = lines.next().unwrap_or("");
    let (status, mut perf) = match first.split_once('|') {
        Some((s, p)) => (s.trim().to_string(), p.trim().to_string()),
        None => (first.trim().to_string(), String::new()),
    };
    let rest: Vec<&str> = lines.collect();
    let rest = rest.join("\n");
    let long = match rest.split_once('|') {
        Some((l, p)) => {
            perf.push(' ');
            perf.push_str(p);
            l.trim_end().to_string()
        }
        None => rest.trim_end().to_string(),
    };
    (status, long, parse_perfdata(&perf))
}

/// Splits perfdata text into items, honouring single-quoted labels
/// (`''` inside quotes is a quote).
fn items(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut quoted = false;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\'' if quoted && chars.peek() == Some(&'\'') => {
                chars.next();
                cur.push('\'');
            }
            '\'' => {
                quoted = !quoted;
                cur.push(c);
            }
            c if c.is_whitespace() && !quoted => {
                if !cur.is_empty() {
                    out.push(std::mem::take(&mut cur));
                }
            }
            c => cur.push(c),
        }
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

fn number(s: &str) -> Option<f64> {
    let s = s.trim();
    if s.is_empty() {
        return None;
    }
    // Nagios allows a decimal comma
    s.replace(',', ".")
        .parse::<f64>()
        .ok()
        .filter(|v| v.is_finite())
}

fn nonempty(s: Option<&str>) -> Option<String> {
    s.map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
}

/// Parses one item; None when it is malformed.
fn item(it: &str) -> Option<PerfMetric> {
    let (label, rest) = it.rsplit_once('=')?;
    let label = label.trim();
    let label = label
        .strip_prefix('\'')
        .and_then(|l| l.strip_suffix('\''))
        .unwrap_or(label);
    if label.is_empty() {
        return None;
    }
    let mut fields = rest.split(';');
    let v = fields.next()?.trim();
    let (value, uom) = if v == "U" {
        (None, String::new())
    } else {
        let split = v
            .find(|c: char| !(c.is_ascii_digit() || matches!(c, '.' | ',' | '-' | '+' | 'e' | 'E')))
            .unwrap_or(v.len());
        let (num, uom) = v.split_at(split);
        let num = number(num)?;
        if !matches!(
            uom,
            "" | "s" | "ms" | "us" | "%" | "B" | "KB" | "MB" | "GB" | "TB" | "c"
        ) {
            return None;
        }
        (Some(num), uom.to_string())
    };
    let warn = nonempty(fields.next());
    let crit = nonempty(fields.next());
    let min = fields.next().and_then(number);
    let max = fields.next().and_then(number);
    Some(PerfMetric {
        label: label.to_string(),
        value,
        uom,
        warn,
        crit,
        min,
        max,
    })
}

/// Parses perfdata text; malformed items are left out.
pub fn parse_perfdata(text: &str) -> Vec<PerfMetric> {
    items(text).iter().filter_map(|i| item(i)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn full_item() {
        let p = parse_perfdata("'free space'=5.5GB;10:;5:;0;100 load1=0,75;;;;");
        assert_eq!(p.len(), 2);
        assert_eq!(p[0].label, "free space");
        assert_eq!(p[0].value, Some(5.5));
        assert_eq!(p[0].uom, "GB");
        assert_eq!(p[0].warn.as_deref(), Some("10:"));
        assert_eq!(p[0].crit.as_deref(), Some("5:"));
        assert_eq!(p[0].min, Some(0.0));
        assert_eq!(p[0].max, Some(100.0));
        assert_eq!(p[1].label, "load1");
        assert_eq!(p[1].value, Some(0.75));
        assert_eq!(p[1].warn, None);
    }

    #[test]
    fn unknown_value_and_counter() {
        let p = parse_perfdata("a=U b=12c");
        assert_eq!(p[0].value, None);
        assert_eq!((p[1].value, p[1].uom.as_str()), (Some(12.0), "c"));
    }

    #[test]
    fn bad_items_are_skipped_not_fatal() {
        for junk in [
            "=",
            "==",
            "a=",
            "=5",
            "a=x",
            "a=5zz",
            "'unterminated=5",
            "a=5;;;;;;;;",
            ";;;",
            "a=NaN",
            "a=inf",
            "\u{0}=\u{0}",
            "a=1e999",
            "'=1",
            "''=1",
            "a=--5",
            "| | |",
        ] {
            let p = parse_perfdata(junk);
            for m in &p {
                assert!(m.value.is_none_or(f64::is_finite), "{junk}: {m:?}");
            }
        }
        let p = parse_perfdata("ok=1 a=x b=2ms");
        assert_eq!(
            p.iter().map(|m| m.label.as_str()).collect::<Vec<_>>(),
            ["ok", "b"]
        );
    }

    #[test]
    fn output_lines_and_long_perfdata() {
        let (s, long, p) = parse_output(
            "DISK OK - free 5 GB | free=5GB;;;0\nline two\nline three | used=3GB\nx=1",
        );
        assert_eq!(s, "DISK OK - free 5 GB");
        assert_eq!(long, "line two\nline three");
        assert_eq!(p.len(), 3);
        assert_eq!(p[2].label, "x");
        let (s, long, p) = parse_output("");
        assert!(s.is_empty() && long.is_empty() && p.is_empty());
    }
}
