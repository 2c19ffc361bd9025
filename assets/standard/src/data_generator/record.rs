//! One generated record, field by field as teraslice-assets.md §1.2 describes it.
use chrono::{DateTime, Local, SecondsFormat, TimeZone, Utc};
use rand::Rng;
use serde_json::{Map, Value};

use super::config::{DateFormat, GenConfig};

const WORDS: &[&str] = &[
    "alpha", "amber", "arrow", "atlas", "beacon", "birch", "cobalt", "comet", "coral", "delta",
    "ember", "falcon", "fern", "garnet", "harbor", "indigo", "jasper", "juniper", "kestrel",
    "lumen", "maple", "meadow", "nectar", "nimbus", "onyx", "orchid", "pebble", "quartz", "raven",
    "sable", "summit", "tangle", "tundra", "umber", "velvet", "willow", "xenon", "yonder",
    "zephyr",
];
const TLDS: &[&str] = &["com", "net", "org", "biz", "info", "name", "io", "co"];
const SYSTEMS: &[&str] = &[
    "Windows NT 10.0; Win64; x64",
    "Windows NT 6.1; WOW64",
    "X11; Linux x86_64",
    "Macintosh; Intel Mac OS X 10_15_7",
    "X11; Ubuntu; Linux i686",
];

fn pick<'a>(rng: &mut impl Rng, from: &[&'a str]) -> &'a str {
    from.get(rng.random_range(0..from.len()))
        .copied()
        .unwrap_or_default()
}

/// `YYYY-MM-DDTHH:mm:ss.SSS±HH:MM` in the worker's zone (moment's default format).
pub fn local_format(t: DateTime<Utc>) -> String {
    t.with_timezone(&Local)
        .to_rfc3339_opts(SecondsFormat::Millis, false)
}

/// `Date.toISOString()`.
pub fn utc_format(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

fn ipv4(rng: &mut impl Rng) -> String {
    std::net::Ipv4Addr::from(rng.random::<[u8; 4]>()).to_string()
}

/// Eight groups of four hex digits, leading zeros kept (not the compressed `::` form).
fn ipv6(rng: &mut impl Rng) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let bytes: [u8; 16] = rng.random();
    let mut out = String::with_capacity(39);
    for (i, b) in bytes.iter().enumerate() {
        if i > 0 && i % 2 == 0 {
            out.push(':');
        }
        out.push(char::from(HEX[usize::from(b >> 4)]));
        out.push(char::from(HEX[usize::from(b & 0xf)]));
    }
    out
}

fn user_agent(rng: &mut impl Rng) -> String {
    let os = pick(rng, SYSTEMS);
    let major = rng.random_range(60..130);
    let (build, patch) = (rng.random_range(3000..6500), rng.random_range(0..200));
    match rng.random_range(0..4) {
        0 => format!("Mozilla/5.0 ({os}) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/{major}.0.{build}.{patch} Safari/537.36"),
        1 => format!("Mozilla/5.0 ({os}; rv:{major}.0) Gecko/20100101 Firefox/{major}.0"),
        2 => format!(
            "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_{}_{}) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/{}.{} Safari/605.1.15",
            rng.random_range(9..16),
            rng.random_range(0..8),
            rng.random_range(10..18),
            rng.random_range(0..4)
        ),
        _ => format!("Mozilla/5.0 ({os}) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/{major}.0.{build}.{patch} Safari/537.36 Edg/{major}.0.{build}.{patch}"),
    }
}

fn url(rng: &mut impl Rng) -> String {
    let word = pick(rng, WORDS);
    let tld = pick(rng, TLDS);
    let slash = if rng.random_bool(0.5) { "/" } else { "" };
    format!("https://{word}.{tld}{slash}")
}

fn uuid(rng: &mut impl Rng) -> String {
    uuid::Builder::from_random_bytes(rng.random())
        .into_uuid()
        .to_string()
}

/// `"<lat>, <lon>"` with exactly 5 decimals (drawn as integers so the bounds are exact, and
/// written as integers: float formatting was the slowest part of a record).
fn location(rng: &mut impl Rng) -> String {
    let mut out = String::with_capacity(24);
    push_fixed5(&mut out, rng.random_range(-9_000_000..=9_000_000));
    out.push_str(", ");
    push_fixed5(&mut out, rng.random_range(-18_000_000..=18_000_000));
    out
}

/// `n / 100000` with exactly five decimals, e.g. -1234 → `-0.01234`.
fn push_fixed5(out: &mut String, n: i32) {
    use std::fmt::Write;
    let sign = if n < 0 { "-" } else { "" };
    let n = n.unsigned_abs();
    let _ = write!(out, "{sign}{}.{:05}", n / 100_000, n % 100_000);
}

/// Makes records for one fetcher; `range_end` is when the fetcher was built (the default `end`).
pub struct Generator {
    pub config: GenConfig,
    pub range_end: DateTime<Utc>,
}

impl Generator {
    fn date(&self, rng: &mut impl Rng) -> String {
        let mut between = || {
            let start = self.config.start.map_or(0, |d| d.timestamp_millis());
            let end = self.config.end.unwrap_or(self.range_end).timestamp_millis();
            let ms = if end > start {
                rng.random_range(start..end)
            } else {
                start
            };
            Utc.timestamp_millis_opt(ms)
                .single()
                .unwrap_or(self.range_end)
        };
        match self.config.format {
            DateFormat::DateNow => local_format(Utc::now()),
            DateFormat::UtcDate => utc_format(Utc::now()),
            DateFormat::IsoBetween => local_format(between()),
            DateFormat::UtcBetween => utc_format(between()),
        }
    }

    pub fn record(&self, rng: &mut impl Rng) -> Value {
        // Ten keys at most: ip … bytes, the date and `id`.
        let mut m = Map::with_capacity(10);
        let ip = if rng.random_bool(0.5) {
            ipv4(rng)
        } else {
            ipv6(rng)
        };
        m.insert("ip".into(), ip.into());
        m.insert("userAgent".into(), user_agent(rng).into());
        m.insert("url".into(), url(rng).into());
        m.insert("uuid".into(), uuid(rng).into());
        // Teraslice's order: `created` after `uuid`; another `date_key` replaces it and goes
        // after `bytes` (Teraslice deletes `created` and adds the new key at the end).
        let mut date = Some(self.date(rng));
        if self.config.date_key == "created" {
            m.insert("created".into(), date.take().into());
        }
        m.insert("ipv6".into(), ipv6(rng).into());
        m.insert("location".into(), location(rng).into());
        m.insert("bytes".into(), rng.random_range(7850..=5_642_867u64).into());
        if let Some(date) = date {
            m.insert(self.config.date_key.clone(), date.into());
        }
        if let Some(id) = &self.config.id {
            m.insert("id".into(), id.generate(rng).into());
        }
        Value::Object(m)
    }
}

#[cfg(test)]
mod tests {
    use super::push_fixed5;

    #[test]
    fn coordinates_have_five_decimals_and_keep_their_sign() {
        for (n, want) in [
            (-1234, "-0.01234"),
            (5, "0.00005"),
            (0, "0.00000"),
            (9_000_000, "90.00000"),
            (-18_000_000, "-180.00000"),
            (12_345_678, "123.45678"),
        ] {
            let mut out = String::new();
            push_fixed5(&mut out, n);
            assert_eq!(out, want, "{n}");
        }
    }
}
