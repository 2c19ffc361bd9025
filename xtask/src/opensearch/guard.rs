//! The handle `cargo xtask test` holds: the URL for `cargo test`, and a stop when it is dropped.
use super::{down, up, URL_VAR};

/// A node for `cargo xtask test`; stops it on drop if this process started it (unless kept).
pub struct Node {
    url: String,
    stop_on_drop: bool,
}

/// Reuses `$OPENSEARCH_URL` when the caller set one (an outside cluster), else runs `up`.
pub fn ensure_up() -> anyhow::Result<Node> {
    if let Ok(url) = std::env::var(URL_VAR) {
        eprintln!("opensearch: using {URL_VAR}={url} from the environment");
        return Ok(Node {
            url,
            stop_on_drop: false,
        });
    }
    let started = up()?;
    if !started.fresh {
        eprintln!("opensearch: reusing the running node at {}", started.url);
    }
    Ok(Node {
        url: started.url,
        stop_on_drop: started.fresh,
    })
}

impl Node {
    /// Environment for child processes (e.g. `cargo test`).
    pub fn env(&self) -> Vec<(String, String)> {
        vec![(URL_VAR.to_string(), self.url.clone())]
    }

    /// With `keep`, leave the node running when this handle goes away.
    pub fn keep_running(mut self, keep: bool) -> Self {
        self.stop_on_drop &= !keep;
        self
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        if self.stop_on_drop {
            if let Err(err) = down() {
                eprintln!("opensearch: stopping the node failed: {err:#}");
            }
        }
    }
}
