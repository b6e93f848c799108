// End-to-end tests that need whole crates: compile-fail UI tests, rebuild tracking,
// several processes on one database, and the quickstart example.
fn main() {}
