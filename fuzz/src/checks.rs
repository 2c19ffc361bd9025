//! The properties each generated input must hold. A check returns what happened to the input,
//! or why the property failed; a panic inside is a failure too (the runner catches it).
use serde_json::Value;
use teraslice_core::config::{ConfigError, SystemConfig};
use teraslice_core::job::{validate_job, JobValidationContext, ValidationError};
use teraslice_runtime::protocol::Envelope;

/// What the code under test did with an input that held the properties.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Accepted,
    Refused,
}

/// The first segment of a problem path: `operations[1]._op` → `operations`.
fn root(path: &str) -> &str {
    path.split(['.', '[']).next().unwrap_or(path)
}

fn named(e: &ValidationError, roots_ok: impl Fn(&str) -> bool) -> Result<(), String> {
    if e.message.trim().is_empty() {
        return Err(format!("problem at `{}` has no message", e.path));
    }
    if e.path.trim().is_empty() || !roots_ok(root(&e.path)) {
        return Err(format!(
            "problem does not name a field of the input: path `{}`, message {:?}",
            e.path, e.message
        ));
    }
    Ok(())
}

/// Job validation: no panic; a refusal lists ≥ 1 problem, each with a message and a path that
/// starts at a field of the job (or `job`/`operations`, which are about the whole job or a
/// required list); an accepted job, written back out, is accepted again.
pub fn check_job(job: &Value, ctx: &JobValidationContext) -> Result<Outcome, String> {
    match validate_job(job, ctx) {
        Ok(config) => {
            let written = serde_json::to_value(&config)
                .map_err(|e| format!("an accepted job cannot be written back: {e}"))?;
            validate_job(&written, ctx)
                .map_err(|e| format!("an accepted job, written back, is refused: {e}"))?;
            Ok(Outcome::Accepted)
        }
        Err(errors) if errors.0.is_empty() => Err("refused with no problem listed".into()),
        Err(errors) => {
            let in_job = |r: &str| r == "job" || r == "operations" || job.get(r).is_some();
            for e in &errors.0 {
                named(e, in_job)?;
            }
            Ok(Outcome::Refused)
        }
    }
}

const CONFIG_ROOTS: &[&str] = &["(config)", "terafoundation", "teraslice"];

fn config_refusal(result: Result<SystemConfig, ConfigError>) -> Result<Outcome, String> {
    match result {
        Ok(_) => Ok(Outcome::Accepted),
        Err(ConfigError::Invalid(errors)) if errors.is_empty() => {
            Err("config refused with no problem listed".into())
        }
        Err(ConfigError::Invalid(errors)) => {
            for e in &errors {
                named(e, |r| CONFIG_ROOTS.contains(&r))?;
            }
            Ok(Outcome::Refused)
        }
        // Not YAML at all: no field to name; the message must say where the text broke (or be
        // about the text as a whole, like "more than one document").
        Err(ConfigError::Yaml { message, .. }) => {
            let located = message.contains("line ") || message.contains("document");
            if located {
                Ok(Outcome::Refused)
            } else {
                Err(format!("YAML error without a position: {message}"))
            }
        }
        Err(e @ ConfigError::Read { .. }) => Err(format!("a string config tried to read: {e}")),
    }
}

/// Config document: no panic; every problem names its full key under a section.
pub fn check_config_value(doc: &Value) -> Result<Outcome, String> {
    config_refusal(SystemConfig::from_value(doc))
}

/// Config file text: as [`check_config_value`], and text that is not YAML says where.
pub fn check_config_text(text: &str) -> Result<Outcome, String> {
    config_refusal(SystemConfig::from_yaml_str(text))
}

/// One frame: no panic; a refused frame names the field at fault (or, for text that is not
/// JSON, the position); an accepted one reads back the same after being written.
pub fn check_frame(text: &str) -> Result<Outcome, String> {
    match Envelope::decode(text) {
        Ok(env) => {
            let written = serde_json::to_string(&env)
                .map_err(|e| format!("an accepted frame cannot be written back: {e}"))?;
            let back = Envelope::decode(&written)
                .map_err(|e| format!("an accepted frame, written back, is refused: {e}"))?;
            if back != env {
                return Err(format!("frame changed on a round trip: {written}"));
            }
            Ok(Outcome::Accepted)
        }
        Err(e) => {
            let is_json = serde_json::from_str::<Value>(text).is_ok_and(|v| v.is_object());
            if e.path.is_empty() || is_json && e.path == "(frame)" {
                return Err(format!("a JSON object refused without a field: {e}"));
            }
            if e.message.trim().is_empty() {
                return Err(format!("frame refused without a message at `{}`", e.path));
            }
            Ok(Outcome::Refused)
        }
    }
}
