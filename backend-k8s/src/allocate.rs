//! Allocation: the EC Job and its Service, then the worker Deployment, each owned by the Job.
//! The Job's owner reference comes from its create (or adopt) answer; it is read back only when
//! the caller does not pass it (the workers of an EC another master process allocated).
use teraslice_core::backend::ControllerAddress;
use teraslice_core::ExecutionRecord;

use crate::config::K8sConfig;
use crate::error::{api_code, K8sError};
use crate::manifests::{self, labels::EX_ID, Owner};
use crate::names::EC_PORT;
use crate::objects::{create_or_adopt, Objects};
use crate::retry::retry;

fn owner_of(objects: &Objects, job: &k8s_openapi::api::batch::v1::Job) -> Result<Owner, K8sError> {
    let name = job.metadata.name.clone().unwrap_or_default();
    let uid = job
        .metadata
        .uid
        .clone()
        .ok_or_else(|| K8sError::Incomplete {
            kind: "Job",
            name: name.clone(),
            namespace: objects.namespace.clone(),
            field: "metadata.uid",
        })?;
    Ok(Owner { name, uid })
}

/// The pods mount `teraslice.kubernetes_config_map_name`; without it they would wait in
/// `ContainerCreating` for ever, so an execution fails at once instead. A ServiceAccount that may
/// not read ConfigMaps (403) skips the check.
/// A ConfigMap seen this recently is not looked up again (a burst of executions costs one GET).
const CONFIG_MAP_FRESH: std::time::Duration = std::time::Duration::from_secs(30);

async fn require_config_map(objects: &Objects, cfg: &K8sConfig) -> Result<(), K8sError> {
    let name = &cfg.config_map_name;
    let seen = |at: Option<std::time::Instant>| at.is_some_and(|t| t.elapsed() < CONFIG_MAP_FRESH);
    if seen(
        *objects
            .config_map_seen
            .lock()
            .unwrap_or_else(|p| p.into_inner()),
    ) {
        return Ok(());
    }
    match retry(&format!("get ConfigMap {name}"), || {
        objects.config_maps.get_metadata(name)
    })
    .await
    {
        Ok(_) => {
            *objects
                .config_map_seen
                .lock()
                .unwrap_or_else(|p| p.into_inner()) = Some(std::time::Instant::now());
            Ok(())
        }
        Err(e) => match api_code(&e) {
            Some(404) => Err(K8sError::MissingConfigMap {
                name: name.clone(),
                namespace: objects.namespace.clone(),
            }),
            Some(403) => {
                tracing::debug!(config_map = %name, "may not read ConfigMaps; not checking that it exists");
                Ok(())
            }
            _ => Err(objects.api_error("get", "ConfigMap", name)(e)),
        },
    }
}

/// Creates or adopts the EC Job and its Service; returns the EC's address and the Job as owner.
pub async fn controller(
    objects: &Objects,
    cfg: &K8sConfig,
    ex: &ExecutionRecord,
) -> Result<(ControllerAddress, Owner), K8sError> {
    require_config_map(objects, cfg).await?;
    let job = manifests::controller_job(cfg, ex)?;
    let job = create_or_adopt(objects, &objects.jobs, "Job", &job, &ex.ex_id).await?;
    let owner = owner_of(objects, &job)?;
    let service = manifests::controller_service(cfg, ex, &owner);
    create_or_adopt(objects, &objects.services, "Service", &service, &ex.ex_id).await?;
    let address = ControllerAddress {
        hostname: manifests::controller_hostname(cfg, ex),
        port: EC_PORT,
    };
    Ok((address, owner))
}

/// Creates or adopts the worker Deployment, owned by `owner` (the EC Job [`controller`]
/// returned), else by the Job read back and checked to be this execution's.
pub async fn workers(
    objects: &Objects,
    cfg: &K8sConfig,
    ex: &ExecutionRecord,
    replicas: u32,
    owner: Option<Owner>,
) -> Result<(), K8sError> {
    let owner = match owner {
        Some(owner) => owner,
        None => read_owner(objects, ex).await?,
    };
    let deployment = manifests::worker_deployment(cfg, ex, replicas, &owner)?;
    create_or_adopt(
        objects,
        &objects.deployments,
        "Deployment",
        &deployment,
        &ex.ex_id,
    )
    .await?;
    Ok(())
}

/// The execution's EC Job as owner, read from the API; another execution's Job is refused.
async fn read_owner(objects: &Objects, ex: &ExecutionRecord) -> Result<Owner, K8sError> {
    let job_name = manifests::controller_job_name(ex);
    let job = match retry(&format!("get Job {job_name}"), || {
        objects.jobs.get(&job_name)
    })
    .await
    {
        Ok(job) => job,
        Err(e) if api_code(&e) == Some(404) => {
            return Err(K8sError::Missing {
                ex_id: ex.ex_id.clone(),
                what: format!(
                    "execution controller Job {job_name} (allocate the execution controller first)"
                ),
                namespace: objects.namespace.clone(),
            })
        }
        Err(e) => return Err(objects.api_error("get", "Job", &job_name)(e)),
    };
    let owner_ex = job.metadata.labels.as_ref().and_then(|l| l.get(EX_ID));
    if owner_ex.map(String::as_str) != Some(ex.ex_id.as_str()) {
        return Err(K8sError::OwnedByOther {
            kind: "Job",
            name: job_name,
            namespace: objects.namespace.clone(),
            owner: owner_ex.cloned().unwrap_or_default(),
            ex_id: ex.ex_id.clone(),
        });
    }
    owner_of(objects, &job)
}

#[cfg(test)]
mod api_tests {
    use serde_json::{json, Value};
    use teraslice_core::config::SystemConfig;
    use teraslice_core::testing::sample_execution;

    use super::{controller, workers};
    use crate::config::K8sConfig;
    use crate::error::K8sError;
    use crate::manifests::Owner;
    use crate::mock_api::{bodies, client, seen};
    use crate::objects::Objects;

    fn config() -> K8sConfig {
        K8sConfig::from_system(&SystemConfig::default()).expect("config")
    }

    fn job(ex_id: &str) -> Value {
        json!({"metadata": {"name": "ts-exc-x", "uid": "uid-1",
                            "labels": {"teraslice.terascope.io/exId": ex_id}}})
    }

    const JOBS: &str = "/apis/batch/v1/namespaces/default/jobs";
    const DEPLOYMENTS: &str = "/apis/apps/v1/namespaces/default/deployments";

    #[tokio::test]
    async fn the_controller_is_a_config_map_check_and_two_creates_and_its_job_becomes_the_owner() {
        let ex = sample_execution("alloc-job", 2);
        let config_map = json!({"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1",
                                "metadata": {"name": "teraslice-worker"}});
        let (c, s) = client(vec![
            (200, config_map),
            (201, job(&ex.ex_id)),
            (201, json!({"metadata": {}})),
        ]);
        let (_, owner) = controller(&Objects::new(c, "default"), &config(), &ex)
            .await
            .expect("allocated");
        assert_eq!(owner.uid, "uid-1");
        let lines = seen(&s);
        assert_eq!(lines.len(), 3, "{lines:?}");
        assert!(
            lines[0].starts_with("GET /api/v1/namespaces/default/configmaps/"),
            "{lines:?}"
        );
        assert!(lines[1].starts_with(&format!("POST {JOBS}?")), "{lines:?}");
        assert!(lines[2].starts_with("POST /api/v1/namespaces/default/services?"));
    }

    #[tokio::test]
    async fn workers_with_a_known_owner_are_one_create() {
        let ex = sample_execution("alloc-job", 2);
        let owner = Owner {
            name: "ts-exc-x".into(),
            uid: "uid-1".into(),
        };
        let (c, s) = client(vec![(201, json!({"metadata": {}}))]);
        workers(&Objects::new(c, "default"), &config(), &ex, 2, Some(owner))
            .await
            .expect("allocated");
        let lines = seen(&s);
        assert_eq!(lines.len(), 1, "{lines:?}");
        assert!(lines[0].starts_with(&format!("POST {DEPLOYMENTS}?")));
        let body = &bodies(&s, "POST")[0];
        assert_eq!(body["metadata"]["ownerReferences"][0]["uid"], "uid-1");
    }

    #[tokio::test]
    async fn workers_of_an_unknown_controller_read_and_check_its_job() {
        let ex = sample_execution("alloc-job", 2);
        let (c, s) = client(vec![(200, job(&ex.ex_id)), (201, json!({"metadata": {}}))]);
        workers(&Objects::new(c, "default"), &config(), &ex, 2, None)
            .await
            .expect("allocated");
        let lines = seen(&s);
        assert!(
            lines[0].starts_with(&format!("GET {JOBS}/ts-exc-")),
            "{lines:?}"
        );
        assert_eq!(
            bodies(&s, "POST")[0]["metadata"]["ownerReferences"][0]["uid"],
            "uid-1"
        );

        let (c, s) = client(vec![(200, job("another-ex"))]);
        let err = workers(&Objects::new(c, "ts-dev1"), &config(), &ex, 2, None)
            .await
            .expect_err("another execution's Job");
        assert!(matches!(err, K8sError::OwnedByOther { .. }), "{err}");
        let msg = err.to_string();
        assert!(
            msg.contains("another-ex") && msg.contains("ts-dev1"),
            "{msg}"
        );
        assert_eq!(seen(&s).len(), 1, "nothing is created");
    }
}

#[cfg(test)]
mod config_map_tests {
    use serde_json::json;

    use super::require_config_map;
    use crate::config::K8sConfig;
    use crate::error::K8sError;
    use crate::mock_api::{client, seen, status};
    use crate::objects::Objects;

    fn config() -> K8sConfig {
        let yaml = "teraslice:\n  name: ts_dev.1\n";
        let system = teraslice_core::config::SystemConfig::from_yaml_str(yaml).expect("config");
        K8sConfig::from_system(&system).expect("k8s config")
    }

    #[tokio::test]
    async fn a_missing_config_map_fails_naming_it_and_the_setting() {
        let cfg = config();
        assert_eq!(cfg.config_map_name, "ts-dev.1-worker", "derived, valid");
        let (c, s) = client(vec![status(404, "NotFound")]);
        let err = require_config_map(&Objects::new(c, "ts-dev1"), &cfg)
            .await
            .expect_err("missing");
        assert!(matches!(err, K8sError::MissingConfigMap { .. }), "{err}");
        let msg = err.to_string();
        for part in [
            "ts-dev.1-worker",
            "ts-dev1",
            "teraslice.kubernetes_config_map_name",
        ] {
            assert!(msg.contains(part), "{part} in {msg}");
        }
        assert_eq!(
            seen(&s),
            ["GET /api/v1/namespaces/ts-dev1/configmaps/ts-dev.1-worker"]
        );
        let backend: teraslice_core::BackendError = err.into();
        assert!(matches!(
            backend,
            teraslice_core::BackendError::Allocation(_)
        ));
    }

    #[tokio::test]
    async fn an_existing_or_unreadable_config_map_lets_allocation_go_on() {
        let found = json!({"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1",
                           "metadata": {"name": "ts-dev.1-worker"}});
        let (c, _) = client(vec![(200, found)]);
        require_config_map(&Objects::new(c, "ts-dev1"), &config())
            .await
            .expect("exists");
        let (c, _) = client(vec![status(403, "Forbidden")]);
        require_config_map(&Objects::new(c, "ts-dev1"), &config())
            .await
            .expect("not checkable: go on");
    }

    #[tokio::test]
    async fn a_config_map_seen_moments_ago_is_not_looked_up_again() {
        let found = json!({"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1",
                           "metadata": {"name": "ts-dev.1-worker"}});
        let (c, s) = client(vec![(200, found)]);
        let objects = Objects::new(c, "ts-dev1");
        for _ in 0..3 {
            require_config_map(&objects, &config())
                .await
                .expect("exists");
        }
        assert_eq!(seen(&s).len(), 1, "one GET for three allocations");
    }
}
