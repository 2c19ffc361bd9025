//! The query every count and search of a reader sends (EAA `utils.ts::buildQuery`):
//! `bool.must = [range?, keys?, query_string?, geo?]`.
use chrono::{TimeZone, Utc};
use serde_json::{json, Value};

use super::reader_config::{GeoPoint, ReaderConfig};
use teraslice_runtime::ops::dates::Resolution;

/// What one count or search covers: a date range (as strings) and/or key prefixes.
#[derive(Debug, Clone, Default)]
pub struct Scope {
    pub range: Option<(String, String)>,
    pub keys: Vec<String>,
}

/// Count queries format dates in the resolution (`2024-01-01T00:00:00+00:00`).
pub fn count_date(t: i64, res: Resolution) -> String {
    let Some(d) = Utc.timestamp_millis_opt(t).single() else {
        return t.to_string();
    };
    match res {
        Resolution::Seconds => d.format("%Y-%m-%dT%H:%M:%S+00:00").to_string(),
        Resolution::Millis => d.format("%Y-%m-%dT%H:%M:%S%.3f+00:00").to_string(),
    }
}

fn latlon(p: GeoPoint) -> Value {
    json!({"lat": p.lat, "lon": p.lon})
}

pub fn build(cfg: &ReaderConfig, scope: &Scope) -> Value {
    let mut must = Vec::new();
    if let (Some((start, end)), Some(field)) = (&scope.range, &cfg.date_field_name) {
        must.push(json!({"range": {field: {"gte": start, "lt": end}}}));
    }
    if let (false, Some(id)) = (scope.keys.is_empty(), &cfg.id_field_name) {
        let should: Vec<Value> = scope
            .keys
            .iter()
            .map(|k| json!({"wildcard": {id: format!("{k}*")}}))
            .collect();
        must.push(json!({"bool": {"should": should, "minimum_should_match": 1}}));
    }
    if !cfg.query.is_empty() {
        must.push(json!({"query_string": {"query": cfg.query}}));
    }
    if let Some(geo) = &cfg.geo {
        if let (Some(tl), Some(br)) = (geo.top_left, geo.bottom_right) {
            must.push(json!({"geo_bounding_box": {&geo.field: {"top_left": latlon(tl), "bottom_right": latlon(br)}}}));
        }
        if let (Some(p), Some(d)) = (geo.point, &geo.distance) {
            must.push(json!({"geo_distance": {"distance": d, &geo.field: latlon(p)}}));
        }
    }
    json!({"bool": {"must": must}})
}

/// The `_geo_distance` sort: always for point queries, for boxes only when a sort is asked for.
/// Defaults `asc`/`m` apply when unset (Teraslice's `""` defaults made them never apply).
pub fn geo_sort(cfg: &ReaderConfig) -> Option<Value> {
    let geo = cfg.geo.as_ref()?;
    let asked = geo.sort_point.is_some() || geo.sort_order.is_some() || geo.sort_unit.is_some();
    let point = match (geo.sort_point, geo.point) {
        (Some(p), _) => p,
        (None, Some(p)) => p,
        (None, None) => return None,
    };
    if geo.point.is_none() && !asked {
        return None;
    }
    Some(json!([{"_geo_distance": {
        &geo.field: latlon(point),
        "order": geo.sort_order.as_deref().unwrap_or("asc"),
        "unit": geo.sort_unit.as_deref().unwrap_or("m"),
    }}]))
}
