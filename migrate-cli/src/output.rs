//! What the commands print: text for people, or JSON for programs.

use std::fmt::Write as _;
use std::io::Write as _;
use std::process::ExitCode;
use std::time::Duration;

use migrate_core::{Action, Progress, Report, State, Status};

use crate::execute::{Failure, Outcome};

/// Prints a command's outcome, as text or as JSON, and returns the exit code
/// (see the [crate docs](crate)).
pub fn finish(result: Result<Outcome, Failure>, json: bool) -> ExitCode {
    match result {
        Ok(outcome) => {
            let code = exit_code(&outcome);
            print_stdout(&if json {
                outcome_json(&outcome)
            } else {
                outcome_text(&outcome)
            });
            ExitCode::from(code)
        }
        Err(failure) => {
            if json {
                print_stdout(&format!(
                    "{{\"error\":{{\"kind\":{},\"message\":{}}}}}",
                    string(failure.kind),
                    string(&failure.message)
                ));
            } else {
                eprintln!("error: {}", failure.message);
            }
            ExitCode::from(failure.code)
        }
    }
}

fn print_stdout(text: &str) {
    // A closed pipe (`migrate status | head`) is not worth a panic.
    let _ = writeln!(std::io::stdout().lock(), "{text}");
}

/// `status` exits with 4 when a run would refuse to start.
fn exit_code(outcome: &Outcome) -> u8 {
    match outcome {
        Outcome::Status(status) if status.entries().iter().any(|e| is_problem(&e.state)) => 4,
        Outcome::Verified(verification) if !verification.is_clean() => 5,
        _ => 0,
    }
}

fn is_problem(state: &State) -> bool {
    !matches!(state, State::Applied | State::Pending)
}

/// Shows progress on standard error while a run works, for people only.
pub(crate) fn progress(event: Progress<'_>, json: bool) {
    if json {
        return;
    }
    let mut stderr = std::io::stderr().lock();
    // Migrations that share a transaction start and commit together: a
    // lone migration gets one line, a batch a heading and a line each once
    // it committed.
    let _ = match event {
        Progress::Started([migration]) => write!(
            stderr,
            "  {} {} ... ",
            migration.version(),
            migration.description()
        ),
        Progress::Started(migrations) => writeln!(
            stderr,
            "  {} migrations in one transaction:",
            migrations.len()
        ),
        Progress::Finished([applied]) => writeln!(stderr, "done ({})", took(applied.duration)),
        Progress::Finished(applied) => applied.iter().try_for_each(|applied| {
            writeln!(
                stderr,
                "  {} {} ... done ({})",
                applied.version,
                applied.description,
                took(applied.duration)
            )
        }),
        _ => Ok(()),
    };
    let _ = stderr.flush();
}

fn outcome_text(outcome: &Outcome) -> String {
    match outcome {
        Outcome::Status(status) => status.to_string(),
        Outcome::Report(report) => report.to_string(),
        Outcome::Plan(plan) if plan.is_empty() => {
            "nothing to apply: the database is up to date".to_owned()
        }
        Outcome::Plan(plan) => {
            let plural = if plan.len() == 1 { "" } else { "s" };
            let mut text = format!("would apply {} migration{plural}:", plan.len());
            for (version, description) in plan {
                let _ = write!(text, "\n  {version} {description}");
            }
            text
        }
        Outcome::Repaired {
            version,
            changed: true,
        } => {
            format!("re-stamped migration {version} with the checksum of its current file")
        }
        Outcome::Repaired {
            version,
            changed: false,
        } => {
            format!("migration {version} already has the checksum of its current file")
        }
        Outcome::Resolved {
            version,
            resolution,
        } => {
            let resolution = match resolution {
                crate::ResolutionArg::Completed => "completed",
                crate::ResolutionArg::RolledBack => "rolled back: the next run applies it again",
            };
            format!("resolved migration {version} as {resolution}")
        }
        Outcome::Adopted(adoption) => adoption.to_string(),
        Outcome::Verified(verification) => verification.to_string(),
        Outcome::Done(message) => message.clone(),
    }
}

/// How long a migration took, in the unit that suits it: `<1 µs`, `340 µs`,
/// `12.3 ms`, `4.56 s`, `2 min 5 s`; never zero, since it ran. The same
/// units as `Report`'s text in migrate-core.
fn took(duration: Duration) -> String {
    let nanos = duration.as_nanos();
    let micros = nanos / 1_000;
    if micros == 0 {
        return "<1 µs".to_owned();
    }
    if micros < 1_000 {
        return format!("{micros} µs");
    }
    let tenths_of_ms = (nanos + 50_000) / 100_000;
    if tenths_of_ms < 10_000 {
        return format!("{}.{} ms", tenths_of_ms / 10, tenths_of_ms % 10);
    }
    let hundredths_of_s = (nanos + 5_000_000) / 10_000_000;
    if hundredths_of_s < 6_000 {
        return format!("{}.{:02} s", hundredths_of_s / 100, hundredths_of_s % 100);
    }
    let seconds = (nanos + 500_000_000) / 1_000_000_000;
    format!("{} min {} s", seconds / 60, seconds % 60)
}

fn outcome_json(outcome: &Outcome) -> String {
    match outcome {
        Outcome::Status(status) => status_json(status),
        Outcome::Report(report) => report_json(report),
        Outcome::Plan(plan) => {
            let items: Vec<String> = plan
                .iter()
                .map(|(version, description)| {
                    format!(
                        "{{\"version\":{version},\"description\":{}}}",
                        string(description)
                    )
                })
                .collect();
            format!("{{\"pending\":[{}]}}", items.join(","))
        }
        Outcome::Repaired { version, changed } => {
            format!("{{\"repaired\":{version},\"changed\":{changed}}}")
        }
        Outcome::Resolved {
            version,
            resolution,
        } => {
            let resolution = match resolution {
                crate::ResolutionArg::Completed => "completed",
                crate::ResolutionArg::RolledBack => "rolled-back",
            };
            format!("{{\"resolved\":{version},\"as\":{}}}", string(resolution))
        }
        Outcome::Adopted(adoption) => crate::adopt_verify::adoption_json(adoption),
        Outcome::Verified(verification) => crate::adopt_verify::verification_json(verification),
        Outcome::Done(message) => format!("{{\"done\":{}}}", string(message)),
    }
}

fn status_json(status: &Status) -> String {
    let entries: Vec<String> = status
        .entries()
        .iter()
        .map(|entry| {
            let (state, extra) = match &entry.state {
                State::Applied => ("applied", String::new()),
                State::Pending => ("pending", String::new()),
                State::OutOfOrder => ("out-of-order", String::new()),
                State::Drifted { recorded, embedded } => (
                    "drifted",
                    format!(",\"recorded_checksum\":{},\"checksum\":{}", string(recorded), string(embedded)),
                ),
                State::Missing => ("missing", String::new()),
                State::Incomplete { statements_done } => ("incomplete", format!(",\"statements_done\":{statements_done}")),
                _ => ("unknown", String::new()),
            };
            format!(
                "{{\"version\":{},\"description\":{},\"file\":{},\"applied_at\":{},\"state\":{}{extra}}}",
                entry.version,
                string(&entry.description),
                optional(entry.file.as_deref()),
                optional(entry.applied_at.as_deref()),
                string(state),
            )
        })
        .collect();
    format!(
        "{{\"up_to_date\":{},\"migrations\":[{}]}}",
        status.is_up_to_date(),
        entries.join(",")
    )
}

fn report_json(report: &Report) -> String {
    let action = match report.action() {
        Action::Apply => "apply",
        Action::Rollback => "rollback",
        Action::Baseline => "baseline",
        _ => "unknown",
    };
    let migrations: Vec<String> = report
        .migrations()
        .iter()
        .map(|a| {
            format!(
                "{{\"version\":{},\"description\":{},\"file\":{},\"duration_ms\":{:.3}}}",
                a.version,
                string(&a.description),
                string(&a.file),
                a.duration.as_secs_f64() * 1000.0
            )
        })
        .collect();
    format!(
        "{{\"action\":{},\"migrations\":[{}],\"elapsed_ms\":{:.3}}}",
        string(action),
        migrations.join(","),
        report.elapsed().as_secs_f64() * 1000.0
    )
}

fn optional(value: Option<&str>) -> String {
    value.map_or_else(|| "null".to_owned(), string)
}

/// A JSON string literal.
pub(crate) fn string(value: &str) -> String {
    let mut json = String::with_capacity(value.len() + 2);
    json.push('"');
    for c in value.chars() {
        match c {
            '"' => json.push_str("\\\""),
            '\\' => json.push_str("\\\\"),
            '\n' => json.push_str("\\n"),
            '\r' => json.push_str("\\r"),
            '\t' => json.push_str("\\t"),
            c if u32::from(c) < 0x20 => {
                let _ = write!(json, "\\u{:04x}", u32::from(c));
            }
            c => json.push(c),
        }
    }
    json.push('"');
    json
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_in_the_unit_that_suits_them() {
        let took = |nanos| took(Duration::from_nanos(nanos));
        assert_eq!(took(0), "<1 µs");
        assert_eq!(took(340_500), "340 µs");
        assert_eq!(took(12_345_678), "12.3 ms");
        assert_eq!(took(999_960_000), "1.00 s");
        assert_eq!(took(4_561_000_000), "4.56 s");
        assert_eq!(took(125_000_000_000), "2 min 5 s");
    }

    #[test]
    fn outcomes_read_as_english() {
        let plan = |n: i64| Outcome::Plan((1..=n).map(|v| (v, format!("m{v}"))).collect());
        assert_eq!(outcome_text(&plan(1)), "would apply 1 migration:\n  1 m1");
        assert_eq!(
            outcome_text(&plan(2)),
            "would apply 2 migrations:\n  1 m1\n  2 m2"
        );
        let resolved = |resolution| Outcome::Resolved {
            version: 3,
            resolution,
        };
        assert_eq!(
            outcome_text(&resolved(crate::ResolutionArg::Completed)),
            "resolved migration 3 as completed"
        );
        assert_eq!(
            outcome_text(&resolved(crate::ResolutionArg::RolledBack)),
            "resolved migration 3 as rolled back: the next run applies it again"
        );
    }

    #[test]
    fn json_strings_are_escaped() {
        assert_eq!(
            string("a \"b\"\n\\c\u{1}"),
            "\"a \\\"b\\\"\\n\\\\c\\u0001\""
        );
    }
}
