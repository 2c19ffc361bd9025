//! `ControllerHandle`: pause, resume, stop and read analytics of a running EC, in process or
//! behind the HTTP routes.
use serde::Serialize;
use tokio::sync::{mpsc, oneshot};

use super::analytics::ExecutionAnalytics;
use super::engine::Event;

pub(super) enum Control {
    Pause(oneshot::Sender<()>),
    Resume(oneshot::Sender<()>),
    Stop(oneshot::Sender<()>),
    Analytics(oneshot::Sender<ExecutionAnalytics>),
    /// Tell every connected worker to use this log level; replies how many were told.
    LogLevel(String, oneshot::Sender<usize>),
}

/// The execution has already ended (or never started running).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("execution {0} is not running in this execution controller")]
pub struct ControllerGone(pub String);

/// Reply of `execution:analytics` / `GET /api/v1/analytics`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AnalyticsReply {
    pub name: String,
    pub ex_id: String,
    pub job_id: String,
    pub stats: ExecutionAnalytics,
}

#[derive(Clone)]
pub struct ControllerHandle {
    pub(super) events: mpsc::Sender<Event>,
    pub(super) ex_id: String,
    pub(super) job_id: String,
    pub(super) name: String,
}

impl ControllerHandle {
    async fn ask<T>(
        &self,
        make: impl FnOnce(oneshot::Sender<T>) -> Control,
    ) -> Result<T, ControllerGone> {
        let (tx, rx) = oneshot::channel();
        let gone = || ControllerGone(self.ex_id.clone());
        self.events
            .send(Event::Control(make(tx)))
            .await
            .map_err(|_| gone())?;
        rx.await.map_err(|_| gone())
    }
    /// Stops making and dispatching slices; in-flight slices finish.
    pub async fn pause(&self) -> Result<(), ControllerGone> {
        self.ask(Control::Pause).await
    }
    pub async fn resume(&self) -> Result<(), ControllerGone> {
        self.ask(Control::Resume).await
    }
    /// Graceful stop: no new slices; in-flight slices get `shutdown_timeout` to finish, then
    /// the workers are told to exit and `run()` returns.
    pub async fn stop(&self) -> Result<(), ControllerGone> {
        self.ask(Control::Stop).await
    }
    /// Sets the log level of this process and of every connected worker (`level` as
    /// [`crate::log_level::parse`] gives it); returns how many workers were told.
    pub async fn set_log_level(&self, level: &str) -> Result<usize, ControllerGone> {
        if let Err(e) = crate::log_level::set(level) {
            tracing::warn!(error = %e, "execution controller's log level not changed");
        }
        let level = level.to_string();
        self.ask(|reply| Control::LogLevel(level, reply)).await
    }
    pub async fn analytics(&self) -> Result<AnalyticsReply, ControllerGone> {
        let stats = self.ask(Control::Analytics).await?;
        Ok(AnalyticsReply {
            name: self.name.clone(),
            ex_id: self.ex_id.clone(),
            job_id: self.job_id.clone(),
            stats,
        })
    }
}
