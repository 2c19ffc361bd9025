//! The HTTP API (issue #4 fills this in).
