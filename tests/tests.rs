//! Integration tests: the `feedsmith` binary run on real definitions and recorded data.

// The repository's own definitions built from the recorded responses, checked against values
// computed directly from the fixture files.
mod e2e;
// Shared helpers: copying a project, running the binary, reading outputs.
mod util;
