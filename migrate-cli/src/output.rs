//! What the commands print: text for people, or JSON for programs.

use std::fmt::Write as _;
use std::io::Write as _;
use std::process::ExitCode;

use migrate_core::{Action, Progress, Report, State, Status};
use tracing_subscriber::filter::LevelFilter;
use tracing_subscriber::fmt::format::FmtSpan;

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
        _ => 0,
    }
}

fn is_problem(state: &State) -> bool {
    !matches!(state, State::Applied | State::Pending)
}

/// With `-v` (`verbosity` 1 or more), prints migrate's spans and events on
/// standard error, as `tracing-subscriber`'s `fmt` writes them, each span when
/// it closes with its fields and duration. A program that installed its own
/// subscriber keeps it, and gets them there.
pub fn init_tracing(verbosity: u8) {
    let level = match verbosity {
        0 => return,
        1 => LevelFilter::INFO,
        2 => LevelFilter::DEBUG,
        _ => LevelFilter::TRACE,
    };
    let _ = tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_max_level(level)
        .with_span_events(FmtSpan::CLOSE)
        .try_init();
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
        Progress::Finished([applied]) => writeln!(stderr, "done ({:.1?})", applied.duration),
        Progress::Finished(applied) => applied.iter().try_for_each(|applied| {
            writeln!(
                stderr,
                "  {} {} ... done ({:.1?})",
                applied.version, applied.description, applied.duration
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
            let mut text = format!("would apply {} migration(s):", plan.len());
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
        } => format!("resolved migration {version} as {resolution:?}"),
        Outcome::Done(message) => message.clone(),
    }
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
    use super::string;

    #[test]
    fn json_strings_are_escaped() {
        assert_eq!(
            string("a \"b\"\n\\c\u{1}"),
            "\"a \\\"b\\\"\\n\\\\c\\u0001\""
        );
    }
}
