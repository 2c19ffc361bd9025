//! The Kubernetes backend on the simulated cluster of `cargo xtask k8s up` (real kube-apiserver,
//! scheduler, controller-manager and etcd; kwok nodes run the pods): API requests per execution
//! lifecycle, and time from allocation to every pod Running for many executions at once, each
//! beside the same objects created directly in the same namespace and run.
use std::collections::{BTreeMap, HashSet};
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{bail, Context};
use futures::StreamExt;
use k8s_openapi::api::apps::v1::{Deployment, ReplicaSet};
use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::{ConfigMap, Namespace, Pod, Service};
use kube::api::{Api, DeleteParams, ListParams, PostParams};
use kube::client::ClientBuilder;
use kube::config::KubeConfigOptions;
use kube::runtime::watcher::{self, Event};
use kube::runtime::WatchStreamExt;
use kube::{Client, Config};
use serde_json::json;
use teraslice_backend_k8s::manifests::{self, Owner};
use teraslice_backend_k8s::{K8sConfig, KubernetesBackend};
use teraslice_core::backend::StopOptions;
use teraslice_core::config::SystemConfig;
use teraslice_core::{ClusterBackend, ExecutionRecord, JobConfig};

use crate::report::{ratio, Report};

const TITLE: &str = "Kubernetes backend (simulated cluster)";
const INTRO: &str = "Against the control plane of `cargo xtask k8s up` (kube-apiserver, scheduler, \
controller-manager and etcd, v1.37; 4 kwok nodes of 8 CPUs), in a fresh namespace deleted afterwards. \
**Requests per lifecycle**: every API request the backend's client sends (counted by a tower layer, \
the shared pod watch left out) to allocate one execution controller and 2 workers, scale to 3 and \
stop gracefully; the baseline creates and deletes the same Job, Service and Deployment directly \
(it has no scale or lookups). **Time to Running**: 50 executions (1 controller + 2 workers each, \
0.1 CPU per pod) allocated at once, from the first request until all 150 pods are Running (seen \
by a pod watch); the baseline creates 50 plain Deployments of 3 pods (0.1 CPU each) directly, the \
least the plane needs for the same pods. The backend's requests do not depend on timing: \
allocation reads nothing back, the scale is one conditional patch, and the stop is one delete per \
kind by label (Deployment, ReplicaSets, Job, then the pods with the stop's 1 s timeout as their \
grace period; a stop with the pods' own grace period deletes only the Job). Other users of the \
same plane add noise to both sides.";

/// kwok does not run images; any name will do.
const IMAGE: &str = "teraslice-rs/fake:bench";
const BURST_EXECUTIONS: usize = 50;
const BURST_WORKERS: u32 = 2;
const POD_CPU: &str = "100m";
const TIMEOUT: Duration = Duration::from_secs(240);

pub async fn run(report: &mut Report, scale: u64) -> anyhow::Result<()> {
    if std::env::var_os("KUBECONFIG").is_none_or(|v| v.is_empty()) {
        report.section(TITLE, INTRO).row(
            "all",
            "not measured: run `cargo xtask k8s up` (KUBECONFIG is not set)".into(),
            "–".into(),
            "–".into(),
        );
        return Ok(());
    }
    let config = Config::from_kubeconfig(&KubeConfigOptions::default())
        .await
        .context("reading KUBECONFIG (is `cargo xtask k8s up` running?)")?;
    teraslice_backend_k8s::install_crypto_provider();
    let admin = Client::try_from(config.clone()).context("a client from KUBECONFIG")?;
    let ns = create_namespace(&admin).await?;
    let result = measure(report, &admin, config, &ns, scale).await;
    // Deleted on success and on failure; the namespace controller finishes in the background.
    let deleted = Api::<Namespace>::all(admin.clone())
        .delete(&ns, &DeleteParams::background())
        .await;
    if let Err(e) = deleted {
        eprintln!("bench: deleting namespace {ns} failed: {e}");
    }
    result
}

async fn measure(
    report: &mut Report,
    admin: &Client,
    config: Config,
    ns: &str,
    scale: u64,
) -> anyhow::Result<()> {
    let log = RequestLog::default();
    let counted = counted_client(config, &log)?;
    let system = system_config(ns)?;
    let k8s = K8sConfig::from_system(&system)?;
    create_config_map(admin, ns, &k8s.config_map_name).await?;

    eprintln!("bench: k8s requests per execution lifecycle");
    let direct = direct_lifecycle(&counted, admin, &k8s, &log).await?;
    let backend = KubernetesBackend::with_client(counted, &system)?;
    backend.initialize().await?;
    let teraslice = backend_lifecycle(backend.as_ref(), admin, ns, &log).await?;

    // Alternate which side goes first, so neither always meets a warmer plane.
    let rounds = if scale > 1 { 3 } else { 1 };
    let (mut ours, mut theirs) = (vec![], vec![]);
    for round in 0..rounds {
        eprintln!("bench: k8s time to Running, round {}/{rounds}", round + 1);
        if round % 2 == 0 {
            theirs.push(burst_direct(admin, ns, round).await?);
            ours.push(burst_backend(backend.as_ref(), admin, ns, round).await?);
        } else {
            ours.push(burst_backend(backend.as_ref(), admin, ns, round).await?);
            theirs.push(burst_direct(admin, ns, round).await?);
        }
    }
    backend.shutdown().await?;

    let section = report.section(TITLE, INTRO);
    section.row(
        "API requests per execution lifecycle (allocate, scale once, stop)",
        format!("{} ({})", teraslice.len(), breakdown(&teraslice)),
        format!("{} ({})", direct.len(), breakdown(&direct)),
        ratio(teraslice.len() as f64, direct.len() as f64),
    );
    let (ours, theirs) = (median(&mut ours), median(&mut theirs));
    section.row(
        &format!(
            "{BURST_EXECUTIONS} executions allocated at once → all {} pods Running (median of {rounds})",
            pods_per_burst()
        ),
        format!("{:.2} s", ours.as_secs_f64()),
        format!("{:.2} s (plain Deployments of 3 pods)", theirs.as_secs_f64()),
        ratio(ours.as_secs_f64(), theirs.as_secs_f64()),
    );
    Ok(())
}

fn pods_per_burst() -> usize {
    BURST_EXECUTIONS * (1 + BURST_WORKERS as usize)
}

/// Non-watch requests sent through the counted client, as `METHOD` (`LIST` for selector GETs).
#[derive(Clone, Default)]
struct RequestLog(Arc<Mutex<Vec<&'static str>>>);

impl RequestLog {
    fn push(&self, what: &'static str) {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).push(what);
    }

    fn len(&self) -> usize {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).len()
    }

    fn since(&self, start: usize) -> Vec<&'static str> {
        let log = self.0.lock().unwrap_or_else(|p| p.into_inner());
        log.get(start..).map(<[_]>::to_vec).unwrap_or_default()
    }
}

fn classify(req: &http::Request<kube::client::Body>) -> Option<&'static str> {
    let query = req.uri().query().unwrap_or("");
    // The backend's one pod watch serves every execution; it is not per-lifecycle work.
    if query.split('&').any(|kv| kv == "watch=true") {
        return None;
    }
    Some(match req.method().as_str() {
        "GET" if query.contains("labelSelector") => "LIST",
        "GET" => "GET",
        "POST" => "POST",
        "PUT" => "PUT",
        "PATCH" => "PATCH",
        "DELETE" => "DELETE",
        _ => "other",
    })
}

fn counted_client(config: Config, log: &RequestLog) -> anyhow::Result<Client> {
    let log = log.clone();
    let counting =
        tower::util::MapRequestLayer::new(move |req: http::Request<kube::client::Body>| {
            if let Some(what) = classify(&req) {
                log.push(what);
            }
            req
        });
    Ok(ClientBuilder::try_from(config)
        .context("a client builder from KUBECONFIG")?
        .with_layer(&counting)
        .build())
}

fn breakdown(requests: &[&'static str]) -> String {
    let mut by: BTreeMap<&str, usize> = BTreeMap::new();
    for r in requests {
        *by.entry(r).or_default() += 1;
    }
    by.iter()
        .map(|(k, n)| format!("{k} {n}"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn median(v: &mut [Duration]) -> Duration {
    v.sort();
    v.get(v.len() / 2).copied().unwrap_or_default()
}

fn unique_suffix() -> String {
    let t = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis())
        .unwrap_or(0);
    format!("{}-{}", std::process::id(), t % 1_000_000)
}

async fn create_namespace(admin: &Client) -> anyhow::Result<String> {
    let name = format!("bench-k8s-{}", unique_suffix());
    let ns: Namespace = serde_json::from_value(json!({"metadata": {"name": name}}))?;
    Api::<Namespace>::all(admin.clone())
        .create(&PostParams::default(), &ns)
        .await
        .with_context(|| format!("creating namespace {name}"))?;
    Ok(name)
}

/// The ConfigMap execution pods mount; the backend fails an execution whose ConfigMap is missing.
async fn create_config_map(admin: &Client, ns: &str, name: &str) -> anyhow::Result<()> {
    let cm: ConfigMap = serde_json::from_value(json!({
        "metadata": {"name": name},
        "data": {"teraslice.yaml": "teraslice:\n  name: bench\n"}
    }))?;
    Api::<ConfigMap>::namespaced(admin.clone(), ns)
        .create(&PostParams::default(), &cm)
        .await
        .with_context(|| format!("creating ConfigMap {name} in {ns}"))?;
    Ok(())
}

fn system_config(ns: &str) -> anyhow::Result<SystemConfig> {
    let yaml = format!(
        "terafoundation:
  connectors:
    elasticsearch-next:
      default: {{node: [\"http://elasticsearch:9200\"]}}
teraslice:
  name: bench
  state: {{connection_type: elasticsearch-next}}
  cluster_manager_type: kubernetes
  kubernetes_namespace: {ns}
  kubernetes_image: {IMAGE}
  shutdown_timeout: 5000
  cpu: 0.1
  cpu_execution_controller: 0.1
  memory_execution_controller: 67108864
"
    );
    SystemConfig::from_yaml_str(&yaml).map_err(|e| anyhow::anyhow!("bench config: {e}"))
}

/// A pending execution of a minimal job (test-reader → noop) with a unique name and job id.
fn execution(name: &str, workers: u32) -> anyhow::Result<ExecutionRecord> {
    let job: JobConfig = serde_json::from_value(json!({
        "name": name, "lifecycle": "once", "active": true, "analytics": false, "assets": null,
        "autorecover": false, "max_retries": 3, "probation_window": 300000, "slicers": 1,
        "operations": [{"_op": "test-reader"}, {"_op": "noop"}], "apis": [],
        "workers": workers, "stateful": false, "labels": null, "env_vars": {}, "log_level": null
    }))
    .context("bench job")?;
    let mut ex = ExecutionRecord::new("", job);
    ex.job_id = ex.ex_id.clone();
    Ok(ex)
}

async fn allocate(
    b: &dyn ClusterBackend,
    mut ex: ExecutionRecord,
    workers: u32,
) -> anyhow::Result<ExecutionRecord> {
    let addr = b.allocate_execution_controller(&ex).await?;
    ex.slicer_hostname = Some(addr.hostname);
    ex.slicer_port = Some(addr.port);
    b.allocate_workers(&ex, workers).await?;
    Ok(ex)
}

fn ex_pods(ns: &str, admin: &Client, ex_id: &str) -> (Api<Pod>, watcher::Config) {
    (
        Api::namespaced(admin.clone(), ns),
        watcher::Config::default().labels(&format!("teraslice.terascope.io/exId={ex_id}")),
    )
}

/// Requests of one execution's lifecycle through the backend.
async fn backend_lifecycle(
    b: &dyn ClusterBackend,
    admin: &Client,
    ns: &str,
    log: &RequestLog,
) -> anyhow::Result<Vec<&'static str>> {
    let ex = execution("bench-lifecycle", 2)?;
    let (pods, selector) = ex_pods(ns, admin, &ex.ex_id);
    let start = log.len();
    let (ex, _) = until_running(pods.clone(), selector.clone(), 3, || allocate(b, ex, 2)).await?;
    until_running(pods.clone(), selector.clone(), 4, || async {
        b.set_workers(&ex, 3).await?;
        Ok(())
    })
    .await?;
    let opts = StopOptions {
        timeout_ms: Some(1000),
        force: false,
        exclude_node: None,
    };
    b.stop_execution(&ex.ex_id, &opts).await?;
    let requests = log.since(start);
    until_empty(admin, ns).await?;
    Ok(requests)
}

/// Requests of creating and deleting the same three objects directly.
async fn direct_lifecycle(
    counted: &Client,
    admin: &Client,
    k8s: &K8sConfig,
    log: &RequestLog,
) -> anyhow::Result<Vec<&'static str>> {
    let ns = k8s.namespace.as_str();
    let ex = execution("bench-direct", 2)?;
    let job = manifests::controller_job(k8s, &ex)?;
    let jobs: Api<Job> = Api::namespaced(counted.clone(), ns);
    let services: Api<Service> = Api::namespaced(counted.clone(), ns);
    let deployments: Api<Deployment> = Api::namespaced(counted.clone(), ns);
    let (pods, selector) = ex_pods(ns, admin, &ex.ex_id);
    let start = log.len();
    let ((job_name, svc_name, dep_name), _) = until_running(pods, selector, 3, || async {
        let created = jobs.create(&PostParams::default(), &job).await?;
        let owner = Owner {
            name: created.metadata.name.clone().unwrap_or_default(),
            uid: created
                .metadata
                .uid
                .clone()
                .context("the created Job has no metadata.uid")?,
        };
        let svc = manifests::controller_service(k8s, &ex, &owner);
        let svc = services.create(&PostParams::default(), &svc).await?;
        let dep = manifests::worker_deployment(k8s, &ex, 2, &owner)?;
        let dep = deployments.create(&PostParams::default(), &dep).await?;
        let names = (
            owner.name,
            svc.metadata.name.unwrap_or_default(),
            dep.metadata.name.unwrap_or_default(),
        );
        Ok(names)
    })
    .await?;
    let dp = DeleteParams::background();
    deployments.delete(&dep_name, &dp).await?;
    services.delete(&svc_name, &dp).await?;
    jobs.delete(&job_name, &dp).await?;
    let requests = log.since(start);
    until_empty(admin, ns).await?;
    Ok(requests)
}

/// 50 executions allocated at once through the backend; then force-stopped.
async fn burst_backend(
    b: &dyn ClusterBackend,
    admin: &Client,
    ns: &str,
    round: usize,
) -> anyhow::Result<Duration> {
    let exs = (0..BURST_EXECUTIONS)
        .map(|i| execution(&format!("burst-{round}-{i}"), BURST_WORKERS))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let pods = Api::namespaced(admin.clone(), ns);
    let (exs, elapsed) = until_running(pods, watcher::Config::default(), pods_per_burst(), || {
        futures::future::try_join_all(exs.into_iter().map(|ex| allocate(b, ex, BURST_WORKERS)))
    })
    .await?;
    let force = StopOptions {
        force: true,
        ..Default::default()
    };
    futures::future::try_join_all(exs.iter().map(|ex| b.stop_execution(&ex.ex_id, &force))).await?;
    until_empty(admin, ns).await?;
    Ok(elapsed)
}

fn plain_deployment(name: &str, replicas: u32) -> anyhow::Result<Deployment> {
    let resources = json!({"cpu": POD_CPU});
    Ok(serde_json::from_value(json!({
        "metadata": {"name": name, "labels": {"bench": "direct"}},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"bench-group": name}},
            "template": {
                "metadata": {"labels": {"bench": "direct", "bench-group": name}},
                "spec": {"containers": [{
                    "name": "c", "image": IMAGE,
                    "resources": {"requests": resources, "limits": resources}
                }]}
            }
        }
    }))?)
}

/// The same number of pods as [`burst_backend`], one plain Deployment per execution, created
/// directly; then deleted.
async fn burst_direct(admin: &Client, ns: &str, round: usize) -> anyhow::Result<Duration> {
    let deployments: Api<Deployment> = Api::namespaced(admin.clone(), ns);
    let objects = (0..BURST_EXECUTIONS)
        .map(|i| plain_deployment(&format!("direct-{round}-{i}"), 1 + BURST_WORKERS))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let pods = Api::namespaced(admin.clone(), ns);
    let ((), elapsed) = until_running(pods, watcher::Config::default(), pods_per_burst(), || {
        let deployments = deployments.clone();
        async move {
            let pp = PostParams::default();
            futures::future::try_join_all(objects.iter().map(|d| deployments.create(&pp, d)))
                .await?;
            Ok(())
        }
    })
    .await?;
    let lp = ListParams::default().labels("bench=direct");
    deployments
        .delete_collection(&DeleteParams::background(), &lp)
        .await?;
    let pods: Api<Pod> = Api::namespaced(admin.clone(), ns);
    let now = DeleteParams {
        grace_period_seconds: Some(0),
        ..DeleteParams::background()
    };
    pods.delete_collection(&now, &lp).await?;
    until_empty(admin, ns).await?;
    Ok(elapsed)
}

fn note(p: Pod, running: &mut HashSet<String>, deleted: bool) {
    let name = p.metadata.name.clone().unwrap_or_default();
    let is_running = p.metadata.deletion_timestamp.is_none()
        && p.status.as_ref().and_then(|s| s.phase.as_deref()) == Some("Running");
    if !deleted && is_running {
        running.insert(name);
    } else {
        running.remove(&name);
    }
}

/// Runs `start` while a pod watch (synced first) counts Running pods; returns `start`'s output
/// and the time from calling `start` until it has finished and at least `target` pods are Running.
async fn until_running<T, F, Fut>(
    pods: Api<Pod>,
    selector: watcher::Config,
    target: usize,
    start: F,
) -> anyhow::Result<(T, Duration)>
where
    F: FnOnce() -> Fut,
    Fut: Future<Output = anyhow::Result<T>>,
{
    let mut events = watcher::watcher(pods, selector).default_backoff().boxed();
    let mut running: HashSet<String> = HashSet::new();
    loop {
        match events.next().await {
            Some(Ok(Event::InitDone)) => break,
            Some(Ok(Event::InitApply(p) | Event::Apply(p))) => note(p, &mut running, false),
            Some(Ok(Event::Delete(p))) => note(p, &mut running, true),
            Some(Ok(Event::Init)) | Some(Err(_)) => {}
            None => bail!("the pod watch ended before its first list"),
        }
    }
    let t = Instant::now();
    let work = start();
    tokio::pin!(work);
    let deadline = tokio::time::sleep(TIMEOUT);
    tokio::pin!(deadline);
    let mut output = None;
    loop {
        if output.is_some() && running.len() >= target {
            break;
        }
        tokio::select! {
            done = &mut work, if output.is_none() => output = Some(done?),
            event = events.next() => match event {
                Some(Ok(Event::InitApply(p) | Event::Apply(p))) => note(p, &mut running, false),
                Some(Ok(Event::Delete(p))) => note(p, &mut running, true),
                Some(Ok(Event::Init | Event::InitDone)) | Some(Err(_)) => {}
                None => bail!("the pod watch ended"),
            },
            _ = &mut deadline => bail!(
                "only {} of {target} pods Running after {TIMEOUT:?} (requests done: {})",
                running.len(),
                output.is_some()
            ),
        }
    }
    let elapsed = t.elapsed();
    let output = output.context("unreachable: the loop ends only with an output")?;
    Ok((output, elapsed))
}

/// Waits until the namespace has no pods, ReplicaSets or Jobs left (the GC included).
async fn until_empty(admin: &Client, ns: &str) -> anyhow::Result<()> {
    let pods: Api<Pod> = Api::namespaced(admin.clone(), ns);
    let sets: Api<ReplicaSet> = Api::namespaced(admin.clone(), ns);
    let jobs: Api<Job> = Api::namespaced(admin.clone(), ns);
    let lp = ListParams::default().limit(1);
    let t = Instant::now();
    loop {
        let left = pods.list_metadata(&lp).await?.items.len()
            + sets.list_metadata(&lp).await?.items.len()
            + jobs.list_metadata(&lp).await?.items.len();
        if left == 0 {
            return Ok(());
        }
        if t.elapsed() > TIMEOUT {
            bail!("namespace {ns} still has objects after {TIMEOUT:?}");
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}
