//! The Markdown tables of the results.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::time::Duration;

use crate::common::Outcome;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Engine {
    Sqlite,
    Postgres,
}

#[derive(Debug, Default)]
pub struct Results {
    outcomes: BTreeMap<(Engine, String, usize), Outcome>,
    /// Tool, then the rebuild times measured (or why there are none).
    pub rebuilds: Vec<(String, Result<Vec<Duration>, String>)>,
}

impl Results {
    pub fn insert(&mut self, engine: Engine, tool: &str, n: usize, outcome: Outcome) {
        self.outcomes.insert((engine, tool.to_owned(), n), outcome);
    }

    fn get(&self, engine: Engine, tool: &str, n: usize) -> Option<&Outcome> {
        self.outcomes.get(&(engine, tool.to_owned(), n))
    }
}

/// The columns: the tool's key in the results and its heading.
///
/// migrate and the peers cannot link the same SQLite (see README.md), so on
/// SQLite each binary measures the raw limit on its own engine, and each
/// tool's ratio is to the limit of its own binary.
const COLUMNS: [(&str, &str); 7] = [
    ("raw", "raw limit"),
    ("migrate", "migrate"),
    ("raw-peers", "raw limit, peers' SQLite"),
    ("refinery", "refinery"),
    ("sqlx", "sqlx `migrate!`"),
    ("diesel", "diesel_migrations"),
    ("rusqlite_migration", "rusqlite_migration"),
];

fn is_limit(tool: &str) -> bool {
    tool.starts_with("raw")
}

/// The limit a tool's ratio is taken to.
fn limit_of<'r>(results: &'r Results, engine: Engine, tool: &str, n: usize) -> Option<&'r Outcome> {
    let peer = !matches!(tool, "raw" | "migrate" | "migrate-per-migration");
    peer.then(|| results.get(engine, "raw-peers", n))
        .flatten()
        .or_else(|| results.get(engine, "raw", n))
}

#[derive(Clone, Copy)]
enum Measure {
    Apply,
    Boot,
}

pub fn render(results: &Results, sizes: &[usize]) -> String {
    let mut out = String::new();
    let header = |out: &mut String| {
        out.push_str("| |");
        for (_, heading) in COLUMNS {
            let _ = write!(out, " {heading} |");
        }
        out.push_str("\n|---|");
        for _ in COLUMNS {
            out.push_str("---:|");
        }
        out.push('\n');
    };
    header(&mut out);
    for engine in [Engine::Sqlite, Engine::Postgres] {
        let name = match engine {
            Engine::Sqlite => "SQLite",
            Engine::Postgres => "PostgreSQL",
        };
        for measure in [Measure::Apply, Measure::Boot] {
            for &n in sizes.iter().rev() {
                if results.get(engine, "raw", n).is_none() {
                    continue;
                }
                let label = match measure {
                    Measure::Apply => format!("{name}, apply {n}"),
                    Measure::Boot => format!("{name}, boot with {n} applied"),
                };
                let _ = write!(out, "| {label} |");
                for (tool, _) in COLUMNS {
                    let limit = limit_of(results, engine, tool, n).map(|o| pick(o, measure));
                    match (results.get(engine, tool, n), limit) {
                        (Some(outcome), _) if is_limit(tool) => {
                            let _ = write!(out, " {} |", duration(pick(outcome, measure)));
                        }
                        (Some(outcome), Some(limit)) => {
                            let time = pick(outcome, measure);
                            let _ = write!(out, " {} ({}) |", duration(time), ratio(time, limit));
                        }
                        _ => out.push_str(" n/a |"),
                    }
                }
                out.push('\n');
            }
        }
        if engine == Engine::Postgres {
            for (measure, label) in [
                (Measure::Apply, "round trips per migration, apply"),
                (Measure::Boot, "round trips at boot"),
            ] {
                for &n in sizes.iter().rev() {
                    if results.get(engine, "raw", n).is_none() {
                        continue;
                    }
                    let _ = write!(out, "| PostgreSQL, {label} {n} |");
                    for (tool, _) in COLUMNS {
                        let trips = results.get(engine, tool, n).and_then(|o| match measure {
                            Measure::Apply => o.apply_trips.map(|t| t as f64 / n as f64),
                            Measure::Boot => o.boot_trips.map(|t| t as f64),
                        });
                        match trips {
                            Some(t) if t.fract() == 0.0 => {
                                let _ = write!(out, " {t:.0} |");
                            }
                            Some(t) if t < 0.1 => {
                                let _ = write!(out, " {t:.3} |");
                            }
                            Some(t) => {
                                let _ = write!(out, " {t:.2} |");
                            }
                            None => out.push_str(" n/a |"),
                        }
                    }
                    out.push('\n');
                }
            }
        }
    }
    if !results.rebuilds.is_empty() {
        out.push_str("| Release rebuild after editing 1 of 1000 files |");
        for (tool, _) in COLUMNS {
            match results.rebuilds.iter().find(|(t, _)| t == tool) {
                Some((_, Ok(times))) => {
                    let _ = write!(out, " {} |", duration(crate::common::median(times)));
                }
                Some((_, Err(_))) => out.push_str(" failed |"),
                None => out.push_str(" n/a |"),
            }
        }
        out.push('\n');
    }

    // migrate's own modes, next to the default.
    let mut modes = String::new();
    for &n in sizes.iter().rev() {
        let (Some(raw), Some(single), Some(per)) = (
            results.get(Engine::Sqlite, "raw", n),
            results.get(Engine::Sqlite, "migrate", n),
            results.get(Engine::Sqlite, "migrate-per-migration", n),
        ) else {
            continue;
        };
        let limit = raw.apply_median();
        let _ = writeln!(
            modes,
            "| SQLite, apply {n} | {} | {} ({}) | {} ({}) |",
            duration(limit),
            duration(single.apply_median()),
            ratio(single.apply_median(), limit),
            duration(per.apply_median()),
            ratio(per.apply_median(), limit),
        );
    }
    if !modes.is_empty() {
        out.push_str("\nmigrate's transaction modes on SQLite:\n\n");
        out.push_str(
            "| | raw limit | `Single` (default) | `PerMigration` |\n|---|---:|---:|---:|\n",
        );
        out.push_str(&modes);
    }
    let failures: Vec<_> = results
        .rebuilds
        .iter()
        .filter_map(|(tool, r)| {
            r.as_ref()
                .err()
                .map(|e| format!("- rebuild of {tool} failed: {e}"))
        })
        .collect();
    if !failures.is_empty() {
        out.push('\n');
        out.push_str(&failures.join("\n"));
        out.push('\n');
    }
    out
}

fn pick(outcome: &Outcome, measure: Measure) -> Duration {
    match measure {
        Measure::Apply => outcome.apply_median(),
        Measure::Boot => outcome.boot_median(),
    }
}

pub fn duration(d: Duration) -> String {
    let micros = d.as_secs_f64() * 1e6;
    if micros < 1000.0 {
        format!("{micros:.0} µs")
    } else if micros < 10_000.0 {
        format!("{:.2} ms", micros / 1000.0)
    } else if micros < 1_000_000.0 {
        format!("{:.1} ms", micros / 1000.0)
    } else {
        format!("{:.2} s", micros / 1e6)
    }
}

fn ratio(time: Duration, limit: Duration) -> String {
    if limit.is_zero() {
        return "–".to_owned();
    }
    let r = time.as_secs_f64() / limit.as_secs_f64();
    if r < 10.0 {
        format!("{r:.2}×")
    } else {
        format!("{r:.0}×")
    }
}
