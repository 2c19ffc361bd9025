//! The scheduler (Teraslice's execution service): pending queue, concurrent allocation, stop,
//! pause/resume, scaling, and reconciliation with the backend after a restart.
pub struct Scheduler;
