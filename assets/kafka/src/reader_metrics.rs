//! kafka_reader's metrics (teraslice-kafka-s3.md §3.8), label `op_name`: `kafka_partitions`
//! (partitions assigned to this consumer), `kafka_bytes_consumed` (payload bytes) and
//! `kafka_rebalance_total` (revocations seen). Counting for nobody when metrics are off.
use rdkafka::consumer::{BaseConsumer, Consumer, ConsumerContext, Rebalance};
use rdkafka::ClientContext;
use teraslice_runtime::metrics::{Counter, Gauge};
use teraslice_runtime::ops::OpContext;

/// The consumer's context: librdkafka calls it around each rebalance.
pub struct ReaderContext {
    partitions: Gauge,
    rebalances: Counter,
}

impl ReaderContext {
    pub fn new(ctx: &OpContext) -> Self {
        let metrics = ctx.metrics();
        ReaderContext {
            partitions: metrics.gauge(
                "kafka_partitions",
                "Number of partitions the kafka consumer is consuming from",
                &[],
            ),
            rebalances: metrics.counter(
                "kafka_rebalance",
                "Number of rebalances (partition revocations) the kafka consumer went through",
                &[],
            ),
        }
    }
}

/// Payload bytes read by a fetcher.
pub fn bytes_consumed(ctx: &OpContext) -> Counter {
    ctx.metrics().counter(
        "kafka_bytes_consumed",
        "Number of bytes the kafka consumer has consumed",
        &[],
    )
}

impl ClientContext for ReaderContext {}

impl ConsumerContext for ReaderContext {
    fn pre_rebalance(&self, _consumer: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        if let Rebalance::Revoke(_) = rebalance {
            self.rebalances.inc();
        }
    }

    fn post_rebalance(&self, consumer: &BaseConsumer<Self>, _rebalance: &Rebalance<'_>) {
        match consumer.assignment() {
            Ok(assigned) => {
                self.partitions
                    .set(i64::try_from(assigned.count()).unwrap_or(i64::MAX));
            }
            Err(e) => {
                tracing::debug!(error = %e, "kafka_reader: assignment unknown after a rebalance")
            }
        }
    }
}
