//! Record field helpers with Teraslice's semantics: lodash-style paths (`a.b[0]`), JavaScript's
//! `String(value)`, and dates as JavaScript's `new Date(value)` reads them (in UTC).
use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use serde_json::{Map, Value};

enum Seg {
    Key(String),
    Index(usize),
}

/// `a.b[0].c` → `a`, `b`, 0, `c`.
fn segments(path: &str) -> Vec<Seg> {
    let mut out = Vec::new();
    for part in path.split('.') {
        let mut rest = part;
        if let Some(open) = rest.find('[') {
            if open > 0 {
                out.push(Seg::Key(rest[..open].to_string()));
            }
            rest = &rest[open..];
            while let Some(stripped) = rest.strip_prefix('[') {
                let Some(close) = stripped.find(']') else {
                    out.push(Seg::Key(rest.to_string()));
                    break;
                };
                let inner = &stripped[..close];
                match inner.parse::<usize>() {
                    Ok(i) => out.push(Seg::Index(i)),
                    Err(_) => out.push(Seg::Key(inner.trim_matches(['"', '\'']).to_string())),
                }
                rest = &stripped[close + 1..];
            }
        } else {
            out.push(Seg::Key(rest.to_string()));
        }
    }
    out
}

/// lodash `get`: a literal top-level key wins, then the path.
pub fn get_path<'a>(doc: &'a Value, path: &str) -> Option<&'a Value> {
    if let Some(v) = doc.get(path) {
        return Some(v);
    }
    let mut cur = doc;
    for seg in segments(path) {
        cur = match (seg, cur) {
            (Seg::Key(k), Value::Object(m)) => m.get(&k)?,
            (Seg::Index(i), Value::Array(a)) => a.get(i)?,
            (Seg::Index(i), Value::Object(m)) => m.get(&i.to_string())?,
            _ => return None,
        };
    }
    Some(cur)
}

/// lodash `set`: creates objects (or arrays before an index) on the way.
pub fn set_path(doc: &mut Value, path: &str, value: Value) {
    let segs = segments(path);
    let mut cur = doc;
    for (i, seg) in segs.iter().enumerate() {
        let last = i + 1 == segs.len();
        let next_is_index = matches!(segs.get(i + 1), Some(Seg::Index(_)));
        let fresh = || {
            if next_is_index {
                Value::Array(Vec::new())
            } else {
                Value::Object(Map::new())
            }
        };
        match seg {
            Seg::Index(idx) if cur.is_array() => {
                let Value::Array(a) = cur else { return };
                while a.len() <= *idx {
                    a.push(Value::Null);
                }
                if last {
                    a[*idx] = value;
                    return;
                }
                if !a[*idx].is_object() && !a[*idx].is_array() {
                    a[*idx] = fresh();
                }
                cur = &mut a[*idx];
            }
            seg => {
                let key = match seg {
                    Seg::Key(k) => k.clone(),
                    Seg::Index(i) => i.to_string(),
                };
                if !cur.is_object() {
                    *cur = Value::Object(Map::new());
                }
                let Value::Object(m) = cur else { return };
                if last {
                    m.insert(key, value);
                    return;
                }
                let slot = m.entry(key).or_insert_with(fresh);
                if !slot.is_object() && !slot.is_array() {
                    *slot = fresh();
                }
                cur = slot;
            }
        }
    }
}

/// JavaScript's `String(value)` (`undefined` is `None`).
pub fn js_string(v: &Value) -> String {
    match v {
        Value::Null => "null".into(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => js_number(n.as_f64().unwrap_or(0.0), n),
        Value::String(s) => s.clone(),
        Value::Array(items) => items
            .iter()
            .map(|i| {
                if i.is_null() {
                    String::new()
                } else {
                    js_string(i)
                }
            })
            .collect::<Vec<_>>()
            .join(","),
        Value::Object(_) => "[object Object]".into(),
    }
}

fn js_number(f: f64, n: &serde_json::Number) -> String {
    if n.is_i64() || n.is_u64() {
        return n.to_string();
    }
    // JavaScript prints integral doubles without a fraction.
    if f.fract() == 0.0 && f.abs() < 1e21 {
        format!("{}", f as i128)
    } else {
        f.to_string()
    }
}

/// Epoch ms of a date value: a number (epoch ms) or a date string; `None` when invalid.
pub fn parse_date(v: &Value) -> Option<i64> {
    match v {
        Value::Number(n) => n.as_f64().filter(|f| f.is_finite()).map(|f| f as i64),
        Value::String(s) => parse_date_str(s.trim()),
        _ => None,
    }
}

fn parse_date_str(s: &str) -> Option<i64> {
    if let Ok(d) = DateTime::parse_from_rfc3339(s) {
        return Some(d.timestamp_millis());
    }
    if let Ok(d) = DateTime::parse_from_rfc2822(s) {
        return Some(d.timestamp_millis());
    }
    for fmt in [
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%d %H:%M:%S%.f",
        "%Y-%m-%dT%H:%M",
    ] {
        if let Ok(d) = NaiveDateTime::parse_from_str(s, fmt) {
            return Some(d.and_utc().timestamp_millis());
        }
    }
    for fmt in ["%Y-%m-%d %H:%M:%S%.f%#z", "%Y-%m-%dT%H:%M:%S%.f%#z"] {
        if let Ok(d) = DateTime::parse_from_str(s, fmt) {
            return Some(d.timestamp_millis());
        }
    }
    for fmt in ["%Y-%m-%d", "%Y/%m/%d", "%m/%d/%Y"] {
        if let Ok(d) = NaiveDate::parse_from_str(s, fmt) {
            return d
                .and_hms_opt(0, 0, 0)
                .map(|d| d.and_utc().timestamp_millis());
        }
    }
    None
}

/// An epoch-ms time as a UTC date.
pub fn utc(ms: i64) -> Option<DateTime<Utc>> {
    DateTime::from_timestamp_millis(ms)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn paths_get_and_set_like_lodash() {
        let mut doc = json!({"a": {"b": [1, {"c": 2}]}, "x.y": 3});
        assert_eq!(get_path(&doc, "a.b[1].c"), Some(&json!(2)));
        assert_eq!(get_path(&doc, "x.y"), Some(&json!(3)));
        assert_eq!(get_path(&doc, "a.z"), None);
        set_path(&mut doc, "n.m", json!(true));
        set_path(&mut doc, "a.b[0]", json!(9));
        assert_eq!(doc["n"]["m"], json!(true));
        assert_eq!(doc["a"]["b"][0], json!(9));
    }

    #[test]
    fn strings_and_dates_follow_javascript() {
        assert_eq!(js_string(&json!([1, null, "a"])), "1,,a");
        assert_eq!(js_string(&json!(2.0)), "2");
        assert_eq!(js_string(&json!(2.5)), "2.5");
        assert_eq!(parse_date(&json!("2020-01-05")), Some(1_578_182_400_000));
        assert_eq!(
            parse_date(&json!("2020-01-05T13:00:00Z")),
            Some(1_578_229_200_000)
        );
        assert_eq!(parse_date(&json!("nope")), None);
    }
}
