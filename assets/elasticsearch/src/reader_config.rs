//! `elasticsearch_reader_api` settings (teraslice-assets.md §3.2), shared by `elasticsearch_reader`
//! and `id_reader`, with Teraslice's defaults and cross-checks.
use serde_json::{Map, Value};
use teraslice_core::job::ValidationError;

use super::check::Check;
use super::keys::KeyType;
use teraslice_runtime::ops::dates::{parse_date, Interval, Resolution};

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct GeoPoint {
    pub lat: f64,
    pub lon: f64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Geo {
    pub field: String,
    pub top_left: Option<GeoPoint>,
    pub bottom_right: Option<GeoPoint>,
    pub point: Option<GeoPoint>,
    pub distance: Option<String>,
    pub sort_point: Option<GeoPoint>,
    pub sort_order: Option<String>,
    pub sort_unit: Option<String>,
}

#[derive(Debug, Clone)]
pub struct ReaderConfig {
    pub index: String,
    pub connection: String,
    pub size: u64,
    pub date_field_name: Option<String>,
    pub start: Option<Value>,
    pub end: Option<Value>,
    /// `None` = `auto`.
    pub interval: Option<Interval>,
    pub delay: Option<Interval>,
    pub resolution: Resolution,
    pub query: String,
    pub fields: Option<Vec<String>>,
    pub id_field_name: Option<String>,
    pub subslice_by_key: bool,
    pub subslice_key_threshold: u64,
    pub key_type: KeyType,
    pub key_range: Option<Vec<String>>,
    pub starting_key_depth: u64,
    pub geo: Option<Geo>,
    pub use_simple_fetch: bool,
    pub total_optimization: bool,
    pub recurse_optimization: bool,
}

const UNITS: &[&str] = &["mi", "yd", "ft", "km", "m"];

impl ReaderConfig {
    /// Checks `cfg` (API entry or legacy op) and fills its defaults; `job` for the cross-checks.
    pub fn parse(
        cfg: &mut Map<String, Value>,
        job: &Value,
    ) -> Result<ReaderConfig, Vec<ValidationError>> {
        if let Some(field) = cfg.shift_remove("field") {
            tracing::warn!("elasticsearch reader: `field` is deprecated, use `id_field_name`");
            cfg.entry("id_field_name").or_insert(field);
        }
        let mut c = Check::new(cfg);
        let index = c.index();
        let connection = c.connection();
        let size = c.int("size", 5000, 1);
        let date_field_name = c.opt_string("date_field_name");
        let now = chrono::Utc::now();
        let date = |c: &mut Check, key: &str| {
            c.cfg.entry(key).or_insert(Value::Null);
            let v = c.get(key).cloned()?;
            match parse_date(&v, now) {
                Ok(_) => Some(v),
                Err(e) => {
                    c.fail(key, e);
                    None
                }
            }
        };
        let start = date(&mut c, "start");
        let end = date(&mut c, "end");
        let interval = match c.string("interval", "auto").as_str() {
            "auto" => None,
            s => Interval::parse(s)
                .map_err(|e| c.fail("interval", format!("{e}, or \"auto\"")))
                .ok(),
        };
        let delay = match c.string("delay", "30s").as_str() {
            "auto" => None,
            s => Interval::parse(s)
                .map_err(|e| c.fail("delay", format!("{e}, or \"auto\"")))
                .ok(),
        };
        let res = c.one_of(
            "time_resolution",
            &[
                "s",
                "second",
                "seconds",
                "ms",
                "millisecond",
                "milliseconds",
            ],
            "s",
        );
        let resolution = Resolution::parse(&res).unwrap_or(Resolution::Seconds);
        let query = c.string("query", "");
        let fields = c.strings("fields", false);
        let id_field_name = c.opt_string("id_field_name");
        let subslice_by_key = c.bool("subslice_by_key", false);
        let subslice_key_threshold = c.int("subslice_key_threshold", 50_000, 1);
        let key_type_name = c.one_of(
            "key_type",
            &["base64url", "base64", "hexadecimal", "HEXADECIMAL"],
            "base64url",
        );
        let key_type = KeyType::parse(&key_type_name).unwrap_or(KeyType::Base64Url);
        let key_range = c.strings("key_range", true);
        let starting_key_depth = c.int("starting_key_depth", 0, 0);
        let use_simple_fetch = c.bool("useSimpleFetch", false);
        let total_optimization = c.bool("total_optimization", false);
        let recurse_optimization = c.bool("recurse_optimization", false);
        let geo = geo(&mut c);
        // Cross-checks (Teraslice's validateJob).
        if subslice_by_key && id_field_name.is_none() {
            c.fail(
                "subslice_by_key",
                "needs id_field_name (the keyword field to slice by key)",
            );
        }
        if let Some(range) = &key_range {
            if let Some(bad) = range
                .iter()
                .find(|k| !k.chars().all(|ch| key_type.alphabet().contains(ch)))
            {
                c.fail(
                    "key_range",
                    format!("\"{bad}\" has characters outside the {key_type_name} alphabet"),
                );
            }
        }
        let slicers = job.get("slicers").and_then(Value::as_u64).unwrap_or(1);
        if let Some(range) = &key_range {
            if (range.len() as u64) < slicers {
                c.fail("key_range", format!("has {} keys but the job has {slicers} slicers; each slicer needs at least one key", range.len()));
            }
        }
        let persistent = job.get("lifecycle").and_then(Value::as_str) == Some("persistent");
        if persistent && interval.is_none() {
            c.fail(
                "interval",
                "cannot be \"auto\" in a persistent job: give a fixed interval such as \"5m\"",
            );
        }
        if persistent && delay.is_none() {
            c.fail(
                "delay",
                "cannot be \"auto\" in a persistent job: give a fixed delay such as \"30s\"",
            );
        }
        let errors = std::mem::take(&mut c.errors);
        if !errors.is_empty() {
            return Err(errors);
        }
        Ok(ReaderConfig {
            index,
            connection,
            size,
            date_field_name,
            start,
            end,
            interval,
            delay,
            resolution,
            query,
            fields,
            id_field_name,
            subslice_by_key,
            subslice_key_threshold,
            key_type,
            key_range,
            starting_key_depth,
            geo,
            use_simple_fetch,
            total_optimization,
            recurse_optimization,
        })
    }
}

/// `"lat,lon"` with lat in [-90, 90] and lon in [-180, 180].
fn point(c: &mut Check, key: &str) -> Option<GeoPoint> {
    let s = c.string(key, "");
    if s.is_empty() {
        return None;
    }
    let parsed = s
        .split_once(',')
        .and_then(|(a, b)| Some((a.trim().parse::<f64>().ok()?, b.trim().parse::<f64>().ok()?)));
    match parsed {
        Some((lat, lon)) if (-90.0..=90.0).contains(&lat) && (-180.0..=180.0).contains(&lon) => {
            Some(GeoPoint { lat, lon })
        }
        _ => {
            c.fail(
                key,
                format!(
                    "must be \"lat,lon\" with lat in [-90, 90] and lon in [-180, 180], got \"{s}\""
                ),
            );
            None
        }
    }
}

fn geo(c: &mut Check) -> Option<Geo> {
    let field = c.string("geo_field", "");
    let top_left = point(c, "geo_box_top_left");
    let bottom_right = point(c, "geo_box_bottom_right");
    let pt = point(c, "geo_point");
    let sort_point = point(c, "geo_sort_point");
    let distance = c.string("geo_distance", "");
    let distance_ok = {
        let n = distance.trim_end_matches(|ch: char| ch.is_ascii_alphabetic());
        !n.is_empty() && n.parse::<f64>().is_ok() && UNITS.contains(&&distance[n.len()..])
    };
    if !distance.is_empty() && !distance_ok {
        c.fail(
            "geo_distance",
            format!(
                "must be <number><unit> with unit one of {}, got \"{distance}\"",
                UNITS.join(", ")
            ),
        );
    }
    let sort_order = c.string("geo_sort_order", "");
    if !sort_order.is_empty() && !["asc", "desc"].contains(&sort_order.as_str()) {
        c.fail(
            "geo_sort_order",
            format!("must be asc or desc, got \"{sort_order}\""),
        );
    }
    let sort_unit = c.string("geo_sort_unit", "");
    if !sort_unit.is_empty() && !UNITS.contains(&sort_unit.as_str()) {
        c.fail(
            "geo_sort_unit",
            format!("must be one of {}, got \"{sort_unit}\"", UNITS.join(", ")),
        );
    }
    let raw = |c: &Check, k: &str| {
        c.get(k)
            .and_then(Value::as_str)
            .is_some_and(|s| !s.is_empty())
    };
    let has_box = raw(c, "geo_box_top_left") || raw(c, "geo_box_bottom_right");
    let has_point = raw(c, "geo_point") || !distance.is_empty();
    let any = has_box
        || has_point
        || raw(c, "geo_sort_point")
        || !sort_order.is_empty()
        || !sort_unit.is_empty();
    if has_box && has_point {
        c.fail("geo_point", "cannot be combined with geo_box_top_left/geo_box_bottom_right: use a box or a point with distance");
    }
    if raw(c, "geo_point") == distance.is_empty() {
        c.fail(
            "geo_distance",
            "geo_point and geo_distance must be set together",
        );
    }
    if raw(c, "geo_box_top_left") != raw(c, "geo_box_bottom_right") {
        c.fail(
            "geo_box_bottom_right",
            "geo_box_top_left and geo_box_bottom_right must be set together",
        );
    }
    if has_box && (!sort_order.is_empty() || !sort_unit.is_empty()) && !raw(c, "geo_sort_point") {
        c.fail(
            "geo_sort_point",
            "is required to sort a bounding-box query (geo_sort_order/geo_sort_unit are set)",
        );
    }
    if any && field.is_empty() {
        c.fail(
            "geo_field",
            "is required when any geo_* parameter is set: the geo_point field to query",
        );
    }
    if !field.is_empty() && !has_box && !has_point {
        c.fail("geo_field", "needs a complete box (geo_box_top_left + geo_box_bottom_right) or geo_point + geo_distance");
    }
    if field.is_empty() {
        return None;
    }
    Some(Geo {
        field,
        top_left,
        bottom_right,
        point: pt,
        distance: (!distance.is_empty()).then_some(distance),
        sort_point,
        sort_order: (!sort_order.is_empty()).then_some(sort_order),
        sort_unit: (!sort_unit.is_empty()).then_some(sort_unit),
    })
}
