//! `id_reader`'s slicer (teraslice-assets.md §4.1): the root keys are dealt round-robin to the
//! streams; each walks its prefixes depth-first and emits `{keys: [prefix], count}` per prefix
//! matching between 1 and `size` documents.
use std::sync::Arc;

use async_trait::async_trait;
use serde_json::{json, Value};

use super::keys::KeyWalk;
use super::plan::Shared;
use super::query::{self, Scope};
use teraslice_runtime::ops::{OpError, SliceRequest, Slicer, SlicerRecoveryData};

pub struct IdSlicer {
    shared: Arc<Shared>,
    walk: KeyWalk,
}

impl IdSlicer {
    pub fn new(shared: Arc<Shared>, id: usize) -> Self {
        let cfg = &shared.cfg;
        let all: Vec<String> = match &cfg.key_range {
            Some(r) => r.clone(),
            None => cfg.key_type.alphabet().chars().map(String::from).collect(),
        };
        let roots = KeyWalk::roots_for(&all, id, shared.slicers);
        let walk = KeyWalk::new(cfg.key_type, roots, cfg.starting_key_depth);
        IdSlicer { shared, walk }
    }
}

#[async_trait]
impl Slicer for IdSlicer {
    async fn initialize(&mut self, recovery: Option<&SlicerRecoveryData>) -> Result<(), OpError> {
        self.shared.plan().await?;
        let last_key = recovery
            .and_then(|r| r.last_slice.as_ref())
            .and_then(|s| s.pointer("/keys/0"))
            .and_then(Value::as_str);
        if let Some(key) = last_key {
            self.walk.resume_after(key);
        }
        Ok(())
    }

    async fn slice(&mut self) -> Result<Option<SliceRequest>, OpError> {
        let cfg = &self.shared.cfg;
        while let Some(prefix) = self.walk.next_prefix() {
            let scope = Scope {
                range: None,
                keys: vec![prefix.clone()],
            };
            match self
                .shared
                .client
                .count(&cfg.index, query::build(cfg, &scope))
                .await?
            {
                0 => {}
                n if n > cfg.size => self.walk.descend(&prefix),
                n => return Ok(Some(json!({"keys": [prefix], "count": n}))),
            }
        }
        Ok(None)
    }

    fn is_recoverable(&self) -> bool {
        !self.shared.persistent
    }
}
