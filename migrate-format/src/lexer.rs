//! A small SQL lexer: enough to split a script into statements, find its
//! comments, and notice strings, comments and dollar quotes that never end.
//!
//! It knows the quoting rules of SQLite and PostgreSQL, including the ones
//! that break naive splitters: dollar quotes, `E''` strings, nested block
//! comments (PostgreSQL), bracket and backtick identifiers (SQLite), trigger
//! bodies (`BEGIN … END`, with `CASE … END` inside) and SQL-standard function
//! bodies (`BEGIN ATOMIC … END`).

use std::ops::Range;

/// Which quoting rules apply.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Flavor {
    /// No dialect was named: a script lexes without error when SQLite's or
    /// PostgreSQL's rules accept it. When both do, it is split only where both
    /// engines end a statement, and only the comments both see are comments.
    /// See [`lex`].
    Generic,
    /// SQLite: `[ident]` and `` `ident` `` quotes, block comments do not nest.
    Sqlite,
    /// PostgreSQL: `$tag$` quotes, `E'…'` strings, block comments nest.
    Postgres,
}

/// What [`lex`] found in a script.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lexed {
    /// Byte ranges of the statements, each from its first token to its
    /// terminating `;` (or the end of the script), comments before it excluded.
    pub statements: Vec<Range<usize>>,
    /// Byte ranges of the `--` comments, from the `--` to the end of the line.
    pub line_comments: Vec<Range<usize>>,
    /// The first token that never ends, if any. Lexing stops there.
    pub error: Option<LexError>,
}

/// A string, quoted identifier, comment or dollar quote that is never closed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LexError {
    /// Byte offset of the token's opening quote.
    pub offset: usize,
    /// What was left open.
    pub kind: Unterminated,
}

/// The kinds of token that can be left open.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Unterminated {
    /// A `'…'` string.
    String,
    /// A `"…"`, `[…]` or `` `…` `` identifier.
    QuotedIdentifier,
    /// A `/* … */` comment.
    BlockComment,
    /// A `$tag$ … $tag$` string; `tag` is empty for `$$`.
    DollarQuote {
        /// The tag between the dollar signs.
        tag: String,
    },
}

impl std::fmt::Display for LexError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.kind {
            Unterminated::String => f.write_str("unterminated string: this `'` is never closed"),
            Unterminated::QuotedIdentifier => {
                f.write_str("unterminated quoted identifier: this quote is never closed")
            }
            // SQLite itself would silently ignore the rest of the file here.
            Unterminated::BlockComment => {
                f.write_str("unterminated comment: this `/*` is never closed by `*/`")
            }
            Unterminated::DollarQuote { tag } => {
                write!(
                    f,
                    "unterminated dollar quote: this `${tag}$` is never closed by another `${tag}$`"
                )
            }
        }
    }
}

/// Lexes `sql` under the quoting rules of `flavor`.
///
/// [`Flavor::Generic`] lexes the script with both engines' rules:
///
/// - when only one engine's rules accept it (SQLite's `/* a /* b */`, whose
///   comments do not nest, or PostgreSQL's `ARRAY['a]']`, which has no
///   bracket identifiers), the result is that engine's;
/// - when both do, a statement ends only where both engines end one (a
///   PostgreSQL function body in `$$` is one statement, although SQLite's
///   rules would split it at each `;`), and a `--` comment counts only if
///   both engines see it;
/// - when neither does, the error is the one that comes later in the
///   script, under the rules that read more of it.
pub fn lex(sql: &str, flavor: Flavor) -> Lexed {
    match flavor {
        Flavor::Generic => lex_either(sql),
        engine => lex_engine(sql, engine),
    }
}

fn lex_engine(sql: &str, flavor: Flavor) -> Lexed {
    let mut lexer = Lexer {
        sql,
        bytes: sql.as_bytes(),
        flavor,
        pos: 0,
        lexed: Lexed {
            statements: Vec::new(),
            line_comments: Vec::new(),
            error: None,
        },
        statement: StatementState::default(),
    };
    lexer.run();
    lexer.lexed
}

/// The generic flavor: whichever engine's rules accept the script, and where
/// both do, the split both agree on.
fn lex_either(sql: &str) -> Lexed {
    let sqlite = lex_engine(sql, Flavor::Sqlite);
    let postgres = lex_engine(sql, Flavor::Postgres);
    match (&sqlite.error, &postgres.error) {
        (None, None) => Lexed {
            statements: merge_overlapping(&sqlite.statements, &postgres.statements),
            line_comments: common(&sqlite.line_comments, &postgres.line_comments),
            error: None,
        },
        (None, Some(_)) => sqlite,
        (Some(_), None) => postgres,
        (Some(in_sqlite), Some(in_postgres)) => {
            if in_sqlite.offset > in_postgres.offset {
                sqlite
            } else {
                postgres
            }
        }
    }
}

/// The statements of two splits of one script, merged wherever they
/// overlap: each result ends where both splits have a boundary.
fn merge_overlapping(a: &[Range<usize>], b: &[Range<usize>]) -> Vec<Range<usize>> {
    let mut all: Vec<Range<usize>> = a.iter().chain(b).cloned().collect();
    all.sort_by_key(|range| (range.start, range.end));
    let mut merged: Vec<Range<usize>> = Vec::with_capacity(a.len().max(b.len()));
    for range in all {
        match merged.last_mut() {
            Some(last) if range.start < last.end => last.end = last.end.max(range.end),
            _ => merged.push(range),
        }
    }
    merged
}

/// The ranges present in both sorted lists.
fn common(a: &[Range<usize>], b: &[Range<usize>]) -> Vec<Range<usize>> {
    let (mut i, mut j) = (0, 0);
    let mut both = Vec::new();
    while i < a.len() && j < b.len() {
        match (a[i].start, a[i].end).cmp(&(b[j].start, b[j].end)) {
            std::cmp::Ordering::Less => i += 1,
            std::cmp::Ordering::Greater => j += 1,
            std::cmp::Ordering::Equal => {
                both.push(a[i].clone());
                i += 1;
                j += 1;
            }
        }
    }
    both
}

/// Returns the 1-based line and column (in characters) of a byte offset.
pub fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let column = before[line_start..].chars().count() + 1;
    (line, column)
}

struct Lexer<'a> {
    sql: &'a str,
    bytes: &'a [u8],
    flavor: Flavor,
    pos: usize,
    lexed: Lexed,
    statement: StatementState,
}

/// What the lexer tracks inside the current statement to know whether a `;`
/// ends it.
#[derive(Default)]
struct StatementState {
    start: Option<usize>,
    parens: usize,
    /// 1 inside the `BEGIN … END` body of a trigger or an atomic body.
    block_depth: usize,
    /// Open `CASE … END` expressions inside such a body.
    case_depth: usize,
    /// Whether the last token inside a body was a `;`: only there does `END`
    /// close the body (SQLite reads `END` elsewhere as a name, as in
    /// `SELECT end FROM t`).
    after_body_semicolon: bool,
    /// How many words the statement has had, to recognise its leading keywords.
    words: usize,
    is_trigger: bool,
    is_routine: bool,
    previous_word_was_begin: bool,
}

impl Lexer<'_> {
    fn run(&mut self) {
        while self.pos < self.bytes.len() && self.lexed.error.is_none() {
            self.step();
        }
        if self.lexed.error.is_none() {
            self.end_statement(self.bytes.len());
        }
    }

    fn peek(&self, ahead: usize) -> Option<u8> {
        self.bytes.get(self.pos + ahead).copied()
    }

    fn step(&mut self) {
        let byte = self.bytes[self.pos];
        match byte {
            b if b.is_ascii_whitespace() => self.pos += 1,
            b'-' if self.peek(1) == Some(b'-') => self.line_comment(),
            b'/' if self.peek(1) == Some(b'*') => self.block_comment(),
            b'\'' => self.quoted(b'\'', Unterminated::String, false),
            b'"' => self.quoted(b'"', Unterminated::QuotedIdentifier, false),
            b'`' if self.flavor != Flavor::Postgres => {
                self.quoted(b'`', Unterminated::QuotedIdentifier, false)
            }
            b'[' if self.flavor != Flavor::Postgres => self.bracket_identifier(),
            b'$' if self.flavor != Flavor::Sqlite && self.dollar_tag().is_some() => {
                self.dollar_quote()
            }
            b';' => self.semicolon(),
            b'(' => self.punctuation(|s| s.parens += 1),
            b')' => self.punctuation(|s| s.parens = s.parens.saturating_sub(1)),
            b if is_word_start(b) => self.word(),
            _ => self.punctuation(|_| {}),
        }
    }

    fn begin_token(&mut self) {
        if self.statement.start.is_none() {
            self.statement.start = Some(self.pos);
        }
    }

    fn punctuation(&mut self, effect: impl FnOnce(&mut StatementState)) {
        self.begin_token();
        effect(&mut self.statement);
        self.statement.previous_word_was_begin = false;
        self.statement.after_body_semicolon = false;
        self.pos += 1;
    }

    /// A `--` comment, to the end of the line: PostgreSQL ends it at a
    /// carriage return too, SQLite only at a line feed.
    fn line_comment(&mut self) {
        let start = self.pos;
        let ends_line = |c: char| c == '\n' || (c == '\r' && self.flavor == Flavor::Postgres);
        let end = self.sql[start..]
            .find(ends_line)
            .map_or(self.bytes.len(), |i| start + i);
        self.lexed.line_comments.push(start..end);
        self.pos = end;
    }

    fn block_comment(&mut self) {
        let start = self.pos;
        let nests = self.flavor != Flavor::Sqlite;
        let mut depth = 0usize;
        while self.pos < self.bytes.len() {
            if self.bytes[self.pos] == b'/' && self.peek(1) == Some(b'*') && (nests || depth == 0) {
                depth += 1;
                self.pos += 2;
            } else if self.bytes[self.pos] == b'*' && self.peek(1) == Some(b'/') {
                depth -= 1;
                self.pos += 2;
                if depth == 0 {
                    return;
                }
            } else {
                self.pos += 1;
            }
        }
        self.fail(start, Unterminated::BlockComment);
    }

    /// Reads a token closed by `quote`, where a doubled quote stands for
    /// itself, and a backslash escapes the next byte in `E''` strings.
    fn quoted(&mut self, quote: u8, kind: Unterminated, backslash_escapes: bool) {
        let start = self.pos;
        self.begin_token();
        self.statement.previous_word_was_begin = false;
        self.pos += 1;
        while self.pos < self.bytes.len() {
            let byte = self.bytes[self.pos];
            let escaped = backslash_escapes && byte == b'\\';
            let doubled = byte == quote && self.peek(1) == Some(quote);
            if escaped || doubled {
                self.pos += 2;
            } else if byte == quote {
                self.pos += 1;
                return;
            } else {
                self.pos += 1;
            }
        }
        self.fail(start, kind);
    }

    fn bracket_identifier(&mut self) {
        let start = self.pos;
        self.begin_token();
        match self.sql[start..].find(']') {
            Some(i) => self.pos = start + i + 1,
            None => self.fail(start, Unterminated::QuotedIdentifier),
        }
    }

    /// The tag of a dollar quote opening at `pos`, if one opens there.
    /// `foo$bar` and `$1` are not dollar quotes.
    fn dollar_tag(&self) -> Option<&str> {
        if self.pos > 0 && is_word_byte(self.bytes[self.pos - 1]) {
            return None;
        }
        let rest = &self.sql[self.pos + 1..];
        let tag_len = rest
            .bytes()
            .enumerate()
            .take_while(|&(i, b)| {
                b == b'_' || b >= 0x80 || b.is_ascii_alphabetic() || (i > 0 && b.is_ascii_digit())
            })
            .count();
        (rest.as_bytes().get(tag_len) == Some(&b'$')).then(|| &rest[..tag_len])
    }

    fn dollar_quote(&mut self) {
        let start = self.pos;
        let tag = self.dollar_tag().unwrap_or_default().to_owned();
        let delimiter = format!("${tag}$");
        self.begin_token();
        self.statement.previous_word_was_begin = false;
        let body_start = start + delimiter.len();
        match self.sql[body_start..].find(&delimiter) {
            Some(i) => self.pos = body_start + i + delimiter.len(),
            None => self.fail(start, Unterminated::DollarQuote { tag }),
        }
    }

    fn word(&mut self) {
        let start = self.pos;
        while self.pos < self.bytes.len() && is_word_byte(self.bytes[self.pos]) {
            self.pos += 1;
        }
        let word = &self.sql[start..self.pos];
        // `E'…'` is a PostgreSQL string with backslash escapes.
        if self.flavor != Flavor::Sqlite
            && word.eq_ignore_ascii_case("e")
            && self.peek(0) == Some(b'\'')
        {
            self.statement.start.get_or_insert(start);
            self.quoted(b'\'', Unterminated::String, true);
            return;
        }
        self.statement.start.get_or_insert(start);
        self.keyword(word);
    }

    /// Tracks the keywords that open and close bodies in which `;` does not
    /// end the statement.
    fn keyword(&mut self, word: &str) {
        let is = |keyword: &str| word.eq_ignore_ascii_case(keyword);
        let state = &mut self.statement;
        state.words += 1;
        if state.words <= 4 {
            // CREATE [TEMP|TEMPORARY] TRIGGER, CREATE [OR REPLACE] FUNCTION|PROCEDURE.
            state.is_trigger |= is("TRIGGER");
            state.is_routine |= is("FUNCTION") || is("PROCEDURE");
        }
        let opens_trigger_body = state.is_trigger && self.flavor != Flavor::Postgres && is("BEGIN");
        let opens_atomic_body = state.is_routine
            && self.flavor != Flavor::Sqlite
            && state.previous_word_was_begin
            && is("ATOMIC");
        if state.block_depth == 0 {
            if opens_trigger_body || opens_atomic_body {
                state.block_depth = 1;
            }
        } else if is("CASE") {
            state.case_depth += 1;
        } else if is("END") && state.case_depth > 0 {
            state.case_depth -= 1;
        } else if is("END") && state.after_body_semicolon {
            state.block_depth = 0;
        }
        state.previous_word_was_begin = is("BEGIN");
        state.after_body_semicolon = false;
    }

    fn semicolon(&mut self) {
        if self.statement.parens == 0 && self.statement.block_depth == 0 {
            self.pos += 1;
            self.end_statement(self.pos);
        } else {
            self.statement.after_body_semicolon = self.statement.parens == 0;
            self.pos += 1;
        }
    }

    fn end_statement(&mut self, end: usize) {
        if let Some(start) = self.statement.start.take() {
            self.lexed.statements.push(start..end);
        }
        self.statement = StatementState::default();
    }

    fn fail(&mut self, offset: usize, kind: Unterminated) {
        self.lexed.error = Some(LexError { offset, kind });
        self.pos = self.bytes.len();
    }
}

fn is_word_start(byte: u8) -> bool {
    byte.is_ascii_alphabetic() || byte == b'_' || byte >= 0x80
}

fn is_word_byte(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || byte == b'_' || byte == b'$' || byte >= 0x80
}

#[cfg(test)]
mod tests {
    use super::*;

    fn statements(sql: &str, flavor: Flavor) -> Vec<&str> {
        let lexed = lex(sql, flavor);
        assert_eq!(lexed.error, None, "{sql}");
        lexed.statements.iter().map(|r| &sql[r.clone()]).collect()
    }

    fn error(sql: &str, flavor: Flavor) -> LexError {
        lex(sql, flavor).error.expect(sql)
    }

    #[test]
    fn splits_on_semicolons_outside_quotes_and_comments() {
        let sql = "-- a; comment\nCREATE TABLE t (a TEXT DEFAULT 'x;y''z');\n/* ; */ INSERT INTO \"we;ird\" VALUES (1);\nSELECT 1";
        for flavor in [Flavor::Generic, Flavor::Sqlite, Flavor::Postgres] {
            assert_eq!(
                statements(sql, flavor),
                [
                    "CREATE TABLE t (a TEXT DEFAULT 'x;y''z');",
                    "INSERT INTO \"we;ird\" VALUES (1);",
                    "SELECT 1"
                ]
            );
        }
    }

    #[test]
    fn trigger_bodies_with_case_stay_whole() {
        let sql = "CREATE TRIGGER t AFTER INSERT ON a BEGIN\n  UPDATE a SET n = CASE WHEN n > 1 THEN 1 ELSE 2 END;\n  DELETE FROM b;\nEND;\nSELECT 2;";
        for flavor in [Flavor::Generic, Flavor::Sqlite] {
            let split = statements(sql, flavor);
            assert_eq!(split.len(), 2, "{split:?}");
            assert!(split[0].ends_with("END;"));
        }
    }

    #[test]
    fn postgres_bodies_stay_whole() {
        let sql = "CREATE FUNCTION f() RETURNS int AS $body$ BEGIN RETURN 1; END; $body$ LANGUAGE plpgsql;\n\
                   DO $$ BEGIN EXECUTE $q$ SELECT 1; $q$; END $$;\n\
                   CREATE FUNCTION g() RETURNS int LANGUAGE sql BEGIN ATOMIC SELECT 1; SELECT CASE WHEN true THEN 2 END; END;\n\
                   SELECT E'it\\'s; here\\\\', foo$bar, $1;\n\
                   /* outer /* inner ; */ still ; */ SELECT U&'a;b';\n\
                   CREATE RULE r AS ON INSERT TO t DO ALSO (INSERT INTO a VALUES (1); INSERT INTO b VALUES (2));";
        for flavor in [Flavor::Generic, Flavor::Postgres] {
            let split = statements(sql, flavor);
            assert_eq!(split.len(), 6, "{split:#?}");
            assert!(split[4].starts_with("SELECT U&"));
        }
    }

    #[test]
    fn sqlite_quotes_and_flat_comments() {
        let sql =
            "CREATE TABLE [we;ird] (`back;tick` TEXT, \"end\" TEXT);\n/* a /* b; */ SELECT 1;";
        assert_eq!(statements(sql, Flavor::Sqlite).len(), 2);
        assert_eq!(
            lex(sql, Flavor::Postgres).error.map(|e| e.kind),
            Some(Unterminated::BlockComment)
        );
        // Without a dialect, SQLite's rules accept it, so it is accepted.
        assert_eq!(statements(sql, Flavor::Generic).len(), 2);
    }

    #[test]
    fn without_a_dialect_either_engines_rules_accept() {
        // SQLite's comments do not nest; PostgreSQL's have no brackets.
        assert_eq!(
            statements("/* a /* b */ SELECT 1;", Flavor::Generic),
            ["SELECT 1;"]
        );
        assert_eq!(
            statements("SELECT ARRAY['a]'];\nSELECT 2;", Flavor::Generic),
            ["SELECT ARRAY['a]'];", "SELECT 2;"]
        );
        assert_eq!(
            lex("SELECT ARRAY['a]'];", Flavor::Sqlite)
                .error
                .map(|e| e.kind),
            Some(Unterminated::String)
        );
    }

    #[test]
    fn without_a_dialect_statements_end_where_both_engines_agree() {
        // SQLite's rules split the dollar-quoted body at each `;`.
        let function =
            "CREATE FUNCTION f() RETURNS int AS $$ BEGIN RETURN 1; END; $$ LANGUAGE plpgsql;";
        assert_eq!(statements(function, Flavor::Sqlite).len(), 3);
        let sql = format!("{function}\nSELECT 2; -- done\nSELECT $$ -- in a string $$;");
        let lexed = lex(&sql, Flavor::Generic);
        let split: Vec<&str> = lexed.statements.iter().map(|r| &sql[r.clone()]).collect();
        assert_eq!(
            split,
            [function, "SELECT 2;", "SELECT $$ -- in a string $$;"]
        );
        // Only the comment both engines see is one.
        let comments: Vec<&str> = lexed
            .line_comments
            .iter()
            .map(|r| &sql[r.clone()])
            .collect();
        assert_eq!(comments, ["-- done"]);
    }

    #[test]
    fn without_a_dialect_a_script_both_refuse_reports_the_later_error() {
        // SQLite stops at the string, after its comment ended; PostgreSQL at
        // the nested comment, which never ends.
        let sql = "SELECT 1; /* a /* b */ SELECT 'x";
        assert_eq!(error(sql, Flavor::Generic), error(sql, Flavor::Sqlite));
        assert_eq!(error(sql, Flavor::Generic).kind, Unterminated::String);
    }

    #[test]
    fn unterminated_tokens_are_found() {
        assert_eq!(
            error("SELECT 'abc;", Flavor::Generic).kind,
            Unterminated::String
        );
        assert_eq!(
            error("SELECT 1; /* no end", Flavor::Sqlite).kind,
            Unterminated::BlockComment
        );
        assert_eq!(
            error("SELECT \"abc", Flavor::Postgres).kind,
            Unterminated::QuotedIdentifier
        );
        let dollar = error("SELECT 1;\nDO $fn$ BEGIN END $$;", Flavor::Postgres);
        assert_eq!(
            dollar.kind,
            Unterminated::DollarQuote {
                tag: "fn".to_owned()
            }
        );
        assert_eq!(
            line_col("SELECT 1;\nDO $fn$ BEGIN END $$;", dollar.offset),
            (2, 4)
        );
        assert_eq!(
            error("SELECT E'abc\\'", Flavor::Postgres).kind,
            Unterminated::String
        );
    }

    #[test]
    fn end_closes_a_trigger_body_only_after_one_of_its_statements() {
        // Found by the fuzzer of migrate-torture: SQLite reads `END` in an
        // expression as a name, and the body goes on.
        let sql = "CREATE TRIGGER t AFTER INSERT ON x BEGIN SELECT END FROM y; SELECT CASE WHEN 1 THEN 2 END; END; SELECT 1;";
        let statements = lex(sql, Flavor::Sqlite).statements;
        assert_eq!(statements.len(), 2, "{statements:?}");
        assert!(sql[statements[0].clone()].ends_with("END; END;"));
    }

    #[test]
    fn a_carriage_return_ends_a_postgresql_line_comment_only() {
        // Found by the fuzzer of migrate-torture: PostgreSQL's scanner ends
        // `--` at `\r`, so the `;` after it ends the statement; SQLite's
        // comment runs to the line feed and swallows it.
        let sql = "SELECT 1 --x\r; SELECT 2;";
        assert_eq!(lex(sql, Flavor::Postgres).statements, [0..14, 15..24]);
        assert_eq!(
            lex(sql, Flavor::Sqlite).statements.len(),
            1,
            "one statement"
        );
    }

    #[test]
    fn line_comments_are_recorded() {
        let sql = "-- migrate:no-transaction\nSELECT 1; -- trailing";
        let lexed = lex(sql, Flavor::Generic);
        let comments: Vec<&str> = lexed
            .line_comments
            .iter()
            .map(|r| &sql[r.clone()])
            .collect();
        assert_eq!(comments, ["-- migrate:no-transaction", "-- trailing"]);
    }

    #[test]
    fn columns_count_characters() {
        assert_eq!(line_col("é€x", "é€".len()), (1, 3));
        assert_eq!(line_col("a\nbc", 3), (2, 2));
    }
}
