//! `prom_metrics_add_default`: the process metrics Prometheus clients add by default, read
//! from `/proc/self` at scrape time (Linux; elsewhere they stay 0).
use std::sync::atomic::{AtomicU64, Ordering};

use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;

/// Linux's USER_HZ, the unit of the CPU times in `/proc/self/stat`.
const TICKS_PER_SECOND: f64 = 100.0;
const PAGE_SIZE: i64 = 4096;

pub(super) struct DefaultMetrics {
    cpu_seconds: Counter<f64, AtomicU64>,
    cpu_seen: AtomicU64,
    resident_bytes: Gauge,
    virtual_bytes: Gauge,
    open_fds: Gauge,
    start_time: Gauge,
}

impl DefaultMetrics {
    pub(super) fn register(reg: &mut Registry) -> Self {
        let m = DefaultMetrics {
            cpu_seconds: Counter::default(),
            cpu_seen: AtomicU64::new(0),
            resident_bytes: Gauge::default(),
            virtual_bytes: Gauge::default(),
            open_fds: Gauge::default(),
            start_time: Gauge::default(),
        };
        reg.register(
            "process_cpu_seconds",
            "Total user and system CPU time spent in seconds",
            m.cpu_seconds.clone(),
        );
        reg.register(
            "process_resident_memory_bytes",
            "Resident memory size in bytes",
            m.resident_bytes.clone(),
        );
        reg.register(
            "process_virtual_memory_bytes",
            "Virtual memory size in bytes",
            m.virtual_bytes.clone(),
        );
        reg.register(
            "process_open_fds",
            "Number of open file descriptors",
            m.open_fds.clone(),
        );
        reg.register(
            "process_start_time_seconds",
            "Start time of the process since unix epoch in seconds",
            m.start_time.clone(),
        );
        m
    }

    pub(super) fn refresh(&self) {
        if let Ok(stat) = std::fs::read_to_string("/proc/self/stat") {
            // Fields after the command name, which may hold spaces: state is field 3.
            let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
            let f: Vec<&str> = rest.split_whitespace().collect();
            let num = |i: usize| f.get(i - 3).and_then(|v| v.parse::<i64>().ok());
            if let (Some(utime), Some(stime)) = (num(14), num(15)) {
                let ticks = (utime + stime).max(0) as u64;
                let seen = self.cpu_seen.swap(ticks, Ordering::Relaxed);
                if ticks > seen {
                    self.cpu_seconds
                        .inc_by((ticks - seen) as f64 / TICKS_PER_SECOND);
                }
            }
            if let Some(vsize) = num(23) {
                self.virtual_bytes.set(vsize);
            }
            if let Some(rss) = num(24) {
                self.resident_bytes.set(rss * PAGE_SIZE);
            }
            if let (Some(start), Some(boot)) = (num(22), boot_time()) {
                self.start_time
                    .set(boot + (start as f64 / TICKS_PER_SECOND) as i64);
            }
        }
        if let Ok(fds) = std::fs::read_dir("/proc/self/fd") {
            self.open_fds.set(fds.count() as i64);
        }
    }
}

fn boot_time() -> Option<i64> {
    let stat = std::fs::read_to_string("/proc/stat").ok()?;
    stat.lines()
        .find_map(|l| l.strip_prefix("btime "))
        .and_then(|v| v.trim().parse().ok())
}
