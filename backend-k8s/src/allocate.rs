//! Allocation: the EC Job and its Service, then the worker Deployment, each owned by the Job.
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
async fn require_config_map(objects: &Objects, cfg: &K8sConfig) -> Result<(), K8sError> {
    let name = &cfg.config_map_name;
    match retry(&format!("get ConfigMap {name}"), || {
        objects.config_maps.get_metadata(name)
    })
    .await
    {
        Ok(_) => Ok(()),
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

pub async fn controller(
    objects: &Objects,
    cfg: &K8sConfig,
    ex: &ExecutionRecord,
) -> Result<ControllerAddress, K8sError> {
    require_config_map(objects, cfg).await?;
    let job = manifests::controller_job(cfg, ex)?;
    let job = create_or_adopt(objects, &objects.jobs, "Job", &job, &ex.ex_id).await?;
    let owner = owner_of(objects, &job)?;
    let service = manifests::controller_service(cfg, ex, &owner);
    create_or_adopt(objects, &objects.services, "Service", &service, &ex.ex_id).await?;
    Ok(ControllerAddress {
        hostname: manifests::controller_hostname(cfg, ex),
        port: EC_PORT,
    })
}

pub async fn workers(
    objects: &Objects,
    cfg: &K8sConfig,
    ex: &ExecutionRecord,
    replicas: u32,
) -> Result<(), K8sError> {
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
    let owner = owner_of(objects, &job)?;
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

#[cfg(test)]
mod api_tests {
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
}
