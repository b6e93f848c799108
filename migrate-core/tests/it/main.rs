//! The integration tests of migrate-core, in one binary.

// Databases that other tools migrated, adopted.
mod adopt;
// The folder read at run time and the folder embedded at compile time agree.
mod agreement;
// Prisma, diesel and Flyway folders apply as they are.
mod layouts;
// The SQLite runner, on real database files.
mod sqlite;
// The PostgreSQL runner, on a throwaway server started by migrate-testkit.
mod postgres;
// verify, verify_after, and the foreign key check after a rebuild.
mod verify;
