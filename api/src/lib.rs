//! caregrade library: the parts of the server that benches and integration tests use directly.

pub mod photos;
pub mod store;
