//! Records as stored: the Teraslice JSON document as text, plus sortable index keys.
use chrono::{DateTime, SecondsFormat, Utc};
use serde::de::DeserializeOwned;
use serde::Serialize;
use teraslice_core::store::StoreError;

/// Serializes a record to the JSON text stored in the `doc` column.
pub(crate) fn to_doc<T: Serialize>(kind: &str, id: &str, record: &T) -> Result<String, StoreError> {
    serde_json::to_string(record)
        .map_err(|e| StoreError::Data(format!("cannot serialize {kind} {id} to JSON: {e}")))
}

/// Parses a stored `doc` column back into a record.
pub(crate) fn from_doc<T: DeserializeOwned>(
    kind: &str,
    id: &str,
    doc: &str,
) -> Result<T, StoreError> {
    serde_json::from_str(doc).map_err(|e| {
        StoreError::Data(format!(
            "stored {kind} {id} is not a valid {kind} document: {e}"
        ))
    })
}

/// A fixed-width RFC 3339 timestamp (nanoseconds, `Z`) whose text order is time order.
pub(crate) fn time_key(t: &DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Nanos, true)
}

/// `LIMIT`/`OFFSET` values: SQLite integers are i64; larger means "no limit".
pub(crate) fn sql_count(n: usize) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests {
    use chrono::{Duration, TimeZone};

    use super::*;

    #[test]
    fn time_keys_sort_in_time_order() {
        let base = Utc.with_ymd_and_hms(2024, 5, 17, 10, 0, 0).single();
        let base = base.unwrap_or_default();
        // RFC 3339 with trimmed fractions would sort "10:00:00Z" after "10:00:00.5Z".
        let times = [
            base,
            base + Duration::nanoseconds(1),
            base + Duration::milliseconds(5),
            base + Duration::milliseconds(500),
            base + Duration::seconds(1),
            base + Duration::days(400),
        ];
        let keys: Vec<String> = times.iter().map(time_key).collect();
        let mut sorted = keys.clone();
        sorted.sort();
        assert_eq!(keys, sorted);
        assert_eq!(keys[0], "2024-05-17T10:00:00.000000000Z");
    }
}
