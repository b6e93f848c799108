//! What `adopt` and `verify` print as JSON; their text is their `Display`.

use migrate_core::{Adoption, Finding, Verification};

use crate::output::string;

pub(crate) fn adoption_json(adoption: &Adoption) -> String {
    let recorded: Vec<String> = adoption
        .recorded()
        .iter()
        .map(|applied| {
            format!(
                "{{\"version\":{},\"description\":{},\"file\":{}}}",
                applied.version,
                string(&applied.description),
                string(&applied.file)
            )
        })
        .collect();
    let already: Vec<String> = adoption
        .already_recorded()
        .iter()
        .map(i64::to_string)
        .collect();
    format!(
        "{{\"adopted\":{{\"tool\":{},\"table\":{},\"recorded\":[{}],\"already_recorded\":[{}],\"checksums\":\"sha-256 of the current files\",\"drop_statement\":{}}}}}",
        string(adoption.tool().name()),
        string(adoption.table()),
        recorded.join(","),
        already.join(","),
        string(adoption.drop_statement()),
    )
}

pub(crate) fn verification_json(verification: &Verification) -> String {
    let findings: Vec<String> = verification.findings().iter().map(finding_json).collect();
    format!(
        "{{\"clean\":{},\"findings\":[{}]}}",
        verification.is_clean(),
        findings.join(",")
    )
}

fn finding_json(finding: &Finding) -> String {
    let fields = match finding {
        Finding::Integrity { message } => {
            format!("\"kind\":\"integrity\",\"message\":{}", string(message))
        }
        Finding::ForeignKey(violation) => format!(
            "\"kind\":\"foreign-key\",\"table\":{},\"rowid\":{},\"parent\":{},\"columns\":{}",
            string(&violation.table),
            violation
                .rowid
                .map_or_else(|| "null".to_owned(), |rowid| rowid.to_string()),
            string(&violation.parent),
            string(&violation.columns)
        ),
        Finding::InvalidIndex {
            schema,
            index,
            table,
        } => format!(
            "\"kind\":\"invalid-index\",\"schema\":{},\"index\":{},\"table\":{}",
            string(schema),
            string(index),
            string(table)
        ),
        Finding::NotValidConstraint {
            schema,
            constraint,
            on,
        } => format!(
            "\"kind\":\"not-valid-constraint\",\"schema\":{},\"constraint\":{},\"on\":{}",
            string(schema),
            string(constraint),
            string(on)
        ),
        Finding::SequenceBehind {
            schema,
            sequence,
            table,
            column,
            next,
            highest,
        } => format!(
            "\"kind\":\"sequence-behind\",\"schema\":{},\"sequence\":{},\"table\":{},\"column\":{},\"next\":{},\"highest\":{}",
            string(schema),
            string(sequence),
            string(table),
            string(column),
            string(next),
            string(highest)
        ),
        Finding::Incomplete {
            version,
            description,
            statements_done,
        } => format!(
            "\"kind\":\"incomplete\",\"version\":{version},\"description\":{},\"statements_done\":{statements_done}",
            string(description)
        ),
        Finding::Truncated { check, listed } => format!(
            "\"kind\":\"truncated\",\"check\":{},\"listed\":{listed}",
            string(check)
        ),
        _ => "\"kind\":\"other\"".to_owned(),
    };
    format!("{{{fields},\"text\":{}}}", string(&finding.to_string()))
}
