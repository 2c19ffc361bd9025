//! `add_key`'s key: the digest of the field values' string forms, in Teraslice's URL-safe
//! base64 (no `=`, `/`→`_`, `+`→`-`), and the location truncation applied before hashing.
use base64::Engine;
use serde_json::Value;
use sha2::Digest;

use super::value::js_string;

pub const ALGORITHMS: &[&str] = &["md4", "md5", "sha1", "sha256", "sha512", "whirlpool"];

fn digest<D: Digest>(input: &[u8]) -> Vec<u8> {
    D::digest(input).to_vec()
}

/// The key of `input` under `algorithm` (one of [`ALGORITHMS`]; anything else is md5).
pub fn hash(algorithm: &str, input: &str) -> String {
    let bytes = input.as_bytes();
    let raw = match algorithm {
        "md4" => digest::<md4::Md4>(bytes),
        "sha1" => digest::<sha1::Sha1>(bytes),
        "sha256" => digest::<sha2::Sha256>(bytes),
        "sha512" => digest::<sha2::Sha512>(bytes),
        "whirlpool" => digest::<whirlpool::Whirlpool>(bytes),
        _ => digest::<md5::Md5>(bytes),
    };
    base64::engine::general_purpose::STANDARD
        .encode(raw)
        .trim_end_matches('=')
        .replace('/', "_")
        .replace('+', "-")
}

/// The string a value contributes: `String(v)`, except plain objects, which are flattened so
/// key order does not matter (JSON text split on `,` and `{`, sorted, `"` and `}` removed).
pub fn value_text(v: &Value) -> String {
    match v {
        Value::Object(_) => {
            let json = v.to_string();
            let mut pieces: Vec<&str> = json.split([',', '{']).collect();
            pieces.sort_unstable();
            pieces.concat().replace(['"', '}'], "")
        }
        other => js_string(other),
    }
}

/// Cuts (does not round) a number to `places` decimals, on its decimal text so `33.12` stays
/// `33.12` (`33.12 * 100` is `3311.99…` in binary).
fn cut(n: f64, places: u32) -> f64 {
    let text = n.to_string();
    let Some(dot) = text.find('.') else {
        return n;
    };
    let end = (dot + 1 + places as usize).min(text.len());
    let kept = if places == 0 {
        &text[..dot]
    } else {
        &text[..end]
    };
    kept.parse().unwrap_or(n)
}

fn cut_value(v: &Value, places: u32) -> Value {
    match v {
        Value::Number(n) => n
            .as_f64()
            .map_or_else(|| v.clone(), |f| Value::from(cut(f, places))),
        Value::String(s) => s.trim().parse::<f64>().map_or_else(
            |_| v.clone(),
            |f| Value::String(js_string(&Value::from(cut(f, places)))),
        ),
        other => other.clone(),
    }
}

fn cut_text(s: &str, places: u32) -> Option<String> {
    let f: f64 = s.trim().parse().ok()?;
    Some(js_string(&Value::from(cut(f, places))))
}

/// A location with its coordinates truncated: GeoJSON points, `{lat, lon}`, `[lon, lat]`,
/// `"POINT (lon lat)"`, `"lat,lon"` (re-emitted as `"lat, lon"`) and bare numbers; anything
/// else (e.g. a geohash) is left as it is.
pub fn truncate_location(v: &Value, places: u32) -> Value {
    match v {
        Value::Object(m) if m.get("coordinates").is_some_and(Value::is_array) => {
            let mut m = m.clone();
            if let Some(c) = m.get("coordinates").map(|c| truncate_location(c, places)) {
                m.insert("coordinates".into(), c);
            }
            Value::Object(m)
        }
        Value::Object(m) => Value::Object(
            m.iter()
                .map(|(k, x)| {
                    let cut = matches!(k.as_str(), "lat" | "lon" | "latitude" | "longitude");
                    (
                        k.clone(),
                        if cut { cut_value(x, places) } else { x.clone() },
                    )
                })
                .collect(),
        ),
        Value::Array(items) if items.iter().all(Value::is_number) => {
            Value::Array(items.iter().map(|x| cut_value(x, places)).collect())
        }
        Value::Number(_) => cut_value(v, places),
        Value::String(s) => Value::String(truncate_text(s, places).unwrap_or_else(|| s.clone())),
        other => other.clone(),
    }
}

fn truncate_text(s: &str, places: u32) -> Option<String> {
    let t = s.trim();
    if let Some(inner) = t
        .strip_prefix("POINT")
        .map(str::trim)
        .and_then(|r| r.strip_prefix('('))
        .and_then(|r| r.strip_suffix(')'))
    {
        let mut parts = inner.split_whitespace();
        let (lon, lat) = (parts.next()?, parts.next()?);
        return Some(format!(
            "POINT ({} {})",
            cut_text(lon, places)?,
            cut_text(lat, places)?
        ));
    }
    if let Some((lat, lon)) = t.split_once(',') {
        return Some(format!(
            "{}, {}",
            cut_text(lat, places)?,
            cut_text(lon, places)?
        ));
    }
    cut_text(t, places)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn known_digests_in_teraslice_form() {
        // md5("") = 1B2M2Y8AsgTpgAmY7PhCfg== in standard base64.
        assert_eq!(hash("md5", ""), "1B2M2Y8AsgTpgAmY7PhCfg");
        assert_eq!(value_text(&json!({"b": 1, "a": "x"})), "a:xb:1");
        assert_eq!(
            truncate_location(&json!("33.123456,-111.987654"), 2),
            json!("33.12, -111.98")
        );
        assert_eq!(
            truncate_location(&json!({"lat": 1.23456, "lon": 2.5}), 1),
            json!({"lat": 1.2, "lon": 2.5})
        );
    }
}
