//! `routed_sender` (Batch): sends each record to the destination its metadata `standard:route`
//! selects in `routing` (`{"route,route2": "<connection or sender api name>", "*": …}`),
//! through the sender API named by `_api_name`; returns the slice unchanged.
use std::collections::{BTreeMap, HashMap};

use async_trait::async_trait;
use futures::future::join_all;
use serde_json::{Map, Value};
use teraslice_core::job::{ApiConfig, ValidationError};

use super::check::{at_run, shown, validate, Check};
use super::route_senders::{names_api, Backends, Destination, RouteSender};
use super::ROUTE;
use teraslice_runtime::ops::{
    api_module_name, BatchProcessor, OpContext, OpError, OperationLifecycle, ProcessorFactory,
    Record,
};

pub struct RoutedSender {
    pub backends: Backends,
}

struct Config {
    api_name: String,
    /// Route key → routing value; comma-separated keys are split.
    routing: BTreeMap<String, String>,
    size: usize,
}

/// The job's `apis` entry named `name`.
fn api_entry<'a>(job: &'a Value, name: &str) -> Option<&'a Value> {
    job.get("apis")?
        .as_array()?
        .iter()
        .find(|a| a.get("_name").and_then(Value::as_str) == Some(name))
}

fn parse(c: &mut Check, job: &Value, backends: &Backends) -> Config {
    let supported: Vec<&str> = backends.keys().copied().collect();
    let supported = supported.join(", ");
    let api_name = c.optional_string("_api_name").unwrap_or_default();
    if api_name.is_empty() {
        c.fail(
            "_api_name",
            format!("is required: the _name of a sender api entry in apis ({supported})"),
        );
    } else if !backends.contains_key(api_module_name(&api_name)) {
        c.fail("_api_name", format!("names \"{api_name}\", which routed_sender cannot send through: use one of {supported}"));
    }
    let mut routing = BTreeMap::new();
    match c.get("routing") {
        Some(Value::Object(m)) if !m.is_empty() => {
            for (keys, v) in &m {
                let target = match v {
                    Value::String(s) => s.clone(),
                    Value::Null => String::new(),
                    other => {
                        c.fail(&format!("routing.{keys}"), format!("must be a connection or sender api name, got {}", shown(other)));
                        continue;
                    }
                };
                if names_api(&target) {
                    match api_entry(job, &target) {
                        None => c.fail(&format!("routing.{keys}"), format!("names the api \"{target}\", which is not in the job's apis: add an entry with \"_name\": \"{target}\"")),
                        Some(_) if !backends.contains_key(api_module_name(&target)) => c.fail(&format!("routing.{keys}"), format!("names \"{target}\", which routed_sender cannot send through: use one of {supported}")),
                        Some(_) => {}
                    }
                }
                for key in keys.split(',').map(str::trim).filter(|k| !k.is_empty()) {
                    routing.insert(key.to_string(), target.clone());
                }
            }
            if routing.values().all(String::is_empty) {
                c.fail("routing", "needs at least one route with a non-empty connection or api name");
            }
            if routing.contains_key("*") && routing.contains_key("**") {
                c.fail("routing", "cannot have both \"*\" (one sender for all other routes) and \"**\" (one sender per route): keep one");
            }
        }
        other => c.fail("routing", format!("is required: a non-empty object {{\"<route>[,<route>…]\": \"<connection or sender api name>\"}}, got {}", other.as_ref().map_or("nothing".into(), shown))),
    }
    let size = c.int("size", Some(10_000), 1).unwrap_or(10_000);
    // Kept for job compatibility: each route's batches are sent one after another.
    c.int("concurrency", Some(10), 1);
    Config {
        api_name,
        routing,
        size: usize::try_from(size).unwrap_or(usize::MAX),
    }
}

impl ProcessorFactory for RoutedSender {
    fn validate(&self, config: &mut Map<String, Value>, job: &Value) -> Vec<ValidationError> {
        validate(config, |c| parse(c, job, &self.backends))
    }
    fn processor(&self, ctx: &OpContext) -> Result<Box<dyn BatchProcessor>, OpError> {
        let job = serde_json::to_value(&*ctx.job).unwrap_or(Value::Null);
        Ok(Box::new(Run {
            cfg: at_run(ctx, |c| parse(c, &job, &self.backends))?,
            backends: self.backends.clone(),
            ctx: ctx.clone(),
            senders: HashMap::new(),
        }))
    }
}

struct Run {
    cfg: Config,
    backends: Backends,
    ctx: OpContext,
    /// One sender per (routing key, route) — the route part only for dynamic destinations.
    senders: HashMap<(String, String), Box<dyn RouteSender>>,
}

impl OperationLifecycle for Run {}

impl Run {
    /// The routing key of a record's route, or why it has none.
    fn route_key(&self, route: Option<&str>) -> Result<String, String> {
        let r = &self.cfg.routing;
        match route {
            Some(route) if r.contains_key(route) => Ok(route.to_string()),
            _ if r.contains_key("*") => Ok("*".into()),
            Some(_) if r.contains_key("**") => Ok("**".into()),
            None if r.contains_key("**") => {
                Err("No data route was specified in record metadata".into())
            }
            None => Err("No route was specified in record metadata".into()),
            Some(route) => Err(format!(
                "Invalid connection route: {route} was not found in routing"
            )),
        }
    }

    fn sender(&mut self, key: &str, route: &str) -> Result<(String, String), OpError> {
        let target = self.cfg.routing.get(key).cloned().unwrap_or_default();
        let api_name = if names_api(&target) {
            target.clone()
        } else {
            self.cfg.api_name.clone()
        };
        let api: ApiConfig = self.ctx.job.api(&api_name).cloned().ok_or_else(|| {
            OpError::non_retryable(format!(
                "routed_sender: no api named \"{api_name}\" in the job's apis"
            ))
        })?;
        let backend = self
            .backends
            .get(api_module_name(&api_name))
            .cloned()
            .ok_or_else(|| {
                OpError::non_retryable(format!("routed_sender: cannot send through \"{api_name}\""))
            })?;
        let id = (
            key.to_string(),
            if backend.per_route() {
                route.to_string()
            } else {
                String::new()
            },
        );
        if !self.senders.contains_key(&id) {
            let connection = (!names_api(&target)).then_some(target.as_str());
            let to = Destination {
                api: &api,
                route,
                key,
                connection,
            };
            let sender = backend.create(&self.ctx, &to)?;
            self.senders.insert(id.clone(), sender);
        }
        Ok(id)
    }
}

/// The route a record carries (a non-string value in its text form).
fn route_of(r: &Record) -> Option<String> {
    match r.get_metadata(ROUTE)? {
        Value::Null => None,
        Value::String(s) => Some(s.clone()),
        other => Some(super::value::js_string(other)),
    }
}

#[async_trait]
impl BatchProcessor for Run {
    async fn on_batch(&mut self, batch: Vec<Record>) -> Result<Vec<Record>, OpError> {
        let mut groups: BTreeMap<(String, String), Vec<Record>> = BTreeMap::new();
        for record in &batch {
            let route = route_of(record);
            match self.route_key(route.as_deref()) {
                Ok(key) => {
                    let id = self.sender(&key, route.as_deref().unwrap_or(&key))?;
                    groups.entry(id).or_default().push(record.clone());
                }
                Err(message) => self
                    .ctx
                    .reject_record(record, OpError::non_retryable(message))?,
            }
        }
        let size = self.cfg.size;
        let mut work = Vec::new();
        for (id, records) in groups {
            let Some(mut sender) = self.senders.remove(&id) else {
                continue;
            };
            work.push(async move {
                let mut errors = Vec::new();
                let mut rest = records;
                while !rest.is_empty() {
                    let tail = rest.split_off(rest.len().min(size));
                    if let Err(e) = sender.send(rest).await {
                        errors.push(format!("route \"{}\": {}", id.0, e.message));
                    }
                    rest = tail;
                }
                (id, sender, errors)
            });
        }
        // Every route is attempted; the errors are reported together afterwards.
        let mut errors = Vec::new();
        for (id, sender, errs) in join_all(work).await {
            self.senders.insert(id, sender);
            errors.extend(errs);
        }
        if errors.is_empty() {
            Ok(batch)
        } else {
            Err(OpError::new(format!(
                "routed_sender: {}",
                errors.join("; ")
            )))
        }
    }
}
