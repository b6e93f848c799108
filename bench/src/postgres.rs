//! The PostgreSQL half: a throwaway server, the raw limit, migrate and the peers.

use std::path::Path;

use crate::common::Result;
use crate::table::Results;

pub fn run(
    _sizes: &[usize],
    _applies: usize,
    _boots: usize,
    _peers: &Path,
    _results: &mut Results,
) -> Result<()> {
    eprintln!("PostgreSQL: not measured yet (the PostgreSQL backend is not merged)");
    Ok(())
}
