//! Workers that reach their execution controller through a relay the run can blackhole. The
//! master starts its children through [`WRAPPER`] (env `TERASLICE_NATIVE_WRAPPER`): for a
//! worker, the script asks the [`RelayBroker`] for a relay in front of the worker's controller
//! and points the worker at it, then `exec`s the real binary (same pid, cwd and parent, so the
//! run's `/proc` checks see the worker as before).
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;

use super::relay::Relay;

/// `$1` is the teraslice binary, `$2` the subcommand. Anything unexpected (no broker, a bad
/// answer) leaves the worker connecting directly.
const WRAPPER: &str = r#"#!/bin/bash
if [ "$2" = worker ] && [ -n "$CHAOS_RELAY_BROKER" ] && [ -n "$slicer_port" ]; then
  if exec 3<>"/dev/tcp/127.0.0.1/$CHAOS_RELAY_BROKER"; then
    echo "$$ ${slicer_hostname:-127.0.0.1} $slicer_port" >&3
    read -r -t 5 relayed <&3
    exec 3<&-
    case "$relayed" in
      ''|*[!0-9]*) ;;
      *) export slicer_hostname=127.0.0.1 slicer_port="$relayed" ;;
    esac
  fi
fi
exec "$@"
"#;

/// One relay per worker start, by the worker's pid and the controller port it relays to.
pub struct Relayed {
    pub pid: u32,
    pub controller_port: u16,
    pub relay: Relay,
}

#[derive(Clone)]
pub struct RelayBroker {
    pub port: u16,
    pub relays: Arc<Mutex<Vec<Relayed>>>,
}

impl RelayBroker {
    pub async fn start() -> RelayBroker {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind the relay broker");
        let port = listener.local_addr().expect("broker address").port();
        let relays = Arc::new(Mutex::new(Vec::new()));
        let broker = RelayBroker {
            port,
            relays: relays.clone(),
        };
        tokio::spawn(async move {
            while let Ok((conn, _)) = listener.accept().await {
                tokio::spawn(answer(conn, relays.clone()));
            }
        });
        broker
    }

    pub fn lock(&self) -> std::sync::MutexGuard<'_, Vec<Relayed>> {
        self.relays.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Writes the wrapper script into `dir`; its path goes in `TERASLICE_NATIVE_WRAPPER`.
    pub fn write_wrapper(dir: &Path) -> PathBuf {
        use std::os::unix::fs::PermissionsExt;
        let path = dir.join("relay-wrapper.sh");
        std::fs::write(&path, WRAPPER).expect("write the wrapper script");
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755))
            .expect("make the wrapper executable");
        path
    }
}

/// Reads `<pid> <host> <port>`, starts a relay to `host:port`, answers its port.
async fn answer(conn: tokio::net::TcpStream, relays: Arc<Mutex<Vec<Relayed>>>) {
    let (read, mut write) = conn.into_split();
    let mut line = String::new();
    if BufReader::new(read).read_line(&mut line).await.is_err() {
        return;
    }
    let mut parts = line.split_whitespace();
    let (Some(pid), Some(host), Some(port)) = (parts.next(), parts.next(), parts.next()) else {
        return;
    };
    let (Ok(pid), Ok(port)) = (pid.parse::<u32>(), port.parse::<u16>()) else {
        return;
    };
    let Ok(target) = format!("{host}:{port}").parse::<SocketAddr>() else {
        return;
    };
    let relay = Relay::start(target).await;
    let relay_port = relay.addr.port();
    relays
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .push(Relayed {
            pid,
            controller_port: port,
            relay,
        });
    let _ = write.write_all(format!("{relay_port}\n").as_bytes()).await;
}
