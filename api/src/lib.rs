//! caregrade server library: configuration, database, auth, registry, evidence storage and photo
//! handling, and the HTTP API. The binary `caregrade` is a thin CLI over it; integration tests
//! start the real server through it.

pub mod audit;
pub mod auth;
pub mod config;
pub mod credit;
pub mod db;
pub mod demo;
pub mod error;
pub mod grading;
pub mod http;
pub mod inspections;
pub mod photos;
pub mod plans;
pub mod publication;
pub mod rectification;
pub mod registry;
pub mod rulesets;
pub mod server;
pub mod state;
pub mod store;
pub mod webhooks;
