//! The baseline of a start: a bare pod of the teraslice image (an idle native `teraslice
//! master`, its config from a ConfigMap volume as the execution pods get theirs) to Running.
use std::time::{Duration, Instant};

use anyhow::Context;
use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, DeleteParams, PostParams};
use kube::runtime::wait::{await_condition, conditions};
use kube::Client;
use serde_json::json;

use super::cluster::{NodeEnv, PATIENCE};

const CONFIG_MAP: &str = "bench-bare";

pub async fn config_map(env: &NodeEnv, ns: &str) -> anyhow::Result<()> {
    let cm = json!({
        "apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": CONFIG_MAP, "namespace": ns},
        "data": {"teraslice.yaml": "teraslice:\n  name: bare\n  data_dir: /tmp/teraslice-data\n"}
    });
    env.apply(&cm.to_string()).await
}

/// From the pod's POST until a watch sees it Running; then deletes it and waits until it is gone.
pub async fn to_running(
    client: &Client,
    image: &str,
    ns: &str,
    round: usize,
) -> anyhow::Result<Duration> {
    let name = format!("bare-{round}");
    let pod: Pod = serde_json::from_value(json!({
        "metadata": {"name": name, "labels": {"bench": "bare"}},
        "spec": {
            "restartPolicy": "Never",
            "securityContext": {"runAsNonRoot": true, "runAsUser": 10001, "runAsGroup": 10001},
            "containers": [{
                "name": "teraslice", "image": image, "imagePullPolicy": "IfNotPresent",
                "args": ["master"],
                "env": [{"name": "TERAFOUNDATION_CONFIG", "value": "/app/config/teraslice.yaml"}],
                "volumeMounts": [{"name": "config", "mountPath": "/app/config"}]
            }],
            "volumes": [{"name": "config", "configMap": {"name": CONFIG_MAP}}]
        }
    }))?;
    let pods: Api<Pod> = Api::namespaced(client.clone(), ns);
    // The watch starts first; a pod already Running when it lists is seen at once.
    let running = {
        let (pods, name) = (pods.clone(), name.clone());
        tokio::spawn(
            async move { await_condition(pods, &name, conditions::is_pod_running()).await },
        )
    };
    let start = Instant::now();
    pods.create(&PostParams::default(), &pod).await?;
    tokio::time::timeout(PATIENCE, running)
        .await
        .with_context(|| format!("bare pod {name} not Running after {PATIENCE:?}"))???;
    let elapsed = start.elapsed();
    let now = DeleteParams {
        grace_period_seconds: Some(0),
        ..DeleteParams::default()
    };
    pods.delete(&name, &now).await?;
    let uid = pods.get(&name).await.ok().and_then(|p| p.metadata.uid);
    if let Some(uid) = uid {
        tokio::time::timeout(
            PATIENCE,
            await_condition(pods, &name, conditions::is_deleted(&uid)),
        )
        .await
        .with_context(|| format!("bare pod {name} still there after {PATIENCE:?}"))??;
    }
    Ok(elapsed)
}
