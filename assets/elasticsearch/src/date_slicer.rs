//! `elasticsearch_reader`'s date-range slicer (teraslice-assets.md §3.4–3.6): one stream per
//! slicer, each owning a part of the range; slices are split while they count more than `size`,
//! empty time is merged into the next slice (`once`), and a persistent reader trails the clock.
use std::collections::VecDeque;
use std::sync::Arc;

use async_trait::async_trait;
use serde_json::{json, Value};

use super::error::EsError;
use super::keys::KeyWalk;
use super::plan::{part, Shared};
use super::query::{self, count_date, Scope};
use teraslice_runtime::ops::dates::{iso, parse_iso, Interval, Unit};
use teraslice_runtime::ops::{OpError, SliceRequest, Slicer, SlicerRecoveryData};

pub struct DateSlicer {
    shared: Arc<Shared>,
    id: usize,
    start: i64,
    limit: i64,
    interval: Interval,
    /// Already-processed stretches `[start, end)` to jump over (from a recovery).
    holes: Vec<(i64, i64)>,
    /// Persistent: the whole window this stream's part was taken from.
    window: (i64, i64),
    done: bool,
    buffer: VecDeque<SliceRequest>,
}

impl DateSlicer {
    pub fn new(shared: Arc<Shared>, id: usize) -> Self {
        DateSlicer {
            shared,
            id,
            start: 0,
            limit: 0,
            interval: Interval::ms(1),
            holes: Vec::new(),
            window: (0, 0),
            done: false,
            buffer: VecDeque::new(),
        }
    }

    fn unit(&self) -> i64 {
        self.shared.cfg.resolution.unit_ms()
    }

    async fn count(&self, start: i64, end: i64, keys: &[String]) -> Result<u64, EsError> {
        let res = self.shared.cfg.resolution;
        let scope = Scope {
            range: Some((count_date(start, res), count_date(end, res))),
            keys: keys.to_vec(),
        };
        self.shared
            .client
            .count(
                &self.shared.cfg.index,
                query::build(&self.shared.cfg, &scope),
            )
            .await
    }

    /// The first hole starting at or after `t`.
    fn next_hole(&self, t: i64) -> Option<(i64, i64)> {
        self.holes.iter().copied().filter(|(s, _)| *s >= t).min()
    }

    fn step_end(&self, from: i64) -> i64 {
        let mut end = self
            .interval
            .add(from)
            .unwrap_or(self.limit)
            .min(self.limit);
        if let Some((hs, _)) = self.next_hole(from) {
            end = end.min(hs);
        }
        end.max(from + self.unit()).min(self.limit)
    }

    /// The interval of an `auto` reader: `size` docs per slice on average.
    async fn auto_interval(&self, start: i64, limit: i64) -> Result<Option<Interval>, EsError> {
        let count = self.count(start, limit, &[]).await?;
        if count == 0 {
            return Ok(None);
        }
        let slices = count.div_ceil(self.shared.cfg.size) as i64;
        let ms = (limit - start) / slices.max(1);
        Ok(Some(match self.shared.cfg.resolution.unit_ms() {
            1000 => Interval {
                n: (ms / 1000).max(1),
                unit: Unit::Second,
            },
            _ => Interval::ms(ms.max(1)),
        }))
    }

    /// A fixed interval longer than the range is clamped to it (rounded up to the resolution).
    fn clamp(&self, interval: Interval, start: i64, limit: i64) -> Interval {
        match interval.add(start) {
            Some(end) if end <= limit => interval,
            _ => {
                let len = (limit - start).max(1);
                let unit = self.unit();
                Interval::ms((len + unit - 1) / unit * unit)
            }
        }
    }

    /// Splits `[start, end)` until it counts at most `size` (or cannot be split), expanding empty
    /// windows in `once` mode. Returns the accepted end and count.
    async fn determine(&self, start: i64, mut end: i64) -> Result<(i64, u64), EsError> {
        let cfg = &self.shared.cfg;
        let unit = self.unit();
        let mut base = start;
        let mut count = self.count(start, end, &[]).await?;
        loop {
            if count > cfg.size {
                let ratio = if cfg.recurse_optimization {
                    cfg.size as f64 / count as f64
                } else {
                    0.5
                };
                let diff = ((end - base) as f64 * ratio).floor() as i64;
                let diff = diff - diff.rem_euclid(unit);
                if diff <= 0 {
                    return Ok((end, count));
                }
                end = (base + diff).min(self.limit);
                tracing::debug!(slicer = self.id, start = %iso(start), end = %iso(end), "slicer:slice:recursion");
            } else if count == 0 && !self.shared.persistent {
                let hole_start = self.next_hole(end).map(|h| h.0);
                if end >= self.limit || Some(end) == hole_start {
                    return Ok((end, 0));
                }
                base = end;
                end = self.step_end(end);
            } else {
                return Ok((end, count));
            }
            count = self.count(start, end, &[]).await?;
        }
    }

    fn request(&self, start: i64, end: i64, count: u64, keys: Option<&str>) -> SliceRequest {
        let holes: Vec<Value> = self
            .holes
            .iter()
            .map(|(s, e)| json!({"start": iso(*s), "end": iso(*e)}))
            .collect();
        let mut r = json!({"start": iso(start), "end": iso(end), "limit": iso(self.limit), "holes": holes, "count": count});
        if let (Some(k), Some(obj)) = (keys, r.as_object_mut()) {
            obj.insert("keys".into(), json!([k]));
        }
        r
    }

    /// Key sub-slices of a big date slice: each prefix with at most `size` docs.
    async fn by_key(&self, start: i64, end: i64) -> Result<Vec<SliceRequest>, EsError> {
        let cfg = &self.shared.cfg;
        let roots: Vec<String> = cfg.key_type.alphabet().chars().map(String::from).collect();
        let mut walk = KeyWalk::new(cfg.key_type, roots, cfg.starting_key_depth);
        let mut out = Vec::new();
        while let Some(prefix) = walk.next_prefix() {
            let keys = [prefix.clone()];
            match self.count(start, end, &keys).await? {
                0 => {}
                n if n > cfg.size => walk.descend(&prefix),
                n => out.push(self.request(start, end, n, Some(&prefix))),
            }
        }
        Ok(out)
    }

    /// Persistent: move to this stream's part of the next window once it is behind `now - delay`.
    fn advance_window(&mut self) -> bool {
        let cfg = &self.shared.cfg;
        let next = (
            self.interval.add(self.window.0),
            self.interval.add(self.window.1),
        );
        let (Some(ws), Some(wl)) = next else {
            return false;
        };
        let (s, l) = part(ws, wl, self.id, self.shared.slicers, self.unit());
        let delay = cfg.delay.unwrap_or(Interval {
            n: 30,
            unit: Unit::Second,
        });
        let now = chrono::Utc::now().timestamp_millis();
        if delay.add(l).is_none_or(|ready_at| ready_at > now) {
            return false;
        }
        self.window = (ws, wl);
        self.start = s.max(self.start.min(l));
        self.limit = l;
        true
    }

    async fn next_batch(&mut self) -> Result<Option<Vec<SliceRequest>>, EsError> {
        let shared = self.shared.clone();
        let cfg = &shared.cfg;
        loop {
            if self.done {
                return Ok(None);
            }
            if self.start >= self.limit {
                if !self.shared.persistent {
                    self.done = true;
                    return Ok(None);
                }
                if !self.advance_window() {
                    return Ok(None);
                }
                continue;
            }
            if let Some((_, he)) = self
                .holes
                .iter()
                .copied()
                .find(|(hs, he)| self.start >= *hs && self.start < *he)
            {
                self.start = he;
                continue;
            }
            let start = self.start;
            let (end, count) = self.determine(start, self.step_end(start)).await?;
            self.start = end;
            if count == 0 && !self.shared.persistent {
                continue;
            }
            if cfg.subslice_by_key && count >= cfg.subslice_key_threshold {
                let batch = self.by_key(start, end).await?;
                if batch.is_empty() {
                    continue;
                }
                return Ok(Some(batch));
            }
            return Ok(Some(vec![self.request(start, end, count, None)]));
        }
    }
}

fn parse_holes(v: Option<&Value>) -> Vec<(i64, i64)> {
    v.and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|h| {
            let s = parse_iso(h.get("start")?.as_str()?)?;
            let e = parse_iso(h.get("end")?.as_str()?)?;
            Some((s, e))
        })
        .collect()
}

#[async_trait]
impl Slicer for DateSlicer {
    async fn initialize(&mut self, recovery: Option<&SlicerRecoveryData>) -> Result<(), OpError> {
        let plan = self.shared.plan().await?;
        let cfg = &self.shared.cfg;
        let (n, unit) = (self.shared.slicers, self.unit());
        if self.shared.persistent {
            let interval = cfg.interval.unwrap_or(Interval {
                n: 5,
                unit: Unit::Minute,
            });
            let delay = cfg.delay.unwrap_or(Interval {
                n: 30,
                unit: Unit::Second,
            });
            let wl = cfg
                .resolution
                .trunc(delay.sub(plan.created).unwrap_or(plan.created));
            let ws = interval.sub(wl).unwrap_or(wl);
            let (s, l) = part(ws, wl, self.id, n, unit);
            (self.window, self.start, self.limit, self.interval) = ((ws, wl), s, l, interval);
        } else {
            let Some((start, limit)) = plan.range else {
                self.done = true;
                return Ok(());
            };
            let (s, l) = part(start, limit, self.id, n, unit);
            self.interval = match cfg.interval {
                Some(i) => self.clamp(i, s, l),
                None => match self.auto_interval(s, l).await? {
                    Some(i) => i,
                    None if recovery.is_none() => {
                        self.done = true;
                        return Ok(());
                    }
                    None => Interval::ms(l - s),
                },
            };
            (self.start, self.limit) = (s, l);
            tracing::info!(slicer = self.id, start = %iso(s), end = %iso(l), interval = ?self.interval, "elasticsearch_reader slicer range");
        }
        if let Some(last) = recovery.and_then(|r| r.last_slice.as_ref()) {
            if let Some(end) = last.get("end").and_then(Value::as_str).and_then(parse_iso) {
                self.start = end;
            }
            self.holes = parse_holes(last.get("holes"));
            // A hole reaching past the limit pulls the limit back to its start.
            if let Some((hs, _)) = self
                .holes
                .iter()
                .copied()
                .filter(|(_, he)| *he >= self.limit)
                .min()
            {
                self.limit = self.limit.min(hs.max(self.start));
            }
        }
        Ok(())
    }

    async fn slice(&mut self) -> Result<Option<SliceRequest>, OpError> {
        if self.buffer.is_empty() {
            if let Some(batch) = self.next_batch().await? {
                self.buffer.extend(batch);
            }
        }
        Ok(self.buffer.pop_front())
    }

    async fn slice_many(&mut self) -> Result<Option<Vec<SliceRequest>>, OpError> {
        if !self.buffer.is_empty() {
            return Ok(Some(self.buffer.drain(..).collect()));
        }
        Ok(self.next_batch().await?)
    }

    fn is_recoverable(&self) -> bool {
        true
    }
}
