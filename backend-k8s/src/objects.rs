//! Typed handles on the namespace's object kinds and the calls every operation shares:
//! create-or-adopt, delete every object matching a selector.
use std::fmt::Debug;

use k8s_openapi::api::apps::v1::{Deployment, ReplicaSet};
use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::{ConfigMap, Pod, Service};
use k8s_openapi::NamespaceResourceScope;
use kube::api::{DeleteParams, ListParams, PostParams};
use kube::{Api, Client, Resource, ResourceExt};
use serde::de::DeserializeOwned;
use serde::Serialize;
use tracing::{debug, info};

use crate::config::FIELD_MANAGER;
use crate::error::{api_code, K8sError};
use crate::manifests::labels::EX_ID;
use crate::retry::retry;

#[derive(Clone)]
pub struct Objects {
    pub namespace: String,
    pub jobs: Api<Job>,
    pub services: Api<Service>,
    pub deployments: Api<Deployment>,
    pub replicasets: Api<ReplicaSet>,
    pub pods: Api<Pod>,
    pub config_maps: Api<ConfigMap>,
    /// When the pods' ConfigMap was last seen to exist (see `allocate::require_config_map`).
    pub config_map_seen: std::sync::Arc<std::sync::Mutex<Option<std::time::Instant>>>,
}

impl Objects {
    pub fn new(client: Client, namespace: &str) -> Self {
        Objects {
            namespace: namespace.to_string(),
            jobs: Api::namespaced(client.clone(), namespace),
            services: Api::namespaced(client.clone(), namespace),
            deployments: Api::namespaced(client.clone(), namespace),
            replicasets: Api::namespaced(client.clone(), namespace),
            pods: Api::namespaced(client.clone(), namespace),
            config_maps: Api::namespaced(client, namespace),
            config_map_seen: Default::default(),
        }
    }

    pub fn api_error(
        &self,
        verb: &'static str,
        kind: &'static str,
        name: &str,
    ) -> impl FnOnce(kube::Error) -> K8sError {
        let namespace = self.namespace.clone();
        let name = name.to_string();
        move |source| K8sError::Api {
            verb,
            kind,
            name,
            namespace,
            source: Box::new(source),
        }
    }
}

/// Creates `obj`; when it exists already, adopts it if its exId label is `ex_id` (a repeated
/// allocation, or a create whose answer was lost) and fails naming the owner otherwise.
pub async fn create_or_adopt<K>(
    objects: &Objects,
    api: &Api<K>,
    kind: &'static str,
    obj: &K,
    ex_id: &str,
) -> Result<K, K8sError>
where
    K: Resource<Scope = NamespaceResourceScope> + Clone + Serialize + DeserializeOwned + Debug,
{
    let name = obj.meta().name.clone().unwrap_or_default();
    let pp = PostParams {
        field_manager: Some(FIELD_MANAGER.into()),
        ..Default::default()
    };
    let created = retry(&format!("create {kind} {name}"), || api.create(&pp, obj)).await;
    match created {
        Ok(o) => {
            info!(kind, name, ex_id, "created");
            Ok(o)
        }
        Err(e) if api_code(&e) == Some(409) => {
            let existing = retry(&format!("get {kind} {name}"), || api.get(&name))
                .await
                .map_err(objects.api_error("get", kind, &name))?;
            let owner = existing.labels().get(EX_ID).cloned().unwrap_or_default();
            if owner != ex_id {
                return Err(K8sError::OwnedByOther {
                    kind,
                    name,
                    namespace: objects.namespace.clone(),
                    owner: if owner.is_empty() {
                        "<none: no exId label>".into()
                    } else {
                        owner
                    },
                    ex_id: ex_id.to_string(),
                });
            }
            if existing.meta().deletion_timestamp.is_some() {
                return Err(K8sError::Invalid(format!(
                    "{kind} {name} in namespace {} of execution {ex_id} is being deleted; allocate again once it is gone",
                    objects.namespace
                )));
            }
            debug!(kind, name, ex_id, "adopted the existing object");
            Ok(existing)
        }
        Err(e) => Err(objects.api_error("create", kind, &name)(e)),
    }
}

/// Deletes every object matching `selector` with one request (`deletecollection`; none
/// matching is success) and returns how many the API server deleted.
pub async fn delete_collection<K>(
    objects: &Objects,
    api: &Api<K>,
    kind: &'static str,
    selector: &str,
    params: &DeleteParams,
) -> Result<usize, K8sError>
where
    K: Resource + Clone + DeserializeOwned + Debug,
{
    let lp = ListParams::default().labels(selector);
    let deleted = retry(&format!("delete {kind}s with labels {selector}"), || {
        api.delete_collection(params, &lp)
    })
    .await
    .map_err(objects.api_error("delete", kind, &format!("with labels {selector}")))?;
    // A list of what was deleted; a Status when the server does not say.
    let n = deleted.map_left(|list| list.items.len()).left_or(0);
    debug!(kind, selector, n, "deleted");
    Ok(n)
}
