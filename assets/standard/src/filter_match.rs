//! What `filter` compares with: strict equality, `/pattern/flags` regexes, CIDR ranges, named
//! validators and estimated sizes.
use std::net::IpAddr;

use regex::Regex;
use serde_json::Value;

use super::value::{js_string, parse_date};

/// Parses Teraslice's `"/pattern/flags"` (a bare string is the pattern itself).
pub fn parse_regex(s: &str) -> Result<Regex, String> {
    let (pattern, flags) = match s
        .strip_prefix('/')
        .and_then(|r| r.rfind('/').map(|i| (&r[..i], &r[i + 1..])))
    {
        Some((p, f)) => (p, f),
        None => (s, ""),
    };
    let mut inline = String::new();
    for f in flags.chars() {
        match f {
            'i' | 'm' | 's' => inline.push(f),
            // g, y, d and u change nothing for a yes/no test.
            'g' | 'y' | 'd' | 'u' => {}
            other => {
                return Err(format!(
                    "flag \"{other}\" is not a regex flag (allowed: d g i m s u y)"
                ))
            }
        }
    }
    let full = if inline.is_empty() {
        pattern.to_string()
    } else {
        format!("(?{inline}){pattern}")
    };
    Regex::new(&full).map_err(|e| format!("is not a valid regex: {e}"))
}

/// An IP range: `a.b.c.d/n`, `x::/n`, or a single address.
#[derive(Debug, Clone)]
pub struct Cidr {
    net: IpAddr,
    bits: u8,
}

impl Cidr {
    pub fn parse(s: &str) -> Result<Cidr, String> {
        let (addr, bits) = match s.split_once('/') {
            Some((a, b)) => (a, Some(b)),
            None => (s, None),
        };
        let net: IpAddr = addr
            .trim()
            .parse()
            .map_err(|_| format!("\"{s}\" is not an IP address or CIDR range"))?;
        let max = if net.is_ipv4() { 32 } else { 128 };
        let bits = match bits {
            None => max,
            Some(b) => b
                .trim()
                .parse::<u8>()
                .ok()
                .filter(|b| *b <= max)
                .ok_or_else(|| format!("\"{s}\": the prefix length must be 0 to {max}"))?,
        };
        Ok(Cidr { net, bits })
    }
    pub fn contains(&self, ip: &IpAddr) -> bool {
        let (a, b, width) = match (self.net, ip) {
            (IpAddr::V4(n), IpAddr::V4(i)) => {
                (u128::from(u32::from(n)), u128::from(u32::from(*i)), 32)
            }
            (IpAddr::V6(n), IpAddr::V6(i)) => (u128::from(n), u128::from(*i), 128),
            _ => return false,
        };
        if self.bits == 0 {
            return true;
        }
        let shift = width - u32::from(self.bits);
        (a >> shift) == (b >> shift)
    }
}

/// The validators `filter_by: "validator"` can name (a subset of data-mate's FieldValidator).
pub const VALIDATORS: &[&str] = &[
    "isBoolean",
    "isNumber",
    "isInteger",
    "isString",
    "isArray",
    "isEmail",
    "isIP",
    "isUUID",
    "isISO8601",
    "inNumberRange",
    "contains",
    "isNil",
];

/// Runs validator `name` on `v` with `args` (`inNumberRange`: `{min, max, inclusive}`;
/// `contains`: `{value}`).
pub fn validate(name: &str, v: Option<&Value>, args: &Value) -> bool {
    let s = v.and_then(Value::as_str);
    match name {
        "isBoolean" => v.is_some_and(Value::is_boolean),
        "isNumber" => v.is_some_and(Value::is_number),
        "isInteger" => v.and_then(Value::as_f64).is_some_and(|f| f.fract() == 0.0),
        "isString" => v.is_some_and(Value::is_string),
        "isArray" => v.is_some_and(Value::is_array),
        "isNil" => v.is_none_or(Value::is_null),
        "isEmail" => s.is_some_and(|s| {
            s.split_once('@').is_some_and(|(u, d)| {
                !u.is_empty()
                    && d.contains('.')
                    && !d.starts_with('.')
                    && !d.ends_with('.')
                    && !s.contains(char::is_whitespace)
            })
        }),
        "isIP" => s.is_some_and(|s| s.parse::<IpAddr>().is_ok()),
        "isUUID" => s.is_some_and(|s| uuid::Uuid::parse_str(s).is_ok()),
        "isISO8601" => s.is_some_and(|s| parse_date(&Value::from(s)).is_some()),
        "inNumberRange" => {
            let n = v.and_then(Value::as_f64);
            let min = args
                .get("min")
                .and_then(Value::as_f64)
                .unwrap_or(f64::NEG_INFINITY);
            let max = args
                .get("max")
                .and_then(Value::as_f64)
                .unwrap_or(f64::INFINITY);
            let inclusive = args
                .get("inclusive")
                .and_then(Value::as_bool)
                .unwrap_or(false);
            n.is_some_and(|n| {
                if inclusive {
                    n >= min && n <= max
                } else {
                    n > min && n < max
                }
            })
        }
        "contains" => {
            let needle = args.get("value").map(js_string).unwrap_or_default();
            s.is_some_and(|s| s.contains(&needle))
        }
        _ => false,
    }
}

/// Teraslice's size estimate in bytes: booleans 4, numbers 8, strings 2 per UTF-16 unit,
/// objects and arrays the sum over keys and values.
pub fn estimated_size(v: &Value) -> u64 {
    match v {
        Value::Null => 0,
        Value::Bool(_) => 4,
        Value::Number(_) => 8,
        Value::String(s) => 2 * s.encode_utf16().count() as u64,
        Value::Array(items) => items.iter().map(estimated_size).sum(),
        Value::Object(m) => m
            .iter()
            .map(|(k, v)| 2 * k.encode_utf16().count() as u64 + estimated_size(v))
            .sum(),
    }
}
