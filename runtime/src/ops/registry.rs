//! `OpRegistry`: the operations, APIs and assets the runtime can build, by name. A library user
//! starts from [`OpRegistry::with_builtins`] (Teraslice's core built-ins) and registers asset
//! crates and their own ops. It is also core's [`OpCatalog`], so job validation rejects an
//! unknown `_op` with the list of known ones, and an unknown asset with the known assets.
use std::collections::BTreeMap;
use std::sync::Arc;

use serde_json::{Map, Value};
use teraslice_core::config::SystemConfig;
use teraslice_core::job::validate::{OpCatalog, OpRole};
use teraslice_core::job::ValidationError;

use super::api::api_module_name;
use super::fields::ConfigCheck;
use super::{ApiContext, ApiFactory, Asset, BatchProcessor, Fetcher, OpContext, OpError, Slicer};

/// A reader: the slicer streams (EC side) and the fetcher (worker side) of `operations[0]`.
pub trait ReaderFactory: Send + Sync {
    /// Checks the op config and fills its defaults; paths relative to the op (`size`, not
    /// `operations[0].size`).
    fn validate(&self, _config: &mut Map<String, Value>, _job: &Value) -> Vec<ValidationError> {
        Vec::new()
    }
    /// The slicer streams: one for a simple slicer, `ctx.job.slicers` for a parallel one.
    fn slicers(&self, ctx: &OpContext) -> Result<Vec<Box<dyn Slicer>>, OpError>;
    /// The fetcher of one worker.
    fn fetcher(&self, ctx: &OpContext) -> Result<Box<dyn Fetcher>, OpError>;
}

/// A processor: `operations[1..]`.
pub trait ProcessorFactory: Send + Sync {
    /// Checks the op config and fills its defaults (op-relative paths).
    fn validate(&self, _config: &mut Map<String, Value>, _job: &Value) -> Vec<ValidationError> {
        Vec::new()
    }
    /// The processor of one worker.
    fn processor(&self, ctx: &OpContext) -> Result<Box<dyn BatchProcessor>, OpError>;
}

/// Run by [`OpRegistry::configured`]: re-registers ops that need the system config (the
/// elasticsearch ops' `terafoundation.connectors`, the file ops' `teraslice.file_roots`).
pub type ConfigHook = Arc<dyn Fn(&mut OpRegistry, &SystemConfig) + Send + Sync>;

/// Operation and API factories by name, and the assets they come in. `Default` is
/// [`OpRegistry::with_builtins`].
#[derive(Clone)]
pub struct OpRegistry {
    readers: BTreeMap<String, Arc<dyn ReaderFactory>>,
    processors: BTreeMap<String, Arc<dyn ProcessorFactory>>,
    apis: BTreeMap<String, Arc<dyn ApiFactory>>,
    /// In registration order.
    assets: Vec<Asset>,
    /// In registration order.
    config_hooks: Vec<ConfigHook>,
}

impl OpRegistry {
    /// A registry with no operations at all.
    pub fn empty() -> Self {
        OpRegistry {
            readers: BTreeMap::new(),
            processors: BTreeMap::new(),
            apis: BTreeMap::new(),
            assets: Vec::new(),
            config_hooks: Vec::new(),
        }
    }
    /// Teraslice's core built-in operations: `noop`, `delay`, `collect` and `test-reader`. The
    /// assets (`standard`, `elasticsearch`, `file`) are crates of their own that register
    /// into it; `teraslice::default_ops()` is this plus those three.
    pub fn with_builtins() -> Self {
        let mut r = Self::empty();
        super::builtin::register_builtins(&mut r);
        r
    }
    /// Adds (or replaces) a reader.
    pub fn register_reader(
        &mut self,
        name: impl Into<String>,
        factory: impl ReaderFactory + 'static,
    ) -> &mut Self {
        self.readers.insert(name.into(), Arc::new(factory));
        self
    }
    /// Adds (or replaces) a processor.
    pub fn register_processor(
        &mut self,
        name: impl Into<String>,
        factory: impl ProcessorFactory + 'static,
    ) -> &mut Self {
        self.processors.insert(name.into(), Arc::new(factory));
        self
    }
    /// Adds (or replaces) an API, looked up by the module part of `apis[]._name`.
    pub fn register_api(
        &mut self,
        name: impl Into<String>,
        factory: impl ApiFactory + 'static,
    ) -> &mut Self {
        self.apis.insert(name.into(), Arc::new(factory));
        self
    }

    /// Adds (or replaces, by name) an asset a job's `assets` list may name. Validation accepts
    /// any version of it; once any asset is registered, an `assets` entry naming none of them
    /// is refused.
    pub fn register_asset(&mut self, asset: Asset) -> &mut Self {
        match self.assets.iter_mut().find(|a| a.name == asset.name) {
            Some(known) => *known = asset,
            None => self.assets.push(asset),
        }
        self
    }
    /// The registered assets, in registration order.
    pub fn assets(&self) -> &[Asset] {
        &self.assets
    }
    /// The asset a job's `assets` entry names (`standard`, `standard:1.2.0`, `standard@1.2.0`)
    /// or is the id of.
    pub fn asset(&self, entry: &str) -> Option<&Asset> {
        self.assets.iter().find(|a| a.matches(entry))
    }

    /// Adds a hook [`OpRegistry::configured`] runs with the system config, after the hooks
    /// registered before it: for ops whose factories hold settings of the config.
    pub fn on_system_config(
        &mut self,
        hook: impl Fn(&mut OpRegistry, &SystemConfig) + Send + Sync + 'static,
    ) -> &mut Self {
        self.config_hooks.push(Arc::new(hook));
        self
    }
    /// The registry with every [`OpRegistry::on_system_config`] hook run on `config`, in
    /// registration order. Each process (master, execution controller, worker) builds its
    /// registry this way.
    pub fn configured(mut self, config: &SystemConfig) -> Self {
        let hooks = self.config_hooks.clone();
        for hook in &hooks {
            hook(&mut self, config);
        }
        self
    }

    /// The registered readers' names, sorted.
    pub fn reader_names(&self) -> Vec<String> {
        self.readers.keys().cloned().collect()
    }
    /// The registered processors' names, sorted.
    pub fn processor_names(&self) -> Vec<String> {
        self.processors.keys().cloned().collect()
    }

    /// The reader `name`; the error lists the known ones.
    pub fn reader(&self, name: &str) -> Result<Arc<dyn ReaderFactory>, OpError> {
        self.readers.get(name).cloned().ok_or_else(|| {
            OpError::non_retryable(format!(
                "unknown reader \"{name}\": known readers are {}",
                self.reader_names().join(", ")
            ))
        })
    }
    /// The processor `name`; the error lists the known ones.
    pub fn processor(&self, name: &str) -> Result<Arc<dyn ProcessorFactory>, OpError> {
        self.processors.get(name).cloned().ok_or_else(|| {
            OpError::non_retryable(format!(
                "unknown processor \"{name}\": known processors are {}",
                self.processor_names().join(", ")
            ))
        })
    }
    /// The API of an `apis[]._name` (its module part); the error lists the known ones.
    pub fn api(&self, name: &str) -> Result<Arc<dyn ApiFactory>, OpError> {
        let module = api_module_name(name);
        self.apis.get(module).cloned().ok_or_else(|| {
            let known: Vec<_> = self.apis.keys().cloned().collect();
            OpError::non_retryable(format!(
                "unknown api \"{module}\": known apis are [{}]",
                known.join(", ")
            ))
        })
    }

    /// Creates every `job.apis[]` entry.
    pub fn create_apis(
        &self,
        ex_id: &str,
        job: &teraslice_core::job::JobConfig,
    ) -> Result<super::ApiSet, OpError> {
        let mut out = std::collections::HashMap::new();
        for config in &job.apis {
            let factory = self.api(config.name())?;
            let ctx = ApiContext { ex_id, job, config };
            let api = factory
                .create(&ctx)
                .map_err(|e| e.context(format!("api \"{}\"", config.name())))?;
            out.insert(config.name().to_string(), api);
        }
        Ok(super::ApiSet::new(out))
    }
}

/// Teraslice's `opSchema`: fields every op has.
fn validate_common(op: &mut Map<String, Value>, job: &Value) -> Vec<ValidationError> {
    let mut errors = ConfigCheck::new(op)
        .one_of("_encoding", &["json", "raw"], "json")
        .optional_string("_dead_letter_action")
        .finish();
    if !op.contains_key("_dead_letter_action") {
        op.insert("_dead_letter_action".into(), Value::String("throw".into()));
    }
    let api_key = if op.contains_key("_api_name") {
        "_api_name"
    } else {
        "api_name"
    };
    if let Some(name) = op.get(api_key).and_then(Value::as_str) {
        let known = job
            .get("apis")
            .and_then(Value::as_array)
            .is_some_and(|apis| {
                apis.iter()
                    .any(|a| a.get("_name").and_then(Value::as_str) == Some(name))
            });
        if !known {
            errors.push(ValidationError {
                path: api_key.into(),
                message: format!(
                    "Could not find the associated api for {name}: add an entry with \"_name\": \"{name}\" to the job's apis"
                ),
            });
        }
    }
    errors
}

impl Default for OpRegistry {
    fn default() -> Self {
        Self::with_builtins()
    }
}

impl OpCatalog for OpRegistry {
    fn op_names(&self) -> Vec<String> {
        let mut names: Vec<String> = self
            .readers
            .keys()
            .chain(self.processors.keys())
            .cloned()
            .collect();
        names.sort();
        names.dedup();
        names
    }

    fn validate_op(
        &self,
        role: OpRole,
        op: &mut Map<String, Value>,
        job: &Value,
    ) -> Vec<ValidationError> {
        let full = op.get("_op").and_then(Value::as_str).unwrap_or_default();
        let name = full.split('@').next().unwrap_or(full).to_string();
        let specific = match role {
            OpRole::Reader => self.readers.get(&name).map(|f| f.validate(op, job)),
            OpRole::Processor => self.processors.get(&name).map(|f| f.validate(op, job)),
        };
        let Some(mut errors) = specific else {
            let (what, known, other) = match role {
                OpRole::Reader => (
                    "reader",
                    self.reader_names(),
                    self.processors.contains_key(&name),
                ),
                OpRole::Processor => (
                    "processor",
                    self.processor_names(),
                    self.readers.contains_key(&name),
                ),
            };
            let hint = if other {
                format!(
                    " (\"{name}\" is a {}, which cannot be used here)",
                    if what == "reader" {
                        "processor"
                    } else {
                        "reader"
                    }
                )
            } else {
                String::new()
            };
            return vec![ValidationError {
                path: "_op".into(),
                message: format!(
                    "unknown {what} \"{name}\"{hint}: known {what}s are {}",
                    known.join(", ")
                ),
            }];
        };
        errors.extend(validate_common(op, job));
        errors
    }

    fn asset_names(&self) -> Vec<String> {
        self.assets.iter().map(|a| a.name.to_string()).collect()
    }

    fn asset_id(&self, entry: &str) -> Option<String> {
        self.asset(entry).map(Asset::id)
    }

    fn validate_api(&self, api: &mut Map<String, Value>, job: &Value) -> Vec<ValidationError> {
        let name = api
            .get("_name")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string();
        match self.api(&name) {
            Ok(factory) => {
                let mut errors = ConfigCheck::new(api)
                    .optional_string("_dead_letter_action")
                    .finish();
                errors.extend(factory.validate(api, job));
                errors
            }
            Err(e) => vec![ValidationError {
                path: "_name".into(),
                message: e.message,
            }],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn op(v: Value) -> Map<String, Value> {
        v.as_object().cloned().unwrap_or_default()
    }

    #[test]
    fn unknown_op_lists_the_known_ones() {
        let r = OpRegistry::with_builtins();
        let errs = r.validate_op(
            OpRole::Processor,
            &mut op(json!({"_op": "nope"})),
            &json!({}),
        );
        assert_eq!(errs.len(), 1);
        assert_eq!(errs[0].path, "_op");
        for known in ["collect", "delay", "noop"] {
            assert!(errs[0].message.contains(known), "{}", errs[0].message);
        }
        assert!(
            !errs[0].message.contains("test-reader"),
            "{}",
            errs[0].message
        );
        let errs = r.validate_op(
            OpRole::Processor,
            &mut op(json!({"_op": "test-reader"})),
            &json!({}),
        );
        assert!(
            errs[0].message.contains("is a reader"),
            "{}",
            errs[0].message
        );
    }

    #[test]
    fn config_hooks_run_in_registration_order_on_configured() {
        let mut r = OpRegistry::with_builtins();
        r.on_system_config(|r, _| {
            r.register_processor("first", super::super::builtin::Noop);
        });
        r.on_system_config(|r, config| {
            // Sees what the hook before it registered.
            if r.processor("first").is_ok() && config.teraslice.security.file_roots.is_none() {
                r.register_processor("second", super::super::builtin::Noop);
            }
        });
        assert!(r.processor("first").is_err(), "hooks wait for configured");
        let configured = r.configured(&SystemConfig::default());
        assert!(configured.processor("first").is_ok());
        assert!(configured.processor("second").is_ok());
    }

    #[test]
    fn registered_assets_are_what_jobs_may_name() {
        let asset = |name, version| Asset {
            name,
            version,
            description: "",
            ops: &["noop"],
            apis: &[],
        };
        let mut r = OpRegistry::with_builtins();
        assert!(r.asset_names().is_empty());
        r.register_asset(asset("mine", "1.0.0"));
        r.register_asset(asset("other", "2.0.0"));
        r.register_asset(asset("mine", "1.1.0"));
        assert_eq!(r.asset_names(), ["mine", "other"], "replaced in place");
        assert_eq!(r.asset("mine:9.9.9").map(|a| a.version), Some("1.1.0"));
        assert_eq!(r.asset("other@2.0.0").map(|a| a.name), Some("other"));
        let id = asset("other", "2.0.0").id();
        assert_eq!(r.asset_id(&id), Some(id.clone()));
        assert_eq!(r.asset_id("kafka"), None);
    }

    #[test]
    fn fills_op_defaults_and_checks_api_name() {
        let r = OpRegistry::with_builtins();
        let mut cfg = op(json!({"_op": "delay", "_api_name": "missing"}));
        let errs = r.validate_op(OpRole::Processor, &mut cfg, &json!({"apis": []}));
        assert_eq!(cfg.get("ms"), Some(&json!(100)));
        assert_eq!(cfg.get("_encoding"), Some(&json!("json")));
        assert_eq!(cfg.get("_dead_letter_action"), Some(&json!("throw")));
        assert_eq!(errs.len(), 1);
        assert_eq!(errs[0].path, "_api_name");
        assert!(errs[0]
            .message
            .contains("Could not find the associated api for missing"));
    }
}
