//! Helpers shared by the black-box tests in `teraslice/tests/`.
#![allow(dead_code)]
pub mod master;
pub mod native;
pub mod prom;
