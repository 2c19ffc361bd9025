//! `start` / `end` values: ISO 8601, epoch milliseconds, or Elasticsearch date math (`now-1d/d`).
use chrono::{
    DateTime, Datelike, Duration, Months, NaiveDate, NaiveDateTime, NaiveTime, TimeZone, Timelike,
    Utc,
};
use serde_json::Value;

pub const DATE_RULE: &str =
    "must be a date: ISO 8601 (2024-01-31T12:00:00Z), epoch milliseconds, or date math (now-1d)";

/// Parses a date value; zone-less strings are UTC.
pub fn parse_date(v: &Value, now: DateTime<Utc>) -> Result<DateTime<Utc>, String> {
    let bad = || format!("{DATE_RULE}, got {v}");
    match v {
        Value::Number(n) => n
            .as_i64()
            .and_then(|ms| Utc.timestamp_millis_opt(ms).single())
            .ok_or_else(bad),
        Value::String(s) => parse_str(s.trim(), now).ok_or_else(bad),
        _ => Err(bad()),
    }
}

fn parse_str(s: &str, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
    if let Some(math) = s.strip_prefix("now") {
        return date_math(now, math);
    }
    if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) {
        return Utc.timestamp_millis_opt(s.parse().ok()?).single();
    }
    if let Ok(d) = DateTime::parse_from_rfc3339(s) {
        return Some(d.with_timezone(&Utc));
    }
    for f in [
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%d %H:%M:%S%.f",
        "%Y-%m-%dT%H:%M",
    ] {
        if let Ok(d) = NaiveDateTime::parse_from_str(s, f) {
            return Some(d.and_utc());
        }
    }
    NaiveDate::parse_from_str(s, "%Y-%m-%d")
        .ok()
        .map(|d| d.and_time(NaiveTime::MIN).and_utc())
}

/// Applies `+N<unit>`, `-N<unit>` and `/<unit>` (round down) steps in order.
fn date_math(mut t: DateTime<Utc>, mut rest: &str) -> Option<DateTime<Utc>> {
    while let Some(op) = rest.chars().next() {
        rest = &rest[1..];
        if op == '/' {
            let (unit, tail) = split_unit(rest)?;
            t = round_down(t, unit)?;
            rest = tail;
            continue;
        }
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        let n: i64 = if digits == 0 {
            1
        } else {
            rest[..digits].parse().ok()?
        };
        let (unit, tail) = split_unit(&rest[digits..])?;
        rest = tail;
        let n = match op {
            '+' => n,
            '-' => -n,
            _ => return None,
        };
        t = add(t, n, unit)?;
    }
    Some(t)
}

fn split_unit(s: &str) -> Option<(char, &str)> {
    let c = s.chars().next()?;
    "yMwdhHms".contains(c).then(|| (c, &s[1..]))
}

fn add(t: DateTime<Utc>, n: i64, unit: char) -> Option<DateTime<Utc>> {
    let months = |m: i64| {
        let abs = Months::new(u32::try_from(m.unsigned_abs()).ok()?);
        if m >= 0 {
            t.checked_add_months(abs)
        } else {
            t.checked_sub_months(abs)
        }
    };
    match unit {
        'y' => months(n.checked_mul(12)?),
        'M' => months(n),
        'w' => t.checked_add_signed(Duration::try_weeks(n)?),
        'd' => t.checked_add_signed(Duration::try_days(n)?),
        'h' | 'H' => t.checked_add_signed(Duration::try_hours(n)?),
        'm' => t.checked_add_signed(Duration::try_minutes(n)?),
        's' => t.checked_add_signed(Duration::try_seconds(n)?),
        _ => None,
    }
}

fn round_down(t: DateTime<Utc>, unit: char) -> Option<DateTime<Utc>> {
    let day = t.date_naive();
    let at = |d: NaiveDate, h: u32, m: u32, s: u32| d.and_hms_opt(h, m, s).map(|x| x.and_utc());
    match unit {
        'y' => at(NaiveDate::from_ymd_opt(day.year(), 1, 1)?, 0, 0, 0),
        'M' => at(day.with_day(1)?, 0, 0, 0),
        'w' => at(
            day - Duration::days(i64::from(day.weekday().num_days_from_monday())),
            0,
            0,
            0,
        ),
        'd' => at(day, 0, 0, 0),
        'h' | 'H' => at(day, t.hour(), 0, 0),
        'm' => at(day, t.hour(), t.minute(), 0),
        's' => at(day, t.hour(), t.minute(), t.second()),
        _ => None,
    }
}

/// The ISO form start/end are normalised to at validation.
pub fn iso(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn parses_iso_epoch_and_date_math() -> Result<(), String> {
        let now = parse_date(&json!("2024-03-15T10:20:30.500Z"), Utc::now())?;
        assert_eq!(iso(parse_date(&json!(0), now)?), "1970-01-01T00:00:00.000Z");
        assert_eq!(
            iso(parse_date(&json!("2024-01-02"), now)?),
            "2024-01-02T00:00:00.000Z"
        );
        assert_eq!(
            iso(parse_date(&json!("now-1d/d"), now)?),
            "2024-03-14T00:00:00.000Z"
        );
        assert_eq!(
            iso(parse_date(&json!("now+2M"), now)?),
            "2024-05-15T10:20:30.500Z"
        );
        assert!(parse_date(&json!("tomorrow"), now).is_err());
        assert!(parse_date(&json!("now-1x"), now).is_err());
        Ok(())
    }
}
