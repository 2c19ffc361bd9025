//! Dates as Teraslice writes them: ISO 8601 in UTC with milliseconds and `Z`
//! (`2026-12-06T13:55:58.896Z`, JavaScript's `Date.toISOString()`). Any RFC 3339 date reads back.
use chrono::{DateTime, SecondsFormat, Utc};

/// `t` as `2026-12-06T13:55:58.896Z`.
pub fn iso_millis(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// The current time as `2026-12-06T13:55:58.896Z`.
pub fn now_iso() -> String {
    iso_millis(Utc::now())
}

/// The current time to the millisecond: what a record stamped now reads back as.
pub fn now() -> DateTime<Utc> {
    let t = Utc::now();
    DateTime::from_timestamp_millis(t.timestamp_millis()).unwrap_or(t)
}

/// `#[serde(with = "teraslice_core::time::millis")]` for a `DateTime<Utc>` field.
pub mod millis {
    use chrono::{DateTime, Utc};
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(t: &DateTime<Utc>, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&super::iso_millis(*t))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<DateTime<Utc>, D::Error> {
        DateTime::<Utc>::deserialize(d)
    }
}

/// `#[serde(with = "teraslice_core::time::millis_opt")]` for an `Option<DateTime<Utc>>` field.
pub mod millis_opt {
    use chrono::{DateTime, Utc};
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(t: &Option<DateTime<Utc>>, s: S) -> Result<S::Ok, S::Error> {
        match t {
            Some(t) => s.serialize_str(&super::iso_millis(*t)),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<DateTime<Utc>>, D::Error> {
        Option::<DateTime<Utc>>::deserialize(d)
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    #[test]
    fn dates_have_milliseconds_and_z() {
        let t = chrono::Utc
            .timestamp_nanos(1_796_565_358_896_123_456)
            .to_utc();
        assert_eq!(super::iso_millis(t), "2026-12-06T13:55:58.896Z");
        let whole = chrono::Utc.timestamp_opt(1_796_565_358, 0).unwrap();
        assert_eq!(super::iso_millis(whole), "2026-12-06T13:55:58.000Z");
    }
}
