//! Slicer ports: the backend binds the controller's port itself and hands the listening socket to
//! the child, so a port another program holds is skipped instead of failing the controller, the
//! address workers and the master get is the one the controller listens on, and a range that is
//! taken entirely fails the allocation with nothing started.
mod common;

use std::net::{TcpListener, TcpStream};
use std::sync::Arc;

use common::{alive, Fixture};
use teraslice_backend_native::{log_path, NativeBackend, PortRange};
use teraslice_core::backend::{Assignment, StopOptions};
use teraslice_core::testing::sample_execution;
use teraslice_core::{BackendError, ClusterBackend};

/// Prints its role, the slicer address it got, and whether `slicer_listen_fd` names a socket it
/// holds; then runs until SIGTERM.
const REPORT: &str = r#"trap "exit 0" TERM
if [ -n "$slicer_listen_fd" ] && [ -S "/proc/$$/fd/$slicer_listen_fd" ]; then s=yes; else s=no; fi
echo "ready $0 port=$slicer_port fd=${slicer_listen_fd:-none} socket=$s"
while :; do sleep 0.05; done"#;

/// `n` consecutive ports below Linux's ephemeral range that nothing listens on right now, from a
/// random start so tests that run at once rarely meet.
fn free_block(n: u16) -> u16 {
    let seed = (uuid::Uuid::new_v4().as_u128() % 9000) as u16;
    (0..9000u16)
        .map(|i| 21000 + (seed + i) % 9000)
        .find(|&from| (from..from + n).all(|p| TcpListener::bind(("0.0.0.0", p)).is_ok()))
        .expect("a block of free ports")
}

fn fixture_with_range(range: PortRange) -> Fixture {
    let logs = tempfile::tempdir().unwrap();
    let mut cfg = common::config(REPORT, 4, logs.path());
    cfg.slicer_port_range = range;
    Fixture {
        backend: Arc::new(NativeBackend::new(cfg).unwrap()),
        logs,
    }
}

/// The inode of the socket listening on 127.0.0.1:`port` (the fixture's controllers are reached
/// at 127.0.0.1, so they listen on loopback only), from `/proc/net/tcp`.
fn listening_inode(port: u16) -> Option<String> {
    let table = std::fs::read_to_string("/proc/net/tcp").ok()?;
    let local = format!("0100007F:{port:04X}");
    table.lines().skip(1).find_map(|line| {
        let f: Vec<&str> = line.split_whitespace().collect();
        (f.get(1) == Some(&local.as_str()) && f.get(3) == Some(&"0A")).then(|| f[9].to_string())
    })
}

/// Whether process `pid` has the socket with `inode` open.
fn holds(pid: u32, inode: &str) -> bool {
    let want = format!("socket:[{inode}]");
    std::fs::read_dir(format!("/proc/{pid}/fd")).is_ok_and(|fds| {
        fds.flatten()
            .any(|fd| std::fs::read_link(fd.path()).is_ok_and(|l| l.to_string_lossy() == want))
    })
}

#[tokio::test]
async fn a_port_held_elsewhere_is_skipped_and_the_controller_listens_on_the_port_it_is_given() {
    let start = free_block(4);
    // The pool starts at start+1: another program (this test) takes the first two ports.
    let _others: Vec<TcpListener> = (start + 1..=start + 2)
        .map(|p| TcpListener::bind(("0.0.0.0", p)).unwrap())
        .collect();
    let f = fixture_with_range(PortRange {
        start,
        end: start + 3,
    });
    let ex = f.allocate(1).await;
    let port = start + 3;
    assert_eq!(ex.slicer_port, Some(port), "the first port nobody holds");

    let ec = f.log_containing(&ex.ex_id, "ec", "ready").await;
    assert!(
        ec.contains(&format!("ready execution-controller port={port} fd=")),
        "{ec}"
    );
    assert!(
        ec.contains("socket=yes"),
        "the controller inherited the listening socket: {ec}"
    );
    let worker = f.log_containing(&ex.ex_id, "worker-1", "ready").await;
    assert!(
        worker.contains(&format!("ready worker port={port} fd=none socket=no")),
        "workers get the address, not the socket: {worker}"
    );

    // The socket listening on the port is the controller's; this process kept no copy of it.
    let inode = listening_inode(port).expect("something listens on the controller's port");
    let procs = f.processes(&ex.ex_id).await;
    let ec_pid = procs
        .iter()
        .find(|(a, _)| *a == Assignment::ExecutionController)
        .map(|(_, pid)| *pid)
        .unwrap();
    assert!(holds(ec_pid, &inode), "the controller holds the socket");
    assert!(
        !holds(std::process::id(), &inode),
        "the backend closed its copy"
    );
    for (a, pid) in &procs {
        if *a == Assignment::Worker {
            assert!(
                !holds(*pid, &inode),
                "worker {pid} does not hold the socket"
            );
        }
    }
    TcpStream::connect(("127.0.0.1", port)).expect("the controller's port accepts connections");

    // Once the controller is gone, so is the listener: nothing keeps the port.
    f.backend
        .stop_execution(&ex.ex_id, &StopOptions::default())
        .await
        .unwrap();
    assert!(!alive(ec_pid));
    TcpListener::bind(("0.0.0.0", port)).expect("the port is free after the controller ended");
}

#[tokio::test]
async fn every_port_held_elsewhere_fails_the_allocation_and_starts_nothing() {
    let start = free_block(3);
    let _others: Vec<TcpListener> = (start + 1..=start + 2)
        .map(|p| TcpListener::bind(("0.0.0.0", p)).unwrap())
        .collect();
    let f = fixture_with_range(PortRange {
        start,
        end: start + 2,
    });
    let ex = sample_execution("no-port", 1);
    let err = f
        .backend
        .allocate_execution_controller(&ex)
        .await
        .unwrap_err();
    let BackendError::Allocation(msg) = &err else {
        panic!("expected an allocation error (the execution fails), got {err:?}");
    };
    let range = format!("teraslice.slicer_port_range {start}:{}", start + 2);
    assert!(msg.contains(&range), "{msg}");
    assert!(msg.contains("every port"), "{msg}");
    assert!(msg.contains("in use"), "{msg}");

    assert!(f.processes(&ex.ex_id).await.is_empty(), "nothing started");
    let state = f.backend.cluster_state().await.unwrap();
    assert_eq!(state["127.0.0.1"].available, Some(4));
    assert!(
        !log_path(f.logs.path(), &ex.ex_id, "ec").exists(),
        "no controller was spawned"
    );
}
