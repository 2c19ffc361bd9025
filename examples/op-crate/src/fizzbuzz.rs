//! `fizzbuzz`: a per-record processor ([`MapProcessor`]) with validated config.
use serde_json::{Map, Value};
use teraslice_core::job::ValidationError;
use teraslice_runtime::ops::fields::{self, ConfigCheck};
use teraslice_runtime::ops::{
    BatchProcessor, MapProcessor, OpContext, OpError, OperationLifecycle, ProcessorFactory, Record,
};

/// The `fizzbuzz` processor.
pub struct FizzBuzz;

impl ProcessorFactory for FizzBuzz {
    /// `field` (default `n`) and `target` (default `says`) are strings.
    fn validate(&self, config: &mut Map<String, Value>, _job: &Value) -> Vec<ValidationError> {
        let mut errors = ConfigCheck::new(config)
            .optional_string("field")
            .optional_string("target")
            .finish();
        for (key, default) in [("field", "n"), ("target", "says")] {
            match config.get(key) {
                None => {
                    config.insert(key.into(), Value::String(default.into()));
                }
                Some(Value::String(s)) if s.is_empty() => errors.push(ValidationError {
                    path: key.into(),
                    message: "must be a non-empty field name".into(),
                }),
                Some(_) => {}
            }
        }
        errors
    }

    fn processor(&self, ctx: &OpContext) -> Result<Box<dyn BatchProcessor>, OpError> {
        let field = fields::string(&ctx.config, "field")?.unwrap_or_else(|| "n".into());
        let target = fields::string(&ctx.config, "target")?.unwrap_or_else(|| "says".into());
        Ok(Box::new(teraslice_runtime::ops::Map(Says {
            field,
            target,
        })))
    }
}

struct Says {
    field: String,
    target: String,
}

impl OperationLifecycle for Says {}

impl MapProcessor for Says {
    fn map(&mut self, mut record: Record, _index: usize) -> Result<Record, OpError> {
        let n = record
            .data
            .get(&self.field)
            .and_then(Value::as_u64)
            .ok_or_else(|| {
                OpError::non_retryable(format!(
                    "fizzbuzz: record {} has no unsigned integer \"{}\"",
                    record.data, self.field
                ))
            })?;
        let says = match (n % 3, n % 5) {
            (0, 0) => "fizzbuzz".to_string(),
            (0, _) => "fizz".to_string(),
            (_, 0) => "buzz".to_string(),
            _ => n.to_string(),
        };
        if let Value::Object(map) = &mut record.data {
            map.insert(self.target.clone(), Value::String(says));
        }
        Ok(record)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn each_number_says_its_word() {
        let mut says = Says {
            field: "n".into(),
            target: "says".into(),
        };
        let words: Vec<Value> = [1u64, 3, 5, 15]
            .iter()
            .map(|n| {
                says.map(Record::new(json!({"n": n})), 0)
                    .map(|r| r.data["says"].clone())
            })
            .collect::<Result<_, _>>()
            .unwrap_or_default();
        assert_eq!(
            words,
            [json!("1"), json!("fizz"), json!("buzz"), json!("fizzbuzz")]
        );
        let missing = says
            .map(Record::new(json!({"m": 1})), 0)
            .err()
            .map(|e| e.message);
        assert_eq!(
            missing.as_deref(),
            Some("fizzbuzz: record {\"m\":1} has no unsigned integer \"n\"")
        );
    }

    #[test]
    fn defaults_are_filled_and_empty_names_refused() {
        let mut config = Map::new();
        assert!(FizzBuzz.validate(&mut config, &json!({})).is_empty());
        assert_eq!(config.get("target"), Some(&json!("says")));
        let mut config = json!({"field": ""})
            .as_object()
            .cloned()
            .unwrap_or_default();
        let errors = FizzBuzz.validate(&mut config, &json!({}));
        assert_eq!(errors.len(), 1);
        assert_eq!(errors[0].path, "field");
    }
}
