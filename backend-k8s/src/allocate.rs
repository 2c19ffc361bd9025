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

/// Creates or adopts the EC Job and its Service; returns the EC's address and the Job as owner.
pub async fn controller(
    objects: &Objects,
    cfg: &K8sConfig,
    ex: &ExecutionRecord,
) -> Result<(ControllerAddress, Owner), K8sError> {
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
    async fn the_controller_is_two_creates_and_its_job_becomes_the_owner() {
        let ex = sample_execution("alloc-job", 2);
        let (c, s) = client(vec![(201, job(&ex.ex_id)), (201, json!({"metadata": {}}))]);
        let (_, owner) = controller(&Objects::new(c, "default"), &config(), &ex)
            .await
            .expect("allocated");
        assert_eq!(owner.uid, "uid-1");
        let lines = seen(&s);
        assert_eq!(lines.len(), 2, "{lines:?}");
        assert!(lines[0].starts_with(&format!("POST {JOBS}?")), "{lines:?}");
        assert!(lines[1].starts_with("POST /api/v1/namespaces/default/services?"));
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
