//! The names of the safety lints: migrations that work but hurt in
//! production, which the compile-time check warns about.
//!
//! The rules themselves run in `migrate-check`, at build time; this module
//! only knows their names, so that `-- migrate:allow <rule>` can refuse a
//! misspelled one wherever a folder is read.

use crate::history::Dialect;

/// A lint rule: its name, as `-- migrate:allow` writes it, and the engine
/// whose migrations it checks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Rule {
    /// The name, in kebab case.
    pub name: &'static str,
    /// The engine it applies to.
    pub dialect: Dialect,
}

const fn postgres(name: &'static str) -> Rule {
    Rule {
        name,
        dialect: Dialect::Postgres,
    }
}

const fn sqlite(name: &'static str) -> Rule {
    Rule {
        name,
        dialect: Dialect::Sqlite,
    }
}

/// Every rule. The PostgreSQL rules are squawk's, under squawk's names.
pub const RULES: &[Rule] = &[
    postgres("require-concurrent-index-creation"),
    postgres("require-concurrent-index-deletion"),
    postgres("require-concurrent-reindex"),
    postgres("require-concurrent-partition-detach"),
    postgres("constraint-missing-not-valid"),
    postgres("adding-field-with-default"),
    postgres("adding-foreign-key-constraint"),
    postgres("adding-not-nullable-field"),
    postgres("adding-required-field"),
    postgres("adding-serial-primary-key-field"),
    postgres("changing-column-type"),
    postgres("disallowed-unique-constraint"),
    postgres("renaming-column"),
    postgres("renaming-table"),
    postgres("renaming-object"),
    postgres("ban-drop-column"),
    postgres("ban-drop-table"),
    postgres("ban-drop-database"),
    postgres("ban-drop-not-null"),
    postgres("ban-drop-view"),
    postgres("ban-drop-function"),
    postgres("ban-drop-type"),
    postgres("ban-drop-default"),
    postgres("ban-drop-schema"),
    postgres("ban-drop-sequence"),
    postgres("ban-drop-domain"),
    postgres("ban-drop-constraint"),
    postgres("ban-drop-generated-expression"),
    postgres("ban-drop-extension"),
    postgres("ban-set-schema"),
    postgres("ban-alter-identity"),
    postgres("ban-create-domain-with-constraint"),
    postgres("ban-alter-domain-with-add-constraint"),
    postgres("ban-truncate-cascade"),
    postgres("ban-duplicate-column-assignments"),
    postgres("identifier-too-long"),
    sqlite("foreign-keys-pragma-in-transaction"),
    sqlite("double-quoted-string"),
    sqlite("rename-under-legacy-alter-table"),
    sqlite("table-rebuild-with-foreign-keys-on"),
];

/// The rule called `name`, if there is one.
pub fn find(name: &str) -> Option<Rule> {
    RULES.iter().copied().find(|rule| rule.name == name)
}

/// The rule whose name is closest to a misspelled one, to suggest it: at
/// most a third of the name's characters apart.
pub fn closest(name: &str) -> Option<Rule> {
    RULES
        .iter()
        .copied()
        .map(|rule| (distance(name, rule.name), rule))
        .filter(|(distance, _)| *distance * 3 <= name.chars().count().max(3))
        .min_by_key(|(distance, _)| *distance)
        .map(|(_, rule)| rule)
}

/// The Levenshtein distance: how many characters to insert, delete or
/// replace to turn `a` into `b`.
fn distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut current = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            let replace = previous[j] + usize::from(ca != *cb);
            current.push(replace.min(previous[j + 1] + 1).min(current[j] + 1));
        }
        previous = current;
    }
    previous[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_and_in_kebab_case() {
        for (index, rule) in RULES.iter().enumerate() {
            assert!(
                rule.name
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-'),
                "{}",
                rule.name
            );
            assert_eq!(find(rule.name), Some(*rule));
            assert!(
                RULES[index + 1..].iter().all(|r| r.name != rule.name),
                "{} is listed twice",
                rule.name
            );
        }
        assert_eq!(find("no-such-rule"), None);
    }

    #[test]
    fn a_misspelled_name_finds_the_closest_rule() {
        assert_eq!(
            closest("ban-drop-colum").map(|r| r.name),
            Some("ban-drop-column")
        );
        assert_eq!(
            closest("require-concurent-index-creation").map(|r| r.name),
            Some("require-concurrent-index-creation")
        );
        assert_eq!(closest("everything"), None);
        assert_eq!(distance("kitten", "sitting"), 3);
        assert_eq!(distance("", "abc"), 3);
    }
}
