//! The integration tests of migrate-core, in one binary.

// The PostgreSQL runner, on a throwaway server started by migrate-testkit.
mod postgres;
