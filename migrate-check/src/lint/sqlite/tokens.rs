//! The tokens of one SQLite statement, as the rules read them: words,
//! quoted names, strings and punctuation, with comments left out.

/// A token, and where it starts in the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Token<'a> {
    pub(super) kind: Kind,
    /// The text as written, quotes included.
    pub(super) text: &'a str,
    /// The byte offset in the file.
    pub(super) offset: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Kind {
    /// A bare word: a keyword, a name, a number.
    Word,
    /// `"…"`: a name, or, when no column has that name, a string.
    DoubleQuoted,
    /// `[…]` or `` `…` ``: always a name.
    Bracketed,
    /// `'…'`, or a blob `x'…'`.
    String,
    /// Any other character.
    Punct(char),
}

impl Token<'_> {
    pub(super) fn is_word(&self, word: &str) -> bool {
        self.kind == Kind::Word && self.text.eq_ignore_ascii_case(word)
    }

    /// Whether the token can be a name.
    pub(super) fn is_name(&self) -> bool {
        matches!(
            self.kind,
            Kind::Word | Kind::DoubleQuoted | Kind::Bracketed | Kind::String
        )
    }

    /// The token as a name: without its quotes, doubled quotes undone, in
    /// lower case, since SQLite compares names without regard to ASCII case.
    pub(super) fn name(&self) -> String {
        let unquoted = match self.kind {
            Kind::DoubleQuoted => unquote(self.text, '"'),
            Kind::String => unquote(self.text, '\''),
            Kind::Bracketed if self.text.starts_with('`') => unquote(self.text, '`'),
            Kind::Bracketed => self
                .text
                .trim_start_matches('[')
                .trim_end_matches(']')
                .to_owned(),
            _ => self.text.to_owned(),
        };
        unquoted.to_ascii_lowercase()
    }
}

fn unquote(text: &str, quote: char) -> String {
    let doubled = format!("{quote}{quote}");
    let inner = text.strip_prefix(quote).unwrap_or(text);
    let inner = inner.strip_suffix(quote).unwrap_or(inner);
    inner.replace(&doubled, &quote.to_string())
}

/// The tokens of `statement`, which starts at byte `start` of its file.
pub(super) fn tokens(statement: &str, start: usize) -> Vec<Token<'_>> {
    let bytes = statement.as_bytes();
    let mut tokens = Vec::new();
    let mut pos = 0;
    while pos < bytes.len() {
        let byte = bytes[pos];
        let (kind, end) = match byte {
            b if b.is_ascii_whitespace() => {
                pos += 1;
                continue;
            }
            b'-' if bytes.get(pos + 1) == Some(&b'-') => {
                pos = until(bytes, pos, |b| b == b'\n');
                continue;
            }
            b'/' if bytes.get(pos + 1) == Some(&b'*') => {
                pos = statement[pos + 2..]
                    .find("*/")
                    .map_or(bytes.len(), |end| pos + 2 + end + 2);
                continue;
            }
            b'"' => (Kind::DoubleQuoted, quoted(bytes, pos, b'"')),
            b'\'' => (Kind::String, quoted(bytes, pos, b'\'')),
            b'`' => (Kind::Bracketed, quoted(bytes, pos, b'`')),
            b'[' => (
                Kind::Bracketed,
                until(bytes, pos, |b| b == b']')
                    .saturating_add(1)
                    .min(bytes.len()),
            ),
            b if is_word_byte(b) => {
                // A blob literal, x'…', is one token.
                if (b == b'x' || b == b'X') && bytes.get(pos + 1) == Some(&b'\'') {
                    (Kind::String, quoted(bytes, pos + 1, b'\''))
                } else {
                    (Kind::Word, until(bytes, pos, |b| !is_word_byte(b)))
                }
            }
            _ => {
                let character = statement[pos..].chars().next().unwrap_or(' ');
                (Kind::Punct(character), pos + character.len_utf8())
            }
        };
        tokens.push(Token {
            kind,
            text: &statement[pos..end],
            offset: start + pos,
        });
        pos = end;
    }
    tokens
}

fn is_word_byte(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || byte == b'_' || byte == b'$' || !byte.is_ascii()
}

/// The index of the first byte after `pos` that ends the run, or the end.
fn until(bytes: &[u8], pos: usize, ends: impl Fn(u8) -> bool) -> usize {
    pos + 1
        + bytes[pos + 1..]
            .iter()
            .position(|b| ends(*b))
            .unwrap_or(bytes.len() - pos - 1)
}

/// The index after a quoted token starting at `pos`, where a doubled quote
/// stands for one.
fn quoted(bytes: &[u8], mut pos: usize, quote: u8) -> usize {
    pos += 1;
    while pos < bytes.len() {
        if bytes[pos] == quote {
            if bytes.get(pos + 1) == Some(&quote) {
                pos += 2;
                continue;
            }
            return pos + 1;
        }
        pos += 1;
    }
    pos
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statements_split_into_tokens() {
        let sql = "SELECT \"a\"\"b\", [c d], `e`, 'f''g', x'00' -- no\n/* none */ FROM t.u;";
        let found: Vec<(Kind, &str, usize)> = tokens(sql, 10)
            .iter()
            .map(|t| (t.kind, t.text, t.offset))
            .collect();
        assert_eq!(
            found,
            [
                (Kind::Word, "SELECT", 10),
                (Kind::DoubleQuoted, "\"a\"\"b\"", 17),
                (Kind::Punct(','), ",", 23),
                (Kind::Bracketed, "[c d]", 25),
                (Kind::Punct(','), ",", 30),
                (Kind::Bracketed, "`e`", 32),
                (Kind::Punct(','), ",", 35),
                (Kind::String, "'f''g'", 37),
                (Kind::Punct(','), ",", 43),
                (Kind::String, "x'00'", 45),
                (Kind::Word, "FROM", 68),
                (Kind::Word, "t", 73),
                (Kind::Punct('.'), ".", 74),
                (Kind::Word, "u", 75),
                (Kind::Punct(';'), ";", 76),
            ]
        );
        let names: Vec<String> = tokens("\"A\"\"b\" [C] `d``e` F", 0)
            .iter()
            .map(Token::name)
            .collect();
        assert_eq!(names, ["a\"b", "c", "d`e", "f"]);
    }
}
