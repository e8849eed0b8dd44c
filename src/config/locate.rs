//! Key locations in definition files (placeholder until the loader lands).
