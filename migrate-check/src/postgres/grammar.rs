//! The grammar check: every file parsed with squawk's PostgreSQL grammar.
//!
//! squawk-syntax is a pure-Rust parser of PostgreSQL's full grammar, so the
//! check needs no C toolchain and no libclang. It checks syntax only: there
//! is no PostgreSQL engine to run the migrations on inside a build.
//!
//! squawk recovers after an error and goes on, so one mistake can produce
//! several errors in a row; only the first error of each statement is
//! reported, which is the one the mistake caused.

use migrate_format::lexer::{self, Flavor};
use migrate_format::{Problem, SourceFile};
use squawk_syntax::SourceFile as Parsed;

/// Parses a file. Returns one problem per statement with a syntax error,
/// with its file, line and column.
pub(super) fn check_file(file: &SourceFile) -> Vec<Problem> {
    let errors = Parsed::parse(&file.sql).errors();
    if errors.is_empty() {
        return Vec::new();
    }
    let statements = lexer::lex(&file.sql, Flavor::Postgres).statements;
    let mut reported: Vec<Option<usize>> = Vec::new();
    let mut problems = Vec::new();
    for error in errors {
        // Errors inside a function body are mapped back from the decoded
        // body to the file; flooring keeps the offset on a character.
        let offset = file
            .sql
            .floor_char_boundary(usize::from(error.range().start()));
        let statement = statements
            .iter()
            .position(|s| s.contains(&offset) || s.end == offset);
        if reported.contains(&statement) {
            continue;
        }
        reported.push(statement);
        problems.push(Problem {
            file: file.display.clone(),
            position: Some(lexer::line_col(&file.sql, offset)),
            message: describe(error.message(), &file.sql[offset..]),
        });
    }
    problems
}

/// squawk's message, with its token kinds (`CREATE_KW`, `L_PAREN`) written
/// as the SQL they stand for. When the parser recognises no statement at
/// all, the words it stopped at are quoted, since its message names only
/// their first token.
fn describe(message: &str, rest: &str) -> String {
    let message = message
        .split(' ')
        .map(token_kind)
        .collect::<Vec<_>>()
        .join(" ");
    if message.starts_with("expected command") {
        let words = opening_words(rest);
        format!("syntax error: {message}; no PostgreSQL statement starts with `{words}`")
    } else {
        format!("syntax error: {message}")
    }
}

/// Writes a token kind as SQL: `CREATE_KW,` becomes `` `CREATE`, ``.
fn token_kind(word: &str) -> String {
    let (kind, punctuation) = match word.strip_suffix(',') {
        Some(kind) => (kind, ","),
        None => (word, ""),
    };
    let sql = match kind {
        "L_PAREN" => Some("("),
        "R_PAREN" => Some(")"),
        "SEMICOLON" => Some(";"),
        "COMMA" => Some(","),
        "DOT" => Some("."),
        "IDENT" => Some("an identifier"),
        "INT_NUMBER" | "FLOAT_NUMBER" => Some("a number"),
        "STRING" => Some("a string"),
        "EOF" => Some("the end of the file"),
        _ => None,
    };
    let is_prose = sql.is_some_and(|sql| sql.starts_with('a') || sql.starts_with("the"));
    match (sql, kind.strip_suffix("_KW")) {
        (Some(sql), _) if is_prose => format!("{sql}{punctuation}"),
        (Some(sql), _) => format!("`{sql}`{punctuation}"),
        (None, Some(keyword)) if keyword.chars().all(|c| c.is_ascii_uppercase() || c == '_') => {
            format!("`{keyword}`{punctuation}")
        }
        _ => word.to_owned(),
    }
}

/// Up to three words from where the parser stopped, within the statement
/// or the function body (which a dollar quote closes).
fn opening_words(rest: &str) -> String {
    let statement = rest.split(';').next().unwrap_or(rest);
    statement
        .split_whitespace()
        .take_while(|word| !word.starts_with('$'))
        .take(3)
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use squawk_syntax::ast::AstNode;
    use std::ops::Range;

    /// squawk's statements and migrate's lexer must agree on every corpus
    /// file, so that errors are attributed to the right statement and a
    /// `no-transaction` migration runs what the grammar sees.
    #[test]
    fn the_grammar_splits_like_the_lexer() {
        let corpus = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/corpus");
        let migrations: Vec<_> = ["postgres", "postgres-grammar"]
            .iter()
            .flat_map(|folder| {
                migrate_format::folder::load(&corpus.join(folder), "corpus", Flavor::Postgres)
                    .unwrap()
            })
            .collect();
        let files = migrations
            .iter()
            .flat_map(|m| std::iter::once(&m.up).chain(&m.down));
        for file in files {
            let tree = Parsed::parse(&file.sql).tree();
            let grammar: Vec<Range<usize>> = tree
                .stmts()
                .map(|s| {
                    let range = s.syntax().text_range();
                    usize::from(range.start())..usize::from(range.end())
                })
                .collect();
            let lexer = lexer::lex(&file.sql, Flavor::Postgres).statements;
            assert_eq!(grammar, lexer, "{}", file.display);
        }
    }
}
