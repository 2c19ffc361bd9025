//! Threads laid out as the product's processes: each with a current-thread runtime.
use std::future::Future;

use tokio::sync::oneshot;

/// Runs the future `make` returns on a current-thread runtime of a new thread (as the EC and
/// worker processes run theirs); its result comes back through the receiver.
pub fn on_own_thread<F, Fut, T>(make: F) -> oneshot::Receiver<anyhow::Result<T>>
where
    F: FnOnce() -> Fut + Send + 'static,
    Fut: Future<Output = anyhow::Result<T>>,
    T: Send + 'static,
{
    let (tx, rx) = oneshot::channel();
    std::thread::spawn(move || {
        let out = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(anyhow::Error::from)
            .and_then(|rt| rt.block_on(make()));
        let _ = tx.send(out);
    });
    rx
}
