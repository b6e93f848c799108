//! What a migration may change on its connection, and how long it lasts.
//!
//! A setting made by a migration (`SET search_path`, `SET ROLE`,
//! `SET statement_timeout`) lasts until the end of that migration, and the
//! next migration starts with the connection's own settings again. So a
//! folder behaves the same whether its migrations are applied in one run or
//! over several deploys, and the build-time dry run can check each
//! migration in the environment it will meet.

/// The PostgreSQL statements that undo every setting a migration made, run
/// after each migration: `RESET ALL` for the run-time parameters, and the
/// role and session user, which `RESET ALL` leaves alone. The values come
/// back to the session's defaults, those of the role, the database and the
/// connection's own options included.
pub const POSTGRES_RESET: &str = "RESET ALL; RESET ROLE; SET SESSION AUTHORIZATION DEFAULT";
