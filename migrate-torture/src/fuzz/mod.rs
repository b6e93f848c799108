//! The fuzzer: a seeded, property-based engine on stable Rust. Each
//! execution picks a target, generates its input (structured input of the
//! target's grammar, mutated or not, or random tokens) and checks the
//! target's invariants. A panic or a broken invariant is a finding: it is
//! printed with the seed and the input, and the run exits non-zero.
//!
//! Why not cargo-fuzz: it needs nightly and a sanitizer build, and so would
//! not run in `.ci/run` on the stable toolchain the project builds with. The
//! parsers under test are small grammars whose interesting inputs are known
//! (quotes, comments, dollar quotes, trigger bodies, terminators), so
//! generating from those tokens and mutating the result reaches them
//! quickly without coverage feedback, and a seed replays any run exactly.

mod generate;
mod targets;

// The macro's argument parser, compiled from the proc-macro crate's own
// source file: a proc-macro crate can export nothing but macros, and the
// parser depends only on syn, proc-macro2 and migrate-format, which this
// crate has too. `syn::parse_str` runs it outside a macro.
#[allow(dead_code, unreachable_pub)]
#[path = "../../../migrate-macros/src/input.rs"]
mod input;

use std::panic::{self, AssertUnwindSafe};
use std::time::{Duration, Instant};

use crate::rng::Rng;
use targets::Target;

/// Fuzzes for `seconds`; returns whether nothing was found.
pub(crate) fn run(
    seconds: u64,
    seed: u64,
) -> Result<bool, Box<dyn std::error::Error + Send + Sync>> {
    println!("fuzzing for {seconds} s, seed {seed}");
    // Panics are findings, reported below with their input.
    panic::set_hook(Box::new(|_| {}));
    let mut rng = Rng::new(seed);
    let mut checker = targets::Checker::new()?;
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let started = Instant::now();
    let mut counts = vec![0u64; Target::ALL.len()];
    let mut executions = 0u64;
    while Instant::now() < deadline {
        // The clock is read once per 256 executions.
        for _ in 0..256 {
            let index = rng.below(Target::ALL.len());
            let target = Target::ALL[index];
            let input = target.generate(&mut rng);
            let outcome = panic::catch_unwind(AssertUnwindSafe(|| checker.check(target, &input)));
            let finding = match outcome {
                Ok(Ok(())) => None,
                Ok(Err(broken)) => Some(broken),
                Err(panic) => Some(format!(
                    "panicked: {}",
                    panic
                        .downcast_ref::<String>()
                        .map(String::as_str)
                        .or_else(|| panic.downcast_ref::<&str>().copied())
                        .unwrap_or("(no message)")
                )),
            };
            counts[index] += 1;
            executions += 1;
            if let Some(finding) = finding {
                let _ = panic::take_hook();
                println!(
                    "FINDING in {target:?} after {executions} executions (seed {seed}): {finding}"
                );
                println!("input: {input:?}");
                return Ok(false);
            }
        }
    }
    let _ = panic::take_hook();
    let elapsed = started.elapsed().as_secs_f64();
    for (target, count) in Target::ALL.iter().zip(&counts) {
        println!("  {target:?}: {count} executions");
    }
    let rate = executions as f64 / elapsed;
    println!("{executions} executions in {elapsed:.1} s, {rate:.0} per second, 0 findings");
    Ok(true)
}
