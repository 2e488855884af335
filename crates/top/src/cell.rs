//! One value of the view model: a [`Cell`] (a typed value and the count
//! of events behind it), what each [`Aggregation`] does to two cells, how
//! rows compare for sorting, and how a cell prints (csysdig's "nice"
//! rendering: byte units, rates divided by the sample's seconds, times as
//! `1.50ms`).

use std::cmp::Ordering;

use crate::view::Aggregation;

/// How a column's numbers print.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pf {
    /// Decimal, with byte units when large (`131M`).
    Dec,
    /// An identifier: plain, never scaled (pids, tids).
    Id,
    /// Not a number format (booleans, doubles, text).
    Na,
    /// A port: text in tables, a number in JSON.
    Port,
}

/// The type of a column's values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// An integer of `bits` width.
    Int {
        /// Width in bits (sums wrap at it).
        bits: u8,
        /// Signed.
        signed: bool,
    },
    /// A double.
    Double,
    /// A time interval in nanoseconds.
    RelTime,
    /// A point in time (nanoseconds since the epoch).
    AbsTime,
    /// Text (also addresses, ports and booleans: their rendering).
    Text,
}

/// A column's type and print format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ColType {
    /// The value type.
    pub kind: Kind,
    /// The print format.
    pub pf: Pf,
    /// A missing value counts as zero under `use_defaults` (decimal
    /// numbers, doubles, text; not ids, ports or addresses).
    pub def: bool,
}

impl ColType {
    /// The zero of this type (a default).
    pub fn zero(&self) -> Val {
        match self.kind {
            Kind::Double => Val::D(0.0),
            Kind::Text => Val::T(Box::default()),
            _ => Val::I(0),
        }
    }

    /// Whether the column holds numbers (sorted descending at first).
    pub fn numeric(&self) -> bool {
        self.kind != Kind::Text
    }
}

/// A value: integers keep their bits in an `i64` (unsigned ones too).
#[derive(Debug, Clone, PartialEq)]
pub enum Val {
    /// An integer, relative or absolute time.
    I(i64),
    /// A double.
    D(f64),
    /// Text.
    T(Box<[u8]>),
}

/// A value and the number of events behind it (0 for a default).
#[derive(Debug, Clone, PartialEq)]
pub struct Cell {
    /// The value.
    pub v: Val,
    /// Events that had a value.
    pub cnt: u32,
}

/// Wraps `v` to the width and sign of `k`.
fn wrap(k: Kind, v: i64) -> i64 {
    match k {
        Kind::Int { bits, signed } if bits < 64 => {
            let sh = 64 - bits as u32;
            if signed {
                (v << sh) >> sh
            } else {
                ((v as u64) << sh >> sh) as i64
            }
        }
        _ => v,
    }
}

fn unsigned(k: Kind) -> bool {
    matches!(
        k,
        Kind::Int { signed: false, .. } | Kind::RelTime | Kind::AbsTime
    )
}

fn div(k: Kind, v: i64, by: u64) -> i64 {
    if by == 0 {
        return v;
    }
    if unsigned(k) {
        ((v as u64) / by) as i64
    } else {
        v / by as i64
    }
}

impl Cell {
    fn sum(&mut self, k: Kind, src: &Cell) {
        match (&mut self.v, &src.v) {
            (Val::I(a), Val::I(b)) => *a = wrap(k, a.wrapping_add(*b)),
            (Val::D(a), Val::D(b)) => *a += *b,
            _ => {}
        }
    }

    fn sum_of_avg(&mut self, k: Kind, src: &Cell) {
        let (c1, c2) = (self.cnt, src.cnt.max(1));
        match (&mut self.v, &src.v) {
            (Val::I(a), Val::I(b)) => {
                if c1 > 1 {
                    *a = div(k, *a, c1 as u64);
                }
                *a = wrap(k, a.wrapping_add(div(k, *b, c2 as u64)));
            }
            (Val::D(a), Val::D(b)) => {
                if c1 > 1 {
                    *a /= c1 as f64;
                }
                *a += *b / c2 as f64;
            }
            _ => {}
        }
        self.cnt = 1;
    }

    fn cmp_raw(&self, k: Kind, o: &Cell) -> Ordering {
        match (&self.v, &o.v) {
            (Val::I(a), Val::I(b)) if unsigned(k) => (*a as u64).cmp(&(*b as u64)),
            (Val::I(a), Val::I(b)) => a.cmp(b),
            (Val::D(a), Val::D(b)) => a.partial_cmp(b).unwrap_or(Ordering::Equal),
            (Val::T(a), Val::T(b)) => a.cmp(b),
            _ => Ordering::Equal,
        }
    }

    /// Combines `src` (a later event's value, or a merged row's) into this
    /// cell with aggregation `ag`.
    pub fn add(&mut self, k: Kind, ag: Aggregation, src: Cell) {
        match ag {
            Aggregation::None => {}
            Aggregation::Sum | Aggregation::TimeAvg => {
                if src.cnt < 2 {
                    self.sum(k, &src)
                } else {
                    self.sum_of_avg(k, &src)
                }
            }
            Aggregation::Avg => {
                self.cnt = self.cnt.wrapping_add(src.cnt);
                self.sum(k, &src);
            }
            Aggregation::Max => {
                if matches!(self.v, Val::T(_)) || self.cmp_raw(k, &src) == Ordering::Less {
                    self.v = src.v;
                }
            }
            Aggregation::Min => {
                if src.cnt != 0 {
                    if self.cnt == 0 {
                        self.sum(k, &src);
                        self.cnt += 1;
                    } else if self.cmp_raw(k, &src) == Ordering::Greater {
                        self.v = src.v;
                    }
                }
            }
        }
    }

    /// Sorting order of two cells (averages compared when either counts
    /// several events).
    pub fn cmp(&self, k: Kind, o: &Cell) -> Ordering {
        if self.cnt <= 1 && o.cnt <= 1 {
            return self.cmp_raw(k, o);
        }
        match (&self.v, &o.v) {
            (Val::I(_), Val::I(_)) | (Val::D(_), Val::D(_)) => {
                let a = self.as_f64(k) / self.cnt.max(1) as f64;
                let b = o.as_f64(k) / o.cnt.max(1) as f64;
                a.partial_cmp(&b).unwrap_or(Ordering::Equal)
            }
            _ => self.cmp_raw(k, o),
        }
    }

    fn as_f64(&self, k: Kind) -> f64 {
        match &self.v {
            Val::I(v) if unsigned(k) => *v as u64 as f64,
            Val::I(v) => *v as f64,
            Val::D(d) => *d,
            Val::T(_) => 0.0,
        }
    }

    /// csysdig's rendering in a field of `width`; `td` is the sample's
    /// duration in ns for rate columns (0 otherwise).
    pub fn nice(&self, t: ColType, width: usize, td: u64) -> String {
        let cnt = if td != 0 {
            td as f64 / 1e9
        } else {
            self.cnt as f64
        };
        match (&self.v, t.kind) {
            (Val::T(s), _) => String::from_utf8_lossy(s).into_owned(),
            (Val::I(v), Kind::Int { .. }) => {
                if t.pf == Pf::Id || cnt == 1.0 || cnt == 0.0 {
                    let mut v = *v;
                    if cnt > 1.0 {
                        v /= cnt as i64;
                    }
                    if t.pf == Pf::Id {
                        format!("{v:>width$}")
                    } else {
                        format_bytes(v as f64, width, true)
                    }
                } else {
                    let mut d = self.as_f64(t.kind);
                    if cnt > 1.0 {
                        d /= cnt;
                    }
                    if t.pf == Pf::Id {
                        format!("{d:>width$.6}")
                    } else {
                        format_bytes(d, width, false)
                    }
                }
            }
            (Val::I(v), Kind::RelTime) => {
                let mut d = *v as u64 as f64;
                if cnt > 1.0 {
                    d /= cnt;
                }
                format_time(d as i64 as u64, width)
            }
            (Val::I(v), _) => v.to_string(),
            (Val::D(d), _) => {
                let mut d = *d;
                if cnt > 1.0 {
                    d /= cnt;
                }
                format!("{d:>width$.2}")
            }
        }
    }

    /// The value for JSON output (`-j`): numbers as numbers (doubles and
    /// times averaged as in text), text as strings.
    pub fn json(&self, t: ColType, td: u64) -> String {
        let cnt = if td != 0 {
            td as f64 / 1e9
        } else {
            self.cnt as f64
        };
        match (&self.v, t.kind) {
            (Val::T(s), _)
                if t.pf == Pf::Port && !s.is_empty() && s.iter().all(u8::is_ascii_digit) =>
            {
                String::from_utf8_lossy(s).into_owned()
            }
            (Val::T(s), _) => json_string(&String::from_utf8_lossy(s)),
            // csysdig's JSON has times as its table shows them, padded
            (Val::I(_), Kind::RelTime) => json_string(&self.nice(t, 10, td)),
            (Val::I(v), _) if unsigned(t.kind) => (*v as u64).to_string(),
            (Val::I(v), _) => v.to_string(),
            (Val::D(d), _) => {
                let d = if cnt > 1.0 { d / cnt } else { *d };
                match d.is_finite() {
                    // a whole double keeps its point, as csysdig's JSON
                    true if d.fract() == 0.0 && d.abs() < 1e15 => format!("{d:.1}"),
                    true => format!("{d}"),
                    false => "0.0".into(),
                }
            }
        }
    }
}

/// A JSON string literal.
pub fn json_string(s: &str) -> String {
    let mut o = String::with_capacity(s.len() + 2);
    o.push('"');
    for c in s.chars() {
        match c {
            '"' => o.push_str("\\\""),
            '\\' => o.push_str("\\\\"),
            '\n' => o.push_str("\\n"),
            '\r' => o.push_str("\\r"),
            '\t' => o.push_str("\\t"),
            c if (c as u32) < 0x20 => o.push_str(&format!("\\u{:04x}", c as u32)),
            c => o.push(c),
        }
    }
    o.push('"');
    o
}

/// A number with byte units (`1.50K`, `131M`), right-aligned in `width`;
/// when longer, its last `width` characters.
pub fn format_bytes(val: f64, width: usize, is_int: bool) -> String {
    const K: f64 = 1024.0;
    let units = [
        (K * K * K * K * K, 'P'),
        (K * K * K * K, 'T'),
        (K * K * K, 'G'),
        (K * K, 'M'),
        (K, 'K'),
    ];
    let prec = if is_int { 0 } else { 2 };
    let mut s = match units.iter().find(|(u, _)| val > *u) {
        Some((u, c)) => {
            let w = width.saturating_sub(1);
            format!("{:>w$.prec$}{c}", val / u)
        }
        None => format!("{val:>width$.prec$}"),
    };
    if width > 0 && s.len() > width {
        s = s[s.len() - width..].to_string();
    }
    s
}

/// A time interval as csysdig shows it (`1.10s`, `15ms`, `3.20us`),
/// right-aligned in `width`.
pub fn format_time(val: u64, width: usize) -> String {
    const S: u64 = 1_000_000_000;
    let s = if val >= 3600 * S {
        format!(
            "{:02}:{:02}:{:02}",
            val / (3600 * S),
            (val / (60 * S)) % 60,
            (val / S) % 60
        )
    } else if val >= 60 * S {
        format!("{}:{}", val / (60 * S), (val / S) % 60)
    } else if val >= S {
        format!("{}.{:02}s", val / S, (val % S) / 10_000_000)
    } else if val >= S / 100 {
        format!("{}ms", val / (S / 1000))
    } else if val >= S / 1000 {
        format!("{}.{:02}ms", val / (S / 1000), (val % 1_000_000) / 10_000)
    } else if val >= S / 100_000 {
        format!("{}us", val / (S / 1_000_000))
    } else if val >= S / 1_000_000 {
        format!("{}.{:02}us", val / (S / 1_000_000), (val % 1000) / 10)
    } else {
        format!("{val}ns")
    };
    format!("{s:>width$}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bytes_and_times() {
        assert_eq!(format_bytes(137_363_456.0, 10, true), "      131M");
        assert_eq!(format_bytes(0.0, 10, false), "      0.00");
        assert_eq!(format_bytes(4014.08, 10, false), "     3.92K");
        assert_eq!(format_bytes(1.0, 10, true), "         1");
        assert_eq!(format_time(1_100_000_000, 0), "1.10s");
        assert_eq!(format_time(15_000_000, 0), "15ms");
        assert_eq!(format_time(3_200, 0), "3.20us");
    }

    #[test]
    fn aggregations() {
        let k = Kind::Int {
            bits: 32,
            signed: false,
        };
        let mut a = Cell {
            v: Val::I(4),
            cnt: 1,
        };
        a.add(
            k,
            Aggregation::Avg,
            Cell {
                v: Val::I(2),
                cnt: 1,
            },
        );
        assert_eq!(
            a,
            Cell {
                v: Val::I(6),
                cnt: 2
            }
        );
        let t = ColType {
            kind: k,
            pf: Pf::Dec,
            def: true,
        };
        assert_eq!(a.nice(t, 10, 0).trim(), "3.00");
        let mut m = Cell {
            v: Val::I(0),
            cnt: 0,
        };
        m.add(
            k,
            Aggregation::Min,
            Cell {
                v: Val::I(7),
                cnt: 1,
            },
        );
        m.add(
            k,
            Aggregation::Min,
            Cell {
                v: Val::I(3),
                cnt: 1,
            },
        );
        assert_eq!(m.v, Val::I(3));
        let mut w = Cell {
            v: Val::I(u32::MAX as i64),
            cnt: 1,
        };
        w.add(
            k,
            Aggregation::Sum,
            Cell {
                v: Val::I(2),
                cnt: 1,
            },
        );
        assert_eq!(w.v, Val::I(1));
    }
}
