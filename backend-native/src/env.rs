//! The spawn protocol: the environment a child `teraslice execution-controller|worker` gets.
use base64::Engine;
use teraslice_core::backend::Assignment;
use teraslice_core::ExecutionRecord;

use crate::config::NativeConfig;

/// `EX`: standard base64 (with padding) of the execution record JSON, as Teraslice's `safeEncode`.
pub const ENV_EX: &str = "EX";
pub const ENV_ASSIGNMENT: &str = "assignment";
/// Same value as `assignment`; Teraslice's `service.js` reads either.
pub const ENV_NODE_TYPE: &str = "NODE_TYPE";
pub const ENV_EX_ID: &str = "ex_id";
pub const ENV_JOB_ID: &str = "job_id";
pub const ENV_NODE_ID: &str = "node_id";
pub const ENV_SLICER_HOSTNAME: &str = "slicer_hostname";
pub const ENV_SLICER_PORT: &str = "slicer_port";
/// Execution controllers only: the number of an inherited file descriptor that is a TCP socket
/// already bound to `slicer_port` and listening (the backend binds it, so no other program can
/// take the port before the controller listens). The controller serves on it instead of binding.
pub const ENV_SLICER_LISTEN_FD: &str = "slicer_listen_fd";
/// Set only when the backend has a config file path.
pub const ENV_CONFIG: &str = "TERAFOUNDATION_CONFIG";

/// `execution_controller` / `worker`, Teraslice's `assignment` values.
pub fn assignment_name(a: Assignment) -> &'static str {
    match a {
        Assignment::ExecutionController => "execution_controller",
        Assignment::Worker => "worker",
    }
}

/// The `teraslice` subcommand that runs a role.
pub fn subcommand(a: Assignment) -> &'static str {
    match a {
        Assignment::ExecutionController => "execution-controller",
        Assignment::Worker => "worker",
    }
}

/// Encodes an execution record for `EX`.
pub fn encode_execution(ex: &ExecutionRecord) -> Result<String, serde_json::Error> {
    let json = serde_json::to_vec(ex)?;
    Ok(base64::engine::general_purpose::STANDARD.encode(json))
}

/// Every variable a child gets; `ex` already carries `slicer_hostname`/`slicer_port`.
pub fn child_env(
    cfg: &NativeConfig,
    ex: &ExecutionRecord,
    assignment: Assignment,
) -> Result<Vec<(&'static str, String)>, serde_json::Error> {
    let role = assignment_name(assignment).to_string();
    let mut env = vec![
        (ENV_EX, encode_execution(ex)?),
        (ENV_ASSIGNMENT, role.clone()),
        (ENV_NODE_TYPE, role),
        (ENV_EX_ID, ex.ex_id.clone()),
        (ENV_JOB_ID, ex.job_id.clone()),
        (ENV_NODE_ID, cfg.hostname.clone()),
    ];
    if let Some(host) = &ex.slicer_hostname {
        env.push((ENV_SLICER_HOSTNAME, host.clone()));
    }
    if let Some(port) = ex.slicer_port {
        env.push((ENV_SLICER_PORT, port.to_string()));
    }
    if let Some(path) = &cfg.config_path {
        env.push((ENV_CONFIG, path.display().to_string()));
    }
    Ok(env)
}
