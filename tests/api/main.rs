//! Integration tests: each test starts the real server (SQLite temp file, or its own PostgreSQL
//! database when `CAREGRADE_TEST_DATABASE_URL` is set) and talks HTTP to it as a phone would.
#![allow(missing_docs, clippy::unwrap_used)]

mod after_inspection;
mod audit;
mod auth;
mod cli;
mod credit;
mod draws;
mod errors;
#[path = "../../api/src/photos/fixtures.rs"]
#[allow(dead_code)]
mod fixtures;
mod grading;
mod harness;
mod inspections;
mod ops;
mod photos;
mod publication;
mod rectifications;
mod registry;
mod roles;
mod rulesets;
mod self_assessment;
mod spot_check;
mod webhooks;
