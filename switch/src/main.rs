//! The `switch` binary.
fn main() {}
