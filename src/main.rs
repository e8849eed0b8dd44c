//! The `feedsmith` command line.
fn main() {}
