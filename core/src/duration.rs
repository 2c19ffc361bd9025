//! Teraslice durations: an integer number of milliseconds or a human string such as `"5 minutes"`.

/// Parses a duration in ms. Accepts a non-negative integer (or integer string) or `"<int> <unit>"`
/// with units ms, second(s), minute(s), hour(s), day(s) (and their short forms).
pub fn parse_duration_ms(value: &serde_json::Value) -> Result<u64, String> {
    match value {
        serde_json::Value::Number(n) => n.as_u64().ok_or_else(|| {
            format!("must be a non-negative integer number of milliseconds, got {n}")
        }),
        serde_json::Value::String(s) => parse_duration_str(s),
        other => Err(format!(
            "must be a number of milliseconds or a string like \"5 minutes\", got {other}"
        )),
    }
}

pub fn parse_duration_str(s: &str) -> Result<u64, String> {
    let t = s.trim();
    if let Ok(ms) = t.parse::<u64>() {
        return Ok(ms);
    }
    let bad = || {
        format!("must be a number of milliseconds or \"<integer> <unit>\" (ms, seconds, minutes, hours, days), got \"{s}\"")
    };
    let split = t.find(|c: char| !c.is_ascii_digit()).ok_or_else(bad)?;
    let (num, unit) = t.split_at(split);
    let n: u64 = num.parse().map_err(|_| bad())?;
    let factor = match unit.trim().to_ascii_lowercase().as_str() {
        "ms" | "millisecond" | "milliseconds" => 1,
        "s" | "sec" | "second" | "seconds" => 1_000,
        "m" | "min" | "minute" | "minutes" => 60_000,
        "h" | "hour" | "hours" => 3_600_000,
        "d" | "day" | "days" => 86_400_000,
        _ => return Err(bad()),
    };
    n.checked_mul(factor).ok_or_else(bad)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn parses_numbers_and_strings() {
        assert_eq!(parse_duration_ms(&json!(1500)), Ok(1500));
        assert_eq!(parse_duration_ms(&json!("2 minutes")), Ok(120_000));
        assert_eq!(parse_duration_ms(&json!("30 seconds")), Ok(30_000));
        assert_eq!(parse_duration_ms(&json!("300000")), Ok(300_000));
        assert!(parse_duration_ms(&json!(-1)).is_err());
        assert!(parse_duration_ms(&json!("soon")).is_err());
        assert!(parse_duration_ms(&json!(true)).is_err());
    }
}
