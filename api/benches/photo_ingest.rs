//! Placeholder until the photo pipeline lands.
fn main() {}
