//! Developer tasks: `cargo xtask test | k8s up|down|env | opensearch up|down|env | kafka up|down|env|perf
//! | s3 up|down|env | bench | helm | fuzz | chaos`.
mod attack;
mod bench;
mod browser;
mod helm;
mod image;
mod k8s;
mod kafka;
mod opensearch;
mod paths;
mod s3;
mod service;
mod test;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(name = "xtask", about = "teraslice-rs developer tasks")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run every test: brings up the Kubernetes control plane and OpenSearch the tests need.
    Test(test::TestArgs),
    /// Measure the runtime, stores and master side by side; writes docs/benchmarks.md.
    Bench(bench::BenchArgs),
    /// Property-based fuzzing: ≥ 10^6 generated jobs, configs and frames per target.
    Fuzz(attack::FuzzArgs),
    /// Random kill -9, store outages and frozen connections on a native master; checks the end.
    Chaos(attack::ChaosArgs),
    /// A real Kubernetes control plane (etcd, kube-apiserver, controller-manager, scheduler, kwok).
    K8s {
        #[command(subcommand)]
        action: k8s::K8sAction,
    },
    /// Container images without a Docker daemon, imported into the real node.
    Image {
        #[command(subcommand)]
        command: image::cli::ImageCommand,
    },
    /// Helm built from its Go module (cached); prints the binary's path.
    Helm,
    /// A real single-node OpenSearch on loopback.
    Opensearch {
        #[command(subcommand)]
        action: ServiceAction,
    },
    /// A real single-node KRaft Kafka broker on loopback, and its perf tools.
    Kafka {
        #[command(subcommand)]
        action: kafka::KafkaAction,
    },
    /// An S3-compatible server (moto) on loopback.
    S3 {
        #[command(subcommand)]
        action: ServiceAction,
    },
}

#[derive(Subcommand, Clone, Copy)]
pub enum ServiceAction {
    /// Build (once, cached) and start; reuses a running instance.
    Up,
    /// Stop what `up` started and remove its state.
    Down,
    /// Print the environment variables a shell needs to reach it.
    Env,
}

fn main() -> anyhow::Result<()> {
    match Cli::parse().command {
        Command::Test(args) => test::run(args),
        Command::Bench(args) => bench::run(args),
        Command::Fuzz(args) => attack::fuzz(args),
        Command::Chaos(args) => attack::chaos(args),
        Command::K8s { action } => k8s::run(action),
        Command::Image { command } => image::cli::run(command),
        Command::Opensearch { action } => opensearch::run(action),
        Command::Kafka { action } => kafka::run(action),
        Command::S3 { action } => s3::run(action),
        Command::Helm => helm::run(),
    }
}
