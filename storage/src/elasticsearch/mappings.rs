//! Teraslice's index names and mappings (teraslice-master.md §5): root `dynamic: false`, only the
//! listed fields typed, everything else kept in `_source` unindexed.
use chrono::{DateTime, Utc};
use serde_json::{json, Map, Value};
use teraslice_core::config::{IndexSettings, RolloverFrequency};

/// The five stores, by Teraslice's storage name (the `index_settings` key).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StoreIndex {
    Jobs,
    Execution,
    State,
    Analytics,
    Assets,
}

impl StoreIndex {
    pub const ALL: [StoreIndex; 5] = [
        StoreIndex::Jobs,
        StoreIndex::Execution,
        StoreIndex::State,
        StoreIndex::Analytics,
        StoreIndex::Assets,
    ];

    /// The suffix after `<cluster_name>__`.
    pub fn suffix(self) -> &'static str {
        match self {
            StoreIndex::Jobs => "jobs",
            StoreIndex::Execution => "ex",
            StoreIndex::State => "state",
            StoreIndex::Analytics => "analytics",
            StoreIndex::Assets => "assets",
        }
    }

    /// Time-series stores get `-<date>` indices made from a template.
    pub fn is_time_series(self) -> bool {
        matches!(self, StoreIndex::State | StoreIndex::Analytics)
    }

    /// Teraslice's template name `<name>_<recordType>_template`.
    pub fn template_name(self, cluster: &str) -> String {
        format!("{cluster}_{}_template", self.suffix())
    }

    /// `<name>__jobs`; for time series the base the dated names and the `*` pattern start with.
    pub fn base_name(self, cluster: &str) -> String {
        format!("{cluster}__{}", self.suffix())
    }

    /// `<name>__state*`: what searches of a time-series store use.
    pub fn pattern(self, cluster: &str) -> String {
        if self.is_time_series() {
            format!("{}*", self.base_name(cluster))
        } else {
            self.base_name(cluster)
        }
    }

    /// `<name>__state-2024.05` for a record created at `at` (Teraslice `timeseriesIndex`).
    pub fn dated_name(self, cluster: &str, at: DateTime<Utc>, every: RolloverFrequency) -> String {
        let suffix = match every {
            RolloverFrequency::Daily => at.format("%Y.%m.%d"),
            RolloverFrequency::Monthly => at.format("%Y.%m"),
            RolloverFrequency::Yearly => at.format("%Y"),
        };
        format!("{}-{suffix}", self.base_name(cluster))
    }

    /// `(field, type)` of every mapped field.
    pub fn fields(self) -> Vec<(&'static str, &'static str)> {
        match self {
            StoreIndex::Jobs => job_fields(),
            StoreIndex::Execution => {
                let mut fields = job_fields();
                fields.extend(typed(
                    "keyword",
                    &[
                        "ex_id",
                        "_status",
                        "recovered_execution",
                        "recovered_slice_type",
                        "slicer_hostname",
                        "teraslice_version",
                    ],
                ));
                fields.extend(typed("boolean", &["_has_errors", "relocatable"]));
                fields.extend([
                    ("_slicer_stats", "object"),
                    ("metadata", "object"),
                    ("_failureReason", "text"),
                    ("slicer_port", "integer"),
                ]);
                fields
            }
            StoreIndex::State => {
                let mut fields = typed(
                    "keyword",
                    &["ex_id", "slice_id", "slicer_id", "state", "error"],
                );
                fields.extend([
                    ("slicer_order", "integer"),
                    ("_created", "date"),
                    ("_updated", "date"),
                ]);
                fields
            }
            StoreIndex::Analytics => {
                let mut fields = typed(
                    "keyword",
                    &[
                        "ex_id",
                        "job_id",
                        "worker_id",
                        "slice_id",
                        "slicer_id",
                        "op",
                        "state",
                    ],
                );
                fields.extend(typed("integer", &["order", "count", "time"]));
                fields.extend([("memory", "long"), ("@timestamp", "date")]);
                fields
            }
            StoreIndex::Assets => {
                let mut fields = typed(
                    "keyword",
                    &["name", "version", "id", "description", "arch", "platform"],
                );
                fields.extend([
                    ("node_version", "integer"),
                    ("blob", "binary"),
                    ("_created", "date"),
                ]);
                fields
            }
        }
    }

    /// The mapping of one field, as Teraslice's DataType generator writes it.
    pub fn field_mapping(self, field: &str, kind: &str) -> Value {
        match (field, kind) {
            // `metadata` is EC bookkeeping: kept, never indexed.
            ("metadata", _) => json!({"type": "object", "enabled": false}),
            ("blob", _) => json!({"type": "binary", "doc_values": false}),
            // A keyword term over 32766 bytes would reject the whole slice document.
            ("error", "keyword") => json!({"type": "keyword", "ignore_above": 8191}),
            _ => json!({"type": kind}),
        }
    }

    /// `{"dynamic": false, "properties": {...}}`.
    pub fn mapping(self) -> Value {
        let properties: Map<String, Value> = self
            .fields()
            .into_iter()
            .map(|(f, t)| (f.to_string(), self.field_mapping(f, t)))
            .collect();
        json!({"dynamic": false, "properties": properties})
    }

    /// The body of `PUT <index>`: settings and mapping.
    pub fn create_body(self, settings: IndexSettings) -> Value {
        json!({
            "settings": {"index": {
                "number_of_shards": settings.number_of_shards,
                "number_of_replicas": settings.number_of_replicas,
            }},
            "mappings": self.mapping(),
        })
    }
}

fn typed(kind: &'static str, names: &[&'static str]) -> Vec<(&'static str, &'static str)> {
    names.iter().map(|n| (*n, kind)).collect()
}

fn job_fields() -> Vec<(&'static str, &'static str)> {
    let mut fields = typed(
        "keyword",
        &[
            "job_id",
            "_context",
            "lifecycle",
            "log_level",
            "assets",
            "kubernetes_image",
        ],
    );
    fields.extend(typed("date", &["_created", "_updated", "_deleted_on"]));
    fields.extend(typed(
        "boolean",
        &[
            "_deleted",
            "active",
            "analytics",
            "autorecover",
            "stateful",
            "ephemeral_storage",
            "prom_metrics_enabled",
            "prom_metrics_add_default",
        ],
    ));
    fields.push(("name", "text"));
    fields.extend(typed(
        "integer",
        &[
            "max_retries",
            "probation_window",
            "slicers",
            "workers",
            "prom_metrics_port",
        ],
    ));
    fields.extend(typed(
        "float",
        &[
            "cpu",
            "cpu_execution_controller",
            "resources_requests_cpu",
            "resources_limits_cpu",
        ],
    ));
    fields.extend(typed(
        "long",
        &[
            "memory",
            "memory_execution_controller",
            "resources_requests_memory",
            "resources_limits_memory",
        ],
    ));
    fields
}

/// The type an existing mapping gives `field`: `object` when it has sub-properties or no type.
pub fn mapped_type(properties: &Map<String, Value>, field: &str) -> Option<String> {
    let m = properties.get(field)?;
    Some(
        m.get("type")
            .and_then(Value::as_str)
            .unwrap_or("object")
            .to_string(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn dated_names_follow_the_rollover_frequency() {
        let at = Utc
            .with_ymd_and_hms(2024, 5, 17, 23, 59, 0)
            .single()
            .expect("valid date");
        let s = StoreIndex::State;
        assert_eq!(
            s.dated_name("ts", at, RolloverFrequency::Daily),
            "ts__state-2024.05.17"
        );
        assert_eq!(
            s.dated_name("ts", at, RolloverFrequency::Monthly),
            "ts__state-2024.05"
        );
        assert_eq!(
            s.dated_name("ts", at, RolloverFrequency::Yearly),
            "ts__state-2024"
        );
        assert_eq!(s.pattern("ts"), "ts__state*");
        assert_eq!(StoreIndex::Execution.pattern("ts"), "ts__ex");
        assert_eq!(
            StoreIndex::Analytics.template_name("ts"),
            "ts_analytics_template"
        );
    }

    #[test]
    fn execution_mapping_has_the_job_fields_and_its_own() {
        let m = StoreIndex::Execution.mapping();
        assert_eq!(m["dynamic"], json!(false));
        assert_eq!(m["properties"]["workers"]["type"], "integer");
        assert_eq!(m["properties"]["_status"]["type"], "keyword");
        assert_eq!(m["properties"]["metadata"]["enabled"], json!(false));
    }
}
