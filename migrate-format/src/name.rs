//! The file-name grammar: `<version>_<description>.sql`, or `.up.sql` with an
//! optional `.down.sql`.

/// What a file in a migrations folder is, judged by its name alone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Entry<'a> {
    /// Not a migration and not meant to be one: a `README.md`, a `.gitkeep`,
    /// an editor's backup file. Such files are skipped.
    Ignored,
    /// A file that names a migration.
    Migration(FileName<'a>),
    /// A `.sql` file whose name does not fit the grammar. This is an error:
    /// a migration is never skipped silently.
    Malformed(String),
}

/// The parts of a well-formed migration file name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileName<'a> {
    /// The version, compared numerically: `0001` and `1` are the same version.
    pub version: i64,
    /// The version as the name writes it (`0001`), for `migrate new` to
    /// continue the folder's numbering.
    pub version_text: &'a str,
    /// The text after the first `_`, without the extension.
    pub description: &'a str,
    /// Which of the three forms the name takes.
    pub kind: Kind,
}

/// The three forms of migration file name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Kind {
    /// `<version>_<description>.sql`: an up migration with no down file.
    Up,
    /// `<version>_<description>.up.sql`: an up migration that may have a down file.
    PairedUp,
    /// `<version>_<description>.down.sql`: the reverse of a `.up.sql` file.
    Down,
}

/// Classifies one file name of a migrations folder.
pub fn classify(file_name: &str) -> Entry<'_> {
    // Hidden files are editor and tool droppings (`.#0001_x.sql` is an Emacs lock).
    if file_name.starts_with('.') {
        return Entry::Ignored;
    }
    let Some(stem) = file_name.strip_suffix(".sql") else {
        if file_name.to_ascii_lowercase().ends_with(".sql") {
            return Entry::Malformed("the extension must be `.sql`, in lower case".to_owned());
        }
        return Entry::Ignored;
    };
    match parse_stem(stem) {
        Ok(name) => Entry::Migration(name),
        Err(reason) => Entry::Malformed(reason),
    }
}

fn parse_stem(stem: &str) -> Result<FileName<'_>, String> {
    let (stem, kind) = if let Some(stem) = stem.strip_suffix(".up") {
        (stem, Kind::PairedUp)
    } else if let Some(stem) = stem.strip_suffix(".down") {
        (stem, Kind::Down)
    } else {
        (stem, Kind::Up)
    };
    let Some((version_text, description)) = stem.split_once('_') else {
        return Err(expected_grammar(stem));
    };
    let version = parse_version(version_text)?;
    check_description(description)?;
    Ok(FileName {
        version,
        version_text,
        description,
        kind,
    })
}

fn expected_grammar(stem: &str) -> String {
    let hint = if !stem.is_empty() && stem.bytes().all(|b| b.is_ascii_digit()) {
        format!("; add a description, as in `{stem}_create_users.sql`")
    } else {
        String::new()
    };
    format!("expected `<version>_<description>.sql`, `.up.sql` or `.down.sql`{hint}")
}

pub(crate) fn parse_version(text: &str) -> Result<i64, String> {
    if text.is_empty() {
        return Err(
            "the name starts with `_`: expected a version before it, as in `0001_create_users.sql`"
                .to_owned(),
        );
    }
    if !text.bytes().all(|b| b.is_ascii_digit()) {
        let flyway_like = matches!(text.as_bytes()[0], b'V' | b'v' | b'U' | b'R')
            && text.len() > 1
            && text[1..].bytes().all(|b| b.is_ascii_digit());
        let hint = if flyway_like {
            "; this is a Flyway or refinery name, which is read in a folder of such names (`layout = \"flyway\"`)".to_owned()
        } else {
            String::new()
        };
        return Err(format!("the version `{text}` must be decimal digits{hint}"));
    }
    // Leading zeros are padding: `0001` is version 1.
    text.parse::<i64>()
        .map_err(|_| format!("the version `{text}` is larger than {}", i64::MAX))
}

pub(crate) fn check_description(description: &str) -> Result<(), String> {
    if description.is_empty() {
        return Err("the description after `_` is empty".to_owned());
    }
    if let Some(bad) = description
        .chars()
        .find(|&c| !(c.is_alphanumeric() || c == '_' || c == '-'))
    {
        return Err(format!(
            "the description `{description}` contains {}: use letters, digits, `_` and `-`",
            describe_char(bad)
        ));
    }
    Ok(())
}

fn describe_char(c: char) -> String {
    match c {
        ' ' => "a space".to_owned(),
        '.' => "`.`, which only separates `.up` or `.down` from `.sql`".to_owned(),
        c if c.is_control() => format!("the control character U+{:04X}", u32::from(c)),
        c => format!("`{c}`"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn migration(name: &str) -> FileName<'_> {
        match classify(name) {
            Entry::Migration(name) => name,
            other => panic!("{name}: {other:?}"),
        }
    }

    fn malformed(name: &str) -> String {
        match classify(name) {
            Entry::Malformed(reason) => reason,
            other => panic!("{name}: {other:?}"),
        }
    }

    #[test]
    fn the_three_forms() {
        assert_eq!(
            migration("0001_create_users.sql"),
            FileName {
                version: 1,
                version_text: "0001",
                description: "create_users",
                kind: Kind::Up
            }
        );
        assert_eq!(migration("20240102150405_init.up.sql").kind, Kind::PairedUp);
        assert_eq!(
            migration("20240102150405_init.up.sql").version,
            20240102150405
        );
        assert_eq!(migration("7_add-index.down.sql").kind, Kind::Down);
        assert_eq!(migration("7_add-index.down.sql").description, "add-index");
    }

    #[test]
    fn padding_is_not_part_of_the_version() {
        assert_eq!(
            migration("0001_a.sql").version,
            migration("1_a.sql").version
        );
    }

    #[test]
    fn non_sql_and_hidden_files_are_ignored() {
        for name in [
            "README.md",
            ".gitkeep",
            ".#0001_x.sql",
            "0001_x.sql.swp",
            "notes.txt",
        ] {
            assert_eq!(classify(name), Entry::Ignored, "{name}");
        }
    }

    #[test]
    fn malformed_names_say_why() {
        assert!(malformed("init.sql").contains("expected `<version>_<description>.sql`"));
        assert!(malformed("0001.sql").contains("add a description"));
        assert!(malformed("V1__init.sql").contains("`layout = \"flyway\"`"));
        assert!(malformed("_init.sql").contains("expected a version"));
        assert!(malformed("1_.sql").contains("empty"));
        assert!(malformed("1_add users.sql").contains("a space"));
        assert!(malformed("1_a.b.sql").contains("`.`"));
        assert!(malformed("1_a.SQL").contains("lower case"));
        assert!(malformed("99999999999999999999_a.sql").contains("larger than"));
        assert!(malformed("1_a.up.down.sql").contains("`.`"));
    }
}
