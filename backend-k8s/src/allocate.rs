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

pub async fn controller(
    objects: &Objects,
    cfg: &K8sConfig,
    ex: &ExecutionRecord,
) -> Result<ControllerAddress, K8sError> {
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
