//! Integration tests: start the real server and talk HTTP.

fn main() {}
