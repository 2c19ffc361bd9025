//! Builds the master's parts from the config: the state store and the cluster backend (with the
//! client the scheduler uses to reach execution controllers).
use std::sync::{Arc, Mutex};

use teraslice_backend_mock::{MockBackend, MockConfig};
use teraslice_backend_native::{NativeBackend, NativeConfig, PortRange};
use teraslice_core::backend_factory::{BackendFactory, BackendFuture};
use teraslice_core::config::{ClusterManagerType, SystemConfig};
use teraslice_core::scheduler::ControllerClient;
use teraslice_core::{BackendError, ClusterBackend, StateStore};
use teraslice_storage::{open_store, StoreKind};

use super::controller_http::HttpControllerClient;
use super::{MasterError, MasterOptions};

/// Opens the store `teraslice.state` names: SQLite at `<data_dir>/teraslice.sqlite` by default,
/// or Elasticsearch/OpenSearch through `terafoundation.connectors`.
pub async fn open_state_store(config: &SystemConfig) -> Result<Arc<dyn StateStore>, MasterError> {
    let kind = StoreKind::from_system_config(config)
        .map_err(|e| MasterError::StoreConfig(e.to_string()))?;
    match &kind {
        StoreKind::Sqlite(path) => {
            tracing::info!(path = %path.display(), "opening SQLite state store")
        }
        _ => tracing::info!(
            connection_type = config.teraslice.state.connection_type.as_str(),
            connection = %config.teraslice.state.connection,
            "opening state store"
        ),
    }
    Ok(open_store(kind).await?)
}

/// The backend and the client that reaches its execution controllers.
pub struct BuiltBackend {
    pub backend: Arc<dyn ClusterBackend>,
    pub controllers: Arc<dyn ControllerClient>,
}

/// Registers the built-in backends and those of `opts.extensions`, and builds the configured one.
pub async fn build_backend(
    opts: &MasterOptions,
    store: Arc<dyn StateStore>,
) -> Result<BuiltBackend, MasterError> {
    // The mock answers controller requests itself; the constructor leaves it here for us.
    let mock_slot: Arc<Mutex<Option<Arc<MockBackend>>>> = Arc::default();
    let mut factory = BackendFactory::new();
    let native_opts = opts.clone();
    factory.register(ClusterManagerType::NATIVE, move |config: &SystemConfig| {
        let built = native_config(&native_opts, config).and_then(|cfg| {
            NativeBackend::new(cfg).map_err(|e| BackendError::Other(e.to_string()))
        });
        Box::pin(async move {
            let backend: Arc<dyn ClusterBackend> = Arc::new(built?);
            Ok(backend)
        }) as BackendFuture
    });
    teraslice_backend_k8s::register(&mut factory);
    let slot = mock_slot.clone();
    factory.register(ClusterManagerType::MOCK, move |config: &SystemConfig| {
        let m = &config.teraslice.mock;
        let mock = Arc::new(
            MockBackend::new(MockConfig {
                nodes: m.nodes as usize,
                slots_per_node: m.slots_per_node as usize,
                latency: m.latency(),
            })
            .with_store(store.clone()),
        );
        *slot.lock().unwrap_or_else(|p| p.into_inner()) = Some(mock.clone());
        let backend: Arc<dyn ClusterBackend> = mock;
        Box::pin(async move { Ok(backend) }) as BackendFuture
    });
    factory.extend(&opts.extensions.backends);
    let backend = factory.build(&opts.config).await?;
    let mock = mock_slot.lock().unwrap_or_else(|p| p.into_inner()).take();
    let controllers: Arc<dyn ControllerClient> = match mock {
        Some(mock) => mock,
        None => Arc::new(HttpControllerClient::new(
            opts.config.teraslice.action_timeout() + opts.config.teraslice.network_latency_buffer(),
        )),
    };
    Ok(BuiltBackend {
        backend,
        controllers,
    })
}

/// Env: a program the native backend starts children through, as `<wrapper> <teraslice>
/// execution-controller|worker` (to trace them, or, in the chaos test, to put a relay between a
/// worker and its controller). It should end by `exec`ing its arguments.
pub const NATIVE_WRAPPER: &str = "TERASLICE_NATIVE_WRAPPER";

/// Runs `cfg.program` through `wrapper`, which gets the program as its first argument.
fn wrap_children(cfg: &mut NativeConfig, wrapper: std::path::PathBuf) -> Result<(), BackendError> {
    let program = cfg.program.to_str().ok_or_else(|| {
        BackendError::Other(format!(
            "env {NATIVE_WRAPPER}: the teraslice program's path {} is not UTF-8, so it cannot be passed to the wrapper",
            cfg.program.display()
        ))
    })?;
    if !wrapper.is_file() {
        return Err(BackendError::Other(format!(
            "env {NATIVE_WRAPPER}: {} is not a file; it must name an executable that runs its arguments",
            wrapper.display()
        )));
    }
    cfg.args_prefix.insert(0, program.to_string());
    cfg.program = wrapper;
    Ok(())
}

/// `teraslice.*` → the native backend's settings.
fn native_config(
    opts: &MasterOptions,
    config: &SystemConfig,
) -> Result<NativeConfig, BackendError> {
    let ts = &config.teraslice;
    let mut cfg = match &opts.native_program {
        Some(program) => NativeConfig::for_program(program),
        None => NativeConfig::from_current_exe().map_err(|e| BackendError::Other(e.to_string()))?,
    };
    if let Some(wrapper) = std::env::var_os(NATIVE_WRAPPER).filter(|w| !w.is_empty()) {
        wrap_children(&mut cfg, wrapper.into())?;
    }
    cfg.config_path = opts.config_path.clone();
    cfg.slots = ts.workers as usize;
    cfg.hostname = ts
        .hostname
        .clone()
        .unwrap_or_else(|| "127.0.0.1".to_string());
    cfg.slicer_port_range = PortRange {
        start: ts.slicer_port_range.start,
        end: ts.slicer_port_range.end,
    };
    cfg.log_dir = ts.data_dir.join("logs");
    // Teraslice's node master waits shutdown_timeout + 3 s before SIGKILL.
    cfg.stop_timeout = ts.shutdown_timeout() + std::time::Duration::from_secs(3);
    Ok(cfg)
}
