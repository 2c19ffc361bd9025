//! Opening: the first contact (retried with backoff), creating indices and templates (Teraslice's
//! "create if missing; already exists is fine; wait until available"), checking mappings.
use std::time::{Duration, Instant};

use serde_json::{json, Map, Value};
use teraslice_es::{Body, ConnectionConfig, Method, ServerInfo, StatusCode};

use super::error::ElasticsearchOpenError as OpenError;
use super::mappings::{mapped_type, StoreIndex};
use backon::{BackoffBuilder, ExponentialBuilder};

use super::{ElasticsearchStore, EsClient};

const FIRST_DELAY: Duration = Duration::from_millis(250);
const MAX_DELAY: Duration = Duration::from_secs(5);

/// `GET /` until it answers, for at most `startupTimeout`; then reads what answered.
pub(crate) async fn wait_for_server(
    client: &EsClient,
    config: &ConnectionConfig,
) -> Result<ServerInfo, OpenError> {
    let started = Instant::now();
    // Jittered, so masters and controllers started together do not knock in step.
    let mut delays = ExponentialBuilder::default()
        .with_min_delay(FIRST_DELAY)
        .with_max_delay(MAX_DELAY)
        .with_jitter()
        .without_max_times()
        .build();
    let mut attempts = 0;
    loop {
        attempts += 1;
        let failure = match client.try_once(Method::GET, &[]).await {
            Ok(answer) if answer.status.is_success() => {
                return ServerInfo::from_root_answer(&answer.body).map_err(|problem| {
                    OpenError::UnsupportedServer {
                        node: node_list(client),
                        problem,
                    }
                })
            }
            Ok(answer)
                if matches!(
                    answer.status,
                    StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN
                ) =>
            {
                return Err(OpenError::Unauthorized {
                    node: node_list(client),
                    source_key: config.source.clone(),
                    status: answer.status.as_u16(),
                    reason: answer.error_reason(),
                })
            }
            Ok(answer) => format!("GET / answered {} {}", answer.status, answer.error_reason()),
            Err(e) => e.to_string(),
        };
        let waited = started.elapsed();
        let delay = delays.next().unwrap_or(MAX_DELAY);
        // A non-zero limit always allows one retry, however slow the first try was.
        let one_retry_left = attempts == 1 && !config.startup_timeout.is_zero();
        if waited + delay > config.startup_timeout && !one_retry_left {
            return Err(OpenError::Unreachable {
                nodes: node_list(client),
                source_key: config.source.clone(),
                attempts,
                waited,
                limit: config.startup_timeout,
                last_error: failure,
            });
        }
        tracing::warn!(nodes = %node_list(client), attempt = attempts, error = %failure,
            retry_in_ms = delay.as_millis() as u64, "state store not reachable yet; retrying");
        tokio::time::sleep(delay).await;
    }
}

fn node_list(client: &EsClient) -> String {
    let nodes: Vec<&str> = client.nodes().iter().map(|u| u.as_str()).collect();
    nodes.join(", ")
}

fn index_error(index: &str, problem: impl Into<String>) -> OpenError {
    OpenError::Index {
        index: index.to_string(),
        problem: problem.into(),
    }
}

impl ElasticsearchStore {
    /// Jobs, ex and assets indices; state and analytics templates. Existing ones are checked.
    pub(crate) async fn create_indices(&self) -> Result<(), OpenError> {
        let cluster = self.inner.config.cluster_name.clone();
        for store in StoreIndex::ALL {
            if store.is_time_series() {
                self.put_template(store).await?;
                self.check_mappings(store, &store.pattern(&cluster)).await?;
            } else {
                let index = store.base_name(&cluster);
                if !self.create_index(store, &index).await? {
                    self.check_mappings(store, &index).await?;
                }
                self.wait_until_available(&index).await?;
            }
        }
        Ok(())
    }

    fn settings_of(&self, store: StoreIndex) -> teraslice_core::config::IndexSettings {
        let s = &self.inner.config.index_settings;
        match store {
            StoreIndex::Jobs => s.jobs,
            StoreIndex::Execution => s.execution,
            StoreIndex::State => s.state,
            StoreIndex::Analytics => s.analytics,
            StoreIndex::Assets => s.assets,
        }
    }

    /// Creates `index`; `Ok(false)` when it already existed.
    pub(crate) async fn create_index(
        &self,
        store: StoreIndex,
        index: &str,
    ) -> Result<bool, OpenError> {
        let body = store.create_body(self.settings_of(store));
        let what = format!("creating index {index}");
        let answer = self
            .client()
            .request(Method::PUT, &[index], &[], Body::Json(&body), &what)
            .await
            .map_err(|e| index_error(index, e.to_string()))?;
        if answer.status.is_success() {
            tracing::info!(index, "created state store index");
            return Ok(true);
        }
        if answer.error_type() == "resource_already_exists_exception" {
            return Ok(false);
        }
        Err(index_error(
            index,
            format!("PUT answered {} {}", answer.status, answer.error_reason()),
        ))
    }

    /// Legacy template `<name>_<store>_template` for `<name>__<store>*`, as Teraslice puts it.
    async fn put_template(&self, store: StoreIndex) -> Result<(), OpenError> {
        let cluster = &self.inner.config.cluster_name;
        let name = store.template_name(cluster);
        let mut body = store.create_body(self.settings_of(store));
        body["index_patterns"] = json!([store.pattern(cluster)]);
        let what = format!("putting index template {name}");
        let answer = self
            .client()
            .request(
                Method::PUT,
                &["_template", &name],
                &[],
                Body::Json(&body),
                &what,
            )
            .await
            .map_err(|e| index_error(&store.pattern(cluster), e.to_string()))?;
        if answer.status.is_success() {
            return Ok(());
        }
        Err(index_error(
            &store.pattern(cluster),
            format!(
                "template {name}: PUT answered {} {}",
                answer.status,
                answer.error_reason()
            ),
        ))
    }

    /// Waits for yellow health, Teraslice's "wait until it is available".
    async fn wait_until_available(&self, index: &str) -> Result<(), OpenError> {
        let what = format!("waiting for index {index}");
        let query = [
            ("wait_for_status", "yellow".to_string()),
            ("timeout", "30s".to_string()),
        ];
        let answer = self
            .client()
            .request(
                Method::GET,
                &["_cluster", "health", index],
                &query,
                Body::None,
                &what,
            )
            .await
            .map_err(|e| index_error(index, e.to_string()))?;
        if answer.status == StatusCode::FORBIDDEN {
            // A user without cluster:monitor rights can still use the index; skip the wait.
            tracing::debug!(
                index,
                "no permission to read cluster health; not waiting for the index"
            );
            return Ok(());
        }
        let timed_out = answer.body.get("timed_out").and_then(Value::as_bool);
        if answer.status.is_success() && timed_out != Some(true) {
            return Ok(());
        }
        Err(index_error(
            index,
            format!(
                "not available (cluster health {} {}); check the cluster's shards",
                answer.status, answer.body
            ),
        ))
    }

    /// Every index matching `target`: a field typed differently from §5 is a conflict (an error
    /// naming index and field); a missing field is added, as that changes no existing document.
    async fn check_mappings(&self, store: StoreIndex, target: &str) -> Result<(), OpenError> {
        let what = format!("reading the mapping of {target}");
        let answer = self
            .client()
            .request(Method::GET, &[target, "_mapping"], &[], Body::None, &what)
            .await
            .map_err(|e| index_error(target, e.to_string()))?;
        if !answer.status.is_success() {
            return Err(index_error(
                target,
                format!(
                    "GET _mapping answered {} {}",
                    answer.status,
                    answer.error_reason()
                ),
            ));
        }
        let Some(indices) = answer.body.as_object() else {
            return Ok(());
        };
        for (index, mapping) in indices {
            let empty = Map::new();
            let properties = mapping
                .pointer("/mappings/properties")
                .and_then(Value::as_object)
                .unwrap_or(&empty);
            let mut conflicts = Vec::new();
            let mut missing = Map::new();
            for (field, kind) in store.fields() {
                match mapped_type(properties, field) {
                    None => {
                        missing.insert(field.to_string(), store.field_mapping(field, kind));
                    }
                    Some(found) if found != kind => conflicts.push(format!(
                        "field {field} is mapped as {found}, Teraslice maps it as {kind}"
                    )),
                    Some(_) => {}
                }
            }
            if !conflicts.is_empty() {
                return Err(OpenError::MappingConflict {
                    index: index.clone(),
                    conflicts,
                });
            }
            if !missing.is_empty() {
                self.add_fields(index, missing).await?;
            }
        }
        Ok(())
    }

    async fn add_fields(&self, index: &str, fields: Map<String, Value>) -> Result<(), OpenError> {
        let names: Vec<String> = fields.keys().cloned().collect();
        let body = json!({"properties": fields});
        let what = format!("adding fields to the mapping of {index}");
        let answer = self
            .client()
            .request(
                Method::PUT,
                &[index, "_mapping"],
                &[],
                Body::Json(&body),
                &what,
            )
            .await
            .map_err(|e| index_error(index, e.to_string()))?;
        if answer.status.is_success() {
            tracing::info!(index, fields = ?names, "added missing fields to a state store mapping");
            return Ok(());
        }
        Err(OpenError::MappingConflict {
            index: index.to_string(),
            conflicts: vec![format!(
                "adding fields {names:?} was refused: {}",
                answer.error_reason()
            )],
        })
    }
}
