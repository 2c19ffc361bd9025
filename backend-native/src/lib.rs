//! teraslice-backend-native: the `native` cluster backend. Each execution controller and worker is
//! a child process — in production this very `teraslice` binary run as
//! `teraslice execution-controller|worker` — that leads its own process group, takes one slot of
//! `teraslice.workers`, logs to `<log_dir>/<ex_id>/<ec|worker-N>.log` and learns its execution
//! from the environment (see [`mod@env`]). Workers that do not fit in free slots are queued and
//! started as slots free. Stopping sends SIGTERM to each group, then SIGKILL after the timeout.
mod backend;
pub mod config;
pub mod env;
mod ports;
mod process;
mod state;
mod stop;
mod workers;

pub use backend::NativeBackend;
pub use config::{ConfigError, NativeConfig, PortRange, DEFAULT_STOP_TIMEOUT};
pub use process::log_path;
