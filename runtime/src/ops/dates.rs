//! Dates in op configs, shared by the assets (the elasticsearch readers, `data_generator`):
//! `start`/`end` values (ISO 8601, epoch ms, date math), `interval`/`delay` (`<int><unit>`),
//! `time_resolution`, and the ISO forms slices and queries carry. Times are epoch ms.
use chrono::{
    DateTime, Datelike, Duration, Months, NaiveDate, NaiveDateTime, NaiveTime, TimeZone, Timelike,
    Utc,
};
use serde_json::Value;

/// What a date value may be, for validation messages.
pub const DATE_RULE: &str =
    "must be a date: ISO 8601 (2024-01-31T12:00:00Z), epoch milliseconds, or date math (now-1d)";

/// Parses a date value; zone-less strings are UTC.
pub fn parse_date(v: &Value, now: DateTime<Utc>) -> Result<i64, String> {
    let bad = || format!("{DATE_RULE}, got {v}");
    match v {
        Value::Number(n) => n.as_i64().ok_or_else(bad),
        Value::String(s) => parse_str(s.trim(), now)
            .map(|d| d.timestamp_millis())
            .ok_or_else(bad),
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
    // Slices step by each char's UTF-8 length: user input may hold any character.
    while let Some(op) = rest.chars().next() {
        rest = &rest[op.len_utf8()..];
        let c = rest.chars().next()?;
        if op == '/' {
            t = round_down(t, c)?;
            rest = &rest[c.len_utf8()..];
            continue;
        }
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        let n: i64 = if digits == 0 {
            1
        } else {
            rest[..digits].parse().ok()?
        };
        let unit = rest[digits..].chars().next()?;
        rest = &rest[digits + unit.len_utf8()..];
        let unit = match unit {
            'y' => Unit::Year,
            'M' => Unit::Month,
            'w' => Unit::Week,
            'd' => Unit::Day,
            'h' | 'H' => Unit::Hour,
            'm' => Unit::Minute,
            's' => Unit::Second,
            _ => return None,
        };
        let n = match op {
            '+' => n,
            '-' => -n,
            _ => return None,
        };
        t = Utc
            .timestamp_millis_opt(Interval { n, unit }.add(t.timestamp_millis())?)
            .single()?;
    }
    Some(t)
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

/// The unit of an [`Interval`].
#[allow(missing_docs)] // the variants are their names
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    Year,
    Month,
    Week,
    Day,
    Hour,
    Minute,
    Second,
    Ms,
}

/// What an interval may be, for validation messages.
pub const INTERVAL_RULE: &str = "must be <integer><unit> with unit one of y/year/years, M/mo/mos/month/months, w/wk/wks/week/weeks, d/day/days, h/hr/hrs/hour/hours, m/min/mins/minute/minutes, s/second/seconds, ms/millisecond/milliseconds (M is month, m is minute)";

/// A fixed `interval`/`delay`, e.g. `5m` = `{n: 5, unit: Minute}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Interval {
    /// How many units (negative: backwards).
    pub n: i64,
    /// The unit.
    pub unit: Unit,
}

impl Interval {
    /// Parses `<int><unit>` (`5m`, `1day`); the count must be at least 1.
    pub fn parse(s: &str) -> Result<Interval, String> {
        let digits = s.bytes().take_while(u8::is_ascii_digit).count();
        let n: i64 = s[..digits]
            .parse()
            .map_err(|_| format!("{INTERVAL_RULE}, got \"{s}\""))?;
        let unit = match &s[digits..] {
            "y" | "year" | "years" => Unit::Year,
            "M" | "mo" | "mos" | "month" | "months" => Unit::Month,
            "w" | "wk" | "wks" | "week" | "weeks" => Unit::Week,
            "d" | "day" | "days" => Unit::Day,
            "h" | "hr" | "hrs" | "hour" | "hours" => Unit::Hour,
            "m" | "min" | "mins" | "minute" | "minutes" => Unit::Minute,
            "s" | "second" | "seconds" => Unit::Second,
            "ms" | "millisecond" | "milliseconds" => Unit::Ms,
            _ => return Err(format!("{INTERVAL_RULE}, got \"{s}\"")),
        };
        if n == 0 {
            return Err(format!(
                "{INTERVAL_RULE} and a count of at least 1, got \"{s}\""
            ));
        }
        Ok(Interval { n, unit })
    }

    /// `n` milliseconds.
    pub fn ms(n: i64) -> Interval {
        Interval { n, unit: Unit::Ms }
    }

    /// `t + self` (calendar months and years, as moment's `add`).
    pub fn add(&self, t: i64) -> Option<i64> {
        let fixed = |per: i64| t.checked_add(self.n.checked_mul(per)?);
        match self.unit {
            Unit::Year | Unit::Month => {
                let months = if self.unit == Unit::Year {
                    self.n.checked_mul(12)?
                } else {
                    self.n
                };
                let d = Utc.timestamp_millis_opt(t).single()?;
                let m = Months::new(u32::try_from(months.unsigned_abs()).ok()?);
                let d = if months >= 0 {
                    d.checked_add_months(m)?
                } else {
                    d.checked_sub_months(m)?
                };
                Some(d.timestamp_millis())
            }
            Unit::Week => fixed(604_800_000),
            Unit::Day => fixed(86_400_000),
            Unit::Hour => fixed(3_600_000),
            Unit::Minute => fixed(60_000),
            Unit::Second => fixed(1000),
            Unit::Ms => fixed(1),
        }
    }

    /// `t - self`.
    pub fn sub(&self, t: i64) -> Option<i64> {
        Interval {
            n: -self.n,
            unit: self.unit,
        }
        .add(t)
    }
}

/// `time_resolution`: `s` (the default) or `ms`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resolution {
    /// Whole seconds.
    Seconds,
    /// Milliseconds.
    Millis,
}

impl Resolution {
    /// Parses `s`/`second(s)` or `ms`/`millisecond(s)`.
    pub fn parse(s: &str) -> Option<Resolution> {
        match s {
            "s" | "second" | "seconds" => Some(Resolution::Seconds),
            "ms" | "millisecond" | "milliseconds" => Some(Resolution::Millis),
            _ => None,
        }
    }
    /// One unit, in milliseconds.
    pub fn unit_ms(self) -> i64 {
        match self {
            Resolution::Seconds => 1000,
            Resolution::Millis => 1,
        }
    }
    /// `t` truncated to the resolution.
    pub fn trunc(self, t: i64) -> i64 {
        t - t.rem_euclid(self.unit_ms())
    }
}

/// The ISO form slices carry: `2019-04-26T15:00:23.201Z`.
pub fn iso(t: i64) -> String {
    match Utc.timestamp_millis_opt(t).single() {
        Some(d) => d.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string(),
        None => t.to_string(),
    }
}

/// Parses a slice's ISO date back to epoch ms.
pub fn parse_iso(s: &str) -> Option<i64> {
    DateTime::parse_from_rfc3339(s)
        .ok()
        .map(|d| d.timestamp_millis())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn dates_intervals_and_resolution() -> Result<(), String> {
        let now = Utc
            .timestamp_millis_opt(parse_date(&json!("2024-03-15T10:20:30.500Z"), Utc::now())?)
            .single()
            .ok_or("now")?;
        assert_eq!(
            iso(parse_date(&json!("now-1d/d"), now)?),
            "2024-03-14T00:00:00.000Z"
        );
        assert_eq!(iso(parse_date(&json!(0), now)?), "1970-01-01T00:00:00.000Z");
        assert_eq!(
            iso(parse_date(&json!("2024-01-02"), now)?),
            "2024-01-02T00:00:00.000Z"
        );
        assert_eq!(
            iso(parse_date(&json!("now+2M"), now)?),
            "2024-05-15T10:20:30.500Z"
        );
        for bad in ["tomorrow", "now-1x", "now€", "now+1€", "now/é"] {
            assert!(parse_date(&json!(bad), now).is_err(), "{bad}");
        }
        assert_eq!(
            Interval::parse("5mins")?,
            Interval {
                n: 5,
                unit: Unit::Minute
            }
        );
        assert_eq!(Interval::parse("2M")?.unit, Unit::Month);
        assert!(
            Interval::parse("5 m").is_err()
                && Interval::parse("m").is_err()
                && Interval::parse("0s").is_err()
        );
        let jan31 = parse_date(&json!("2024-01-31T00:00:00Z"), now)?;
        assert_eq!(
            Interval::parse("1M")?.add(jan31).map(iso),
            Some("2024-02-29T00:00:00.000Z".into())
        );
        assert_eq!(Resolution::Seconds.trunc(1_999), 1_000);
        Ok(())
    }
}
