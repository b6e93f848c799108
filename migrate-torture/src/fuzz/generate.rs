//! Generated input: SQL made of the tokens that split statements, or fail
//! to, on either engine; file names; lock files; the macro's arguments; and
//! mutations of all of them.

use crate::rng::Rng;

/// Pieces that SQLite runs without a schema, each a whole statement body
/// or a part of an expression, with the tokens that fool a naive splitter.
const SQLITE_EXPRESSIONS: &[&str] = &[
    "1",
    "'a;b'",
    "'it''s; fine'",
    "\"quoted;id\"",
    "x'00ff'",
    "CASE WHEN 1 THEN ';' ELSE 'END' END",
    "(SELECT 2)",
    "'--not a comment'",
    "'/* not a comment */'",
    "1 /* a ; comment */ + 2",
    "'é;ü'",
    "length('BEGIN;')",
    "[bracket;id]",
    "`back;tick`",
];

/// Statements SQLite accepts once the ones before them ran.
fn sqlite_statement(rng: &mut Rng, n: usize) -> String {
    let expression = |rng: &mut Rng| (*rng.pick(SQLITE_EXPRESSIONS)).to_owned();
    match rng.below(9) {
        0 => format!("SELECT {}", expression(rng)),
        1 => format!("SELECT {}, {}", expression(rng), expression(rng)),
        2 => format!("CREATE TABLE IF NOT EXISTS \"t;{n}\" (a, \"b;c\" TEXT DEFAULT ';')"),
        3 => format!(
            "CREATE TABLE IF NOT EXISTS tt{n} (a);\nCREATE TRIGGER IF NOT EXISTS tr{n} AFTER INSERT ON tt{n} BEGIN SELECT ';'; SELECT CASE WHEN 1 THEN 2 END; END"
        ),
        4 => format!(
            "CREATE VIEW IF NOT EXISTS v{n} AS SELECT {} AS c",
            expression(rng)
        ),
        5 => "SELECT 1 -- a comment; with a semicolon\n".to_owned(),
        6 => "/* leading ; comment */ SELECT 'x'".to_owned(),
        7 => format!("WITH c(x) AS (SELECT {}) SELECT x FROM c", expression(rng)),
        _ => "SELECT 'BEGIN' AS \"END\"".to_owned(),
    }
}

/// A script of statements SQLite runs.
pub(crate) fn sqlite_script(rng: &mut Rng) -> String {
    let count = 1 + rng.below(6);
    let mut script = String::new();
    for n in 0..count {
        script.push_str(&separator(rng));
        script.push_str(&sqlite_statement(rng, n));
        if n + 1 < count || !rng.one_in(3) {
            script.push(';');
        }
    }
    script.push_str(&separator(rng));
    script
}

const POSTGRES_STATEMENTS: &[&str] = &[
    "SELECT 1",
    "SELECT 'a;b'",
    "SELECT E'it\\'s; fine'",
    "SELECT $$dollar;quoted$$",
    "SELECT $tag$ ; $$ ; $tag$",
    "SELECT \"quoted;id\" FROM (SELECT 1 AS \"quoted;id\") AS s",
    "SELECT ARRAY['a]', 'b;']",
    "SELECT 1 /* nested /* ; */ comment */",
    "CREATE FUNCTION f() RETURNS int LANGUAGE sql AS $$ SELECT 1; $$",
    "CREATE FUNCTION g() RETURNS trigger LANGUAGE plpgsql AS $body$ BEGIN RAISE NOTICE ';'; RETURN NEW; END $body$",
    "DO $$ BEGIN PERFORM 1; END $$",
    "CREATE PROCEDURE p() LANGUAGE sql BEGIN ATOMIC SELECT 1; SELECT 2; END",
    "CREATE TABLE t (a int DEFAULT 1, b text CHECK (b <> ';'))",
    "SET search_path = public",
    "SELECT U&\"d\\0061t;a\" FROM (SELECT 1 AS data) AS s",
    "SELECT 'BEGIN' AS \"END\"",
    "SELECT 1 -- trailing ; comment\n",
];

/// A script of statements that PostgreSQL's grammar accepts.
pub(crate) fn postgres_script(rng: &mut Rng) -> String {
    let count = 1 + rng.below(6);
    let mut script = String::new();
    for n in 0..count {
        script.push_str(&separator(rng));
        script.push_str(rng.word(POSTGRES_STATEMENTS));
        if n + 1 < count || !rng.one_in(3) {
            script.push(';');
        }
    }
    script.push_str(&separator(rng));
    script
}

/// Space or comments between statements.
fn separator(rng: &mut Rng) -> String {
    match rng.below(6) {
        0 => String::new(),
        1 => " ".to_owned(),
        2 => "\n".to_owned(),
        3 => "\n-- a comment; with a semicolon\n".to_owned(),
        4 => "\n/* a ; comment */\n".to_owned(),
        _ => "\r\n\t".to_owned(),
    }
}

/// Characters that matter to a lexer, and some that do not.
const ALPHABET: &[&str] = &[
    ";",
    "'",
    "\"",
    "`",
    "[",
    "]",
    "$",
    "$$",
    "$a$",
    "-",
    "--",
    "/",
    "*",
    "/*",
    "*/",
    "\n",
    "\r",
    " ",
    "\\",
    "E",
    "e",
    "U&",
    "x",
    "BEGIN",
    "END",
    "CASE",
    "ATOMIC",
    "CREATE",
    "TRIGGER",
    "COMMIT",
    "ROLLBACK",
    "SAVEPOINT",
    "RELEASE",
    "TO",
    "PRAGMA",
    "é",
    "\u{feff}",
    "\0",
    "0",
    "9",
    "_",
    "(",
    ")",
    "-- migrate:no-transaction\n",
    "-- migrate:",
    "-- +goose Up\n",
    "-- +migrate Down\n",
];

/// `text`, changed a few times at random places: a token inserted, a range
/// removed or repeated. The result stays UTF-8.
pub(crate) fn mutate(rng: &mut Rng, text: &str) -> String {
    let mut chars: Vec<char> = text.chars().collect();
    for _ in 0..1 + rng.below(4) {
        let at = rng.below(chars.len() + 1);
        match rng.below(3) {
            0 => {
                let token: Vec<char> = rng.pick(ALPHABET).chars().collect();
                chars.splice(at..at, token);
            }
            1 if !chars.is_empty() => {
                let end = (at + 1 + rng.below(8)).min(chars.len());
                chars.drain(at.min(end)..end);
            }
            _ if !chars.is_empty() => {
                let start = at.min(chars.len() - 1);
                let end = (start + 1 + rng.below(8)).min(chars.len());
                let copy: Vec<char> = chars[start..end].to_vec();
                chars.splice(start..start, copy);
            }
            _ => {}
        }
    }
    chars.into_iter().collect()
}

/// Random tokens, for input no grammar expects.
pub(crate) fn soup(rng: &mut Rng) -> String {
    (0..rng.below(24)).map(|_| *rng.pick(ALPHABET)).collect()
}

/// A file name of a migrations folder, well-formed or nearly.
pub(crate) fn file_name(rng: &mut Rng) -> String {
    let versions = [
        "1",
        "0001",
        "20240102150405",
        "9223372036854775807",
        "99999999999999999999",
        "0",
        "-1",
        "",
    ];
    let descriptions = [
        "create_users",
        "a-b",
        "x",
        "",
        "with space",
        "dots.in.it",
        "é",
    ];
    let suffixes = [
        ".sql",
        ".up.sql",
        ".down.sql",
        ".SQL",
        ".sql.bak",
        "",
        ".up.down.sql",
    ];
    let separators = ["_", "__", "-", ""];
    let mut name = format!(
        "{}{}{}{}",
        rng.pick(&versions),
        rng.pick(&separators),
        rng.pick(&descriptions),
        rng.pick(&suffixes)
    );
    if rng.one_in(4) {
        name = mutate(rng, &name);
    }
    if rng.one_in(8) {
        name.insert(0, *rng.pick(&['.', 'V', 'U', 'R']));
    }
    name
}

/// The macro's arguments, well-formed or nearly.
pub(crate) fn macro_arguments(rng: &mut Rng) -> String {
    let keys = [
        "dialect",
        "history_table",
        "layout",
        "foreign_keys",
        "check_limit",
        "unknown",
        "r#dialect",
    ];
    let values = [
        "\"sqlite\"",
        "\"postgres\"",
        "\"mysql\"",
        "\"app.history\"",
        "\"temp.x\"",
        "\"on\"",
        "\"off\"",
        "\"flat\"",
        "\"prisma\"",
        "1000",
        "0",
        "true",
        "\"\"",
        "r\"raw\"",
        "b\"bytes\"",
    ];
    let mut text =
        (*rng.pick(&["\"migrations\"", "migrations", "\"\"", "r#\"m\"#", ""])).to_owned();
    for _ in 0..rng.below(5) {
        text.push_str(rng.word(&[", ", ",", " "]));
        text.push_str(rng.word(&keys));
        text.push_str(rng.word(&[" = ", "=", " "]));
        text.push_str(rng.word(&values));
    }
    if rng.one_in(3) {
        text = mutate(rng, &text);
    }
    text
}
