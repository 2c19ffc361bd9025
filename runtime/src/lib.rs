//! teraslice-runtime: the execution controller, the worker, their WebSocket protocol, and the
//! operation API with the built-in ops. (Being filled in: issue #3.)
pub mod ops;
