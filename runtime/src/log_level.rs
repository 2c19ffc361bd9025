//! The log level of this process, changed while it runs (Teraslice's
//! `POST /jobs/:id/_settings?log_level=`). The binary installs a setter over its tracing filter
//! (tracing-subscriber's reload layer); the execution controller calls [`set`] for itself and
//! tells its workers to do the same.
use std::sync::OnceLock;

/// Changes the level; the argument is one of [`LEVELS`].
pub type Setter = Box<dyn Fn(&str) -> Result<(), String> + Send + Sync>;

static SETTER: OnceLock<Setter> = OnceLock::new();

/// The levels accepted, as Teraslice's (bunyan) names them; `fatal` means `error` here.
pub const LEVELS: &str = "trace, debug, info, warn, error, fatal";

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LogLevelError {
    #[error("log_level \"{0}\" is not a log level: use one of {LEVELS}")]
    Invalid(String),
    #[error("the log level of this process cannot be changed: {0}")]
    Unavailable(String),
}

/// `level` as a tracing filter level (`"fatal"` → `"error"`), case-insensitive.
pub fn parse(level: &str) -> Result<&'static str, LogLevelError> {
    match level.trim().to_ascii_lowercase().as_str() {
        "trace" => Ok("trace"),
        "debug" => Ok("debug"),
        "info" => Ok("info"),
        "warn" | "warning" => Ok("warn"),
        "error" | "fatal" => Ok("error"),
        _ => Err(LogLevelError::Invalid(level.to_string())),
    }
}

/// Installs the process's setter; the first one wins. Returns whether this one was installed.
pub fn install(setter: Setter) -> bool {
    SETTER.set(setter).is_ok()
}

/// Sets this process's log level; returns the level applied.
pub fn set(level: &str) -> Result<&'static str, LogLevelError> {
    let level = parse(level)?;
    let setter = SETTER.get().ok_or_else(|| {
        LogLevelError::Unavailable("no reloadable log filter was installed".into())
    })?;
    setter(level).map_err(LogLevelError::Unavailable)?;
    tracing::info!(level, "log level changed");
    Ok(level)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn teraslice_level_names_are_accepted() {
        assert_eq!(parse("DEBUG"), Ok("debug"));
        assert_eq!(parse("fatal"), Ok("error"));
        assert_eq!(parse("warn"), Ok("warn"));
        let err = parse("loud").unwrap_err().to_string();
        assert!(
            err.contains("loud") && err.contains("trace, debug"),
            "{err}"
        );
    }
}
