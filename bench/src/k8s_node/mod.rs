//! The Kubernetes backend on the real node of `cargo xtask k8s up` (kubelet + containerd): a
//! Teraslice cluster of the guide (`examples/k8s`) whose executions run as real pods, against a
//! bare pod of the same image (start) and the native backend on the same state store (slice rate).
mod bare_pod;
mod cluster;
mod native_run;
mod slices;

use std::path::Path;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::{bail, Context};
use kube::Client;
use serde_json::{json, Value};

use crate::report::{ratio, Report};
use cluster::{NodeEnv, TeraCluster};

const TITLE: &str = "Kubernetes backend (real node)";
const WORKERS: u64 = 4;

fn intro(slices: u64) -> String {
    format!(
        "On the real node of `cargo xtask k8s up` (kubelet, containerd, CNI bridge, kube-proxy; the \
         image `cargo xtask image teraslice` imports): a Teraslice cluster set up as the guide's \
         `make setup-all` does (namespace `bench-node-…` pinned to the real node, Role, RoleBinding, the \
         two ConfigMaps, the master Deployment and Service of `examples/k8s`), with state in the \
         in-cluster OpenSearch (`elasticsearchDeployment.yaml`, namespace `tsrs-e2e-store`, reached \
         through an ExternalName Service); deleted afterwards. The execution pods get no CPU request \
         or limit (the example's 0.25 CPU would throttle each worker to a quarter of a core). \
         **Submit → first slice**: `POST /jobs` of a one-slice job (data_generator of 1 record → noop, \
         1 worker) to the master (already running) until the slice's state record says `completed` \
         (its `_updated`); the EC's Job, Service and the worker Deployment are created by the master, \
         both pods start, the worker connects and runs the slice. Baseline: one bare pod of the same \
         image (an idle `teraslice master`, its config from a ConfigMap volume) from its POST until a \
         watch sees it Running. Target ≤ 1.5. **Slices/s**: a `once` job of {slices} one-record slices \
         (data_generator → noop with `size: 1`; test-reader's request file does not exist in a pod) on \
         {WORKERS} workers, counted from the first slice's `completed` to the last one's (the state \
         records' `_updated`, as in the dispatch section), EC and workers in pods; the baseline is \
         the same job through `teraslice run -c` on the host (native backend, the EC and workers as \
         processes) with its state in the same OpenSearch (through its Service's ClusterIP). Rounds \
         alternate which side goes first; medians. The real-node tests may run on the same 2 cores \
         at the same time: both sides share that noise."
    )
}

pub async fn run(report: &mut Report, teraslice: &Path, scale: u64) -> anyhow::Result<()> {
    let slices = 5_000 * scale;
    let env = match NodeEnv::get() {
        Ok(env) => env,
        Err(var) => {
            report.section(TITLE, &intro(slices)).row(
                "all",
                format!("not measured: {var} is not set (run `cargo xtask k8s up` and `cargo xtask image teraslice`)"),
                "–".into(),
                "–".into(),
            );
            return Ok(());
        }
    };
    teraslice_backend_k8s::install_crypto_provider();
    let client = Client::try_default()
        .await
        .context("a client from KUBECONFIG (is `cargo xtask k8s up` running?)")?;
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(60))
        .build()?;
    eprintln!("bench: k8s_node: the in-cluster OpenSearch");
    let store = cluster::store(&env, &client, &http).await?;
    let name = format!("bench-node-{}", unique_suffix());
    let native = format!("{name}-native");
    let result = measure(
        report, &env, &client, &http, &store, &name, &native, teraslice, scale,
    )
    .await;
    // TERASLICE_K8S_KEEP_NAMESPACES (as for the real-node tests) keeps them to look into.
    if std::env::var_os("TERASLICE_K8S_KEEP_NAMESPACES").is_none() {
        cluster::delete_namespace(&client, &name).await;
        for cluster in [&name, &native] {
            slices::delete_indices(&http, &store, cluster).await;
        }
    }
    result
}

#[allow(clippy::too_many_arguments)]
async fn measure(
    report: &mut Report,
    env: &NodeEnv,
    client: &Client,
    http: &reqwest::Client,
    store: &str,
    name: &str,
    native: &str,
    teraslice: &Path,
    scale: u64,
) -> anyhow::Result<()> {
    let slices = 5_000 * scale;
    let rounds = if scale > 1 { 3 } else { 1 };
    eprintln!("bench: k8s_node: the guide's cluster in namespace {name}");
    let tera = TeraCluster::start(env, client, http, name).await?;
    bare_pod::config_map(env, name).await?;

    let (mut first, mut bare) = (vec![], vec![]);
    for round in 0..rounds {
        eprintln!(
            "bench: k8s_node: submit → first slice, round {}/{rounds}",
            round + 1
        );
        if round % 2 == 0 {
            bare.push(
                bare_pod::to_running(client, &env.image, name, round)
                    .await?
                    .as_secs_f64(),
            );
            first.push(first_slice(&tera, client, http, store, round).await?);
        } else {
            first.push(first_slice(&tera, client, http, store, round).await?);
            bare.push(
                bare_pod::to_running(client, &env.image, name, round)
                    .await?
                    .as_secs_f64(),
            );
        }
    }

    let job = |label: &str| {
        json!({
            "name": format!("bench-rate-{label}"), "lifecycle": "once", "workers": WORKERS,
            "analytics": false,
            "operations": [{"_op": "data_generator", "size": slices}, {"_op": "noop", "size": 1}]
        })
    };
    let (mut pods, mut host) = (vec![], vec![]);
    for round in 0..rounds {
        eprintln!("bench: k8s_node: slices/s, round {}/{rounds}", round + 1);
        let native_rate = async {
            let done = native_run::run(teraslice, http, store, native, &job("native")).await?;
            checked_rate(&done, slices)
        };
        if round % 2 == 0 {
            host.push(native_rate.await?);
            pods.push(pods_rate(&tera, client, http, store, &job("pods"), slices).await?);
        } else {
            pods.push(pods_rate(&tera, client, http, store, &job("pods"), slices).await?);
            host.push(native_rate.await?);
        }
    }

    let section = report.section(TITLE, &intro(slices));
    let (first, bare) = (median(&mut first), median(&mut bare));
    section.row(
        &format!("submit → first slice completed (EC + 1 worker pod), s (median of {rounds})"),
        format!("{first:.2}"),
        format!("{bare:.2} s (bare pod of the same image to Running)"),
        ratio(first, bare),
    );
    let (pods, host) = (median(&mut pods), median(&mut host));
    section.row(
        &format!(
            "slices/s, EC and {WORKERS} workers in pods, state in OpenSearch (median of {rounds})"
        ),
        format!("{pods:.0}"),
        format!("{host:.0} (native backend, `teraslice run`, same OpenSearch)"),
        ratio(pods, host),
    );
    Ok(())
}

/// Seconds from `POST /jobs` of a one-slice job until its slice's record says `completed`.
async fn first_slice(
    tera: &TeraCluster,
    client: &Client,
    http: &reqwest::Client,
    store: &str,
    round: usize,
) -> anyhow::Result<f64> {
    let job = json!({
        "name": format!("bench-first-{round}"), "lifecycle": "once", "workers": 1,
        "analytics": false,
        "operations": [{"_op": "data_generator", "size": 1}, {"_op": "noop"}]
    });
    let submitted = epoch_ms()?;
    let (_, ex_id) = tera.submit(http, &job).await?;
    tera.wait_completed(http, &ex_id).await?;
    let done = slices::completed(http, store, &tera.name, &ex_id).await?;
    cluster::wait_pods_gone(client, &tera.name, &ex_id).await?;
    Ok((done.first_ms - submitted) / 1000.0)
}

/// Slices/s of `job` (`slices` one-record slices) with the EC and workers in pods.
async fn pods_rate(
    tera: &TeraCluster,
    client: &Client,
    http: &reqwest::Client,
    store: &str,
    job: &Value,
    slices: u64,
) -> anyhow::Result<f64> {
    let (_, ex_id) = tera.submit(http, job).await?;
    tera.wait_completed(http, &ex_id).await?;
    let done = slices::completed(http, store, &tera.name, &ex_id).await?;
    cluster::wait_pods_gone(client, &tera.name, &ex_id).await?;
    checked_rate(&done, slices)
}

fn checked_rate(done: &slices::Completed, slices: u64) -> anyhow::Result<f64> {
    if done.count != slices {
        bail!("the execution completed {} slices of {slices}", done.count);
    }
    done.rate()
}

fn epoch_ms() -> anyhow::Result<f64> {
    Ok(SystemTime::now().duration_since(UNIX_EPOCH)?.as_secs_f64() * 1000.0)
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    v.get(v.len() / 2).copied().unwrap_or(0.0)
}

fn unique_suffix() -> String {
    let t = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis())
        .unwrap_or(0);
    format!("{}-{}", std::process::id(), t % 1_000_000)
}
