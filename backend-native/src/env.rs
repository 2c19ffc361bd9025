//! The spawn protocol: the environment a child `teraslice execution-controller|worker` gets.
use teraslice_core::backend::Assignment;
use teraslice_core::ExecutionRecord;

use crate::config::NativeConfig;

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

/// Every variable a child gets; `ex` already carries `slicer_hostname`/`slicer_port`. The record
/// itself is not passed (one variable holds at most 128 KiB on Linux, a job up to the API's
/// payload limit): the child loads it from the state store by `ex_id`.
pub fn child_env(
    cfg: &NativeConfig,
    ex: &ExecutionRecord,
    assignment: Assignment,
) -> Vec<(&'static str, String)> {
    let role = assignment_name(assignment).to_string();
    let mut env = vec![
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
    env
}
