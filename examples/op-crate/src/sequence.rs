//! `sequence`: a reader whose slices are ranges `{"from", "to"}` of `0..size`.
use async_trait::async_trait;
use serde_json::{json, Map, Value};
use teraslice_core::job::ValidationError;
use teraslice_runtime::ops::fields::{self, ConfigCheck};
use teraslice_runtime::ops::{
    Fetcher, OpContext, OpError, OperationLifecycle, ReaderFactory, Record, SliceRequest, Slicer,
    SlicerRecoveryData,
};

/// The `sequence` reader.
pub struct Sequence;

impl ReaderFactory for Sequence {
    /// `size` is required; `per_slice` defaults to 100.
    fn validate(&self, config: &mut Map<String, Value>, _job: &Value) -> Vec<ValidationError> {
        let mut errors = ConfigCheck::new(config)
            .positive_int("size", None)
            .positive_int("per_slice", Some(100))
            .finish();
        if !config.contains_key("size") && errors.is_empty() {
            errors.push(ValidationError {
                path: "size".into(),
                message: "is required: how many numbers to read (a positive integer)".into(),
            });
        }
        errors
    }

    fn slicers(&self, ctx: &OpContext) -> Result<Vec<Box<dyn Slicer>>, OpError> {
        let size = fields::positive_int(&ctx.config, "size")?.unwrap_or(0);
        let per_slice = fields::positive_int(&ctx.config, "per_slice")?.unwrap_or(100);
        Ok(vec![Box::new(RangeSlicer {
            next: 0,
            size,
            per_slice,
        })])
    }

    fn fetcher(&self, _ctx: &OpContext) -> Result<Box<dyn Fetcher>, OpError> {
        Ok(Box::new(RangeFetcher))
    }
}

struct RangeSlicer {
    next: u64,
    size: u64,
    per_slice: u64,
}

#[async_trait]
impl Slicer for RangeSlicer {
    /// A recovered execution starts after the last range it completed.
    async fn initialize(&mut self, recovery: Option<&SlicerRecoveryData>) -> Result<(), OpError> {
        let done = recovery
            .and_then(|r| r.last_slice.as_ref())
            .and_then(|last| last.get("to"))
            .and_then(Value::as_u64);
        if let Some(to) = done {
            self.next = to;
        }
        Ok(())
    }

    async fn slice(&mut self) -> Result<Option<SliceRequest>, OpError> {
        if self.next >= self.size {
            return Ok(None);
        }
        let to = (self.next + self.per_slice).min(self.size);
        let request = json!({"from": self.next, "to": to});
        self.next = to;
        Ok(Some(request))
    }

    fn is_recoverable(&self) -> bool {
        true
    }
}

struct RangeFetcher;

impl OperationLifecycle for RangeFetcher {}

#[async_trait]
impl Fetcher for RangeFetcher {
    async fn fetch(&mut self, request: &SliceRequest) -> Result<Vec<Record>, OpError> {
        let bound = |key: &str| {
            request.get(key).and_then(Value::as_u64).ok_or_else(|| {
                OpError::non_retryable(format!(
                    "sequence: slice request {request} has no number \"{key}\""
                ))
            })
        };
        let (from, to) = (bound("from")?, bound("to")?);
        Ok((from..to).map(|n| Record::new(json!({"n": n}))).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn slices_cover_the_range_and_recovery_resumes_after_the_last_one() -> Result<(), OpError>
    {
        let mut s = RangeSlicer {
            next: 0,
            size: 250,
            per_slice: 100,
        };
        s.initialize(None).await?;
        let mut got = Vec::new();
        while let Some(r) = s.slice().await? {
            got.push(r);
        }
        assert_eq!(
            got,
            [
                json!({"from": 0, "to": 100}),
                json!({"from": 100, "to": 200}),
                json!({"from": 200, "to": 250})
            ]
        );
        let mut resumed = RangeSlicer {
            next: 0,
            size: 250,
            per_slice: 100,
        };
        let recovery = SlicerRecoveryData {
            slicer_id: 0,
            last_slice: Some(json!({"from": 100, "to": 200})),
        };
        resumed.initialize(Some(&recovery)).await?;
        assert_eq!(
            resumed.slice().await?,
            Some(json!({"from": 200, "to": 250}))
        );
        let records = RangeFetcher.fetch(&json!({"from": 3, "to": 5})).await?;
        let data: Vec<Value> = records.into_iter().map(Record::into_data).collect();
        assert_eq!(data, [json!({"n": 3}), json!({"n": 4})]);
        Ok(())
    }

    #[test]
    fn size_is_required_and_per_slice_gets_its_default() {
        let mut config = Map::new();
        let errors = Sequence.validate(&mut config, &json!({}));
        assert_eq!(errors.len(), 1);
        assert_eq!(errors[0].path, "size");
        let mut config = json!({"size": 10}).as_object().cloned().unwrap_or_default();
        assert!(Sequence.validate(&mut config, &json!({})).is_empty());
        assert_eq!(config.get("per_slice"), Some(&json!(100)));
    }
}
