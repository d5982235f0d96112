//! Tokens of the filter grammar. Keywords are not distinguished here: whether `pr` or `and`
//! is an operator depends on where it appears, which only the parser knows.

use crate::error::ScimError;

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Tok {
    LParen,
    RParen,
    LBracket,
    RBracket,
    /// A JSON string literal, already unescaped.
    Str(String),
    /// Anything else up to whitespace or a delimiter: attribute paths, operators, keywords
    /// and unquoted values.
    Word(String),
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Token {
    pub tok: Tok,
    /// Character offset (0-based) of the first character, for error messages.
    pub pos: usize,
    /// Character offset just past the token.
    pub end: usize,
    /// The token as written.
    pub raw: String,
}

fn is_delimiter(c: char) -> bool {
    c.is_whitespace() || matches!(c, '(' | ')' | '[' | ']' | '"')
}

pub(crate) fn tokenize(input: &str) -> Result<Vec<Token>, ScimError> {
    let chars: Vec<(usize, char)> = input.char_indices().collect();
    let byte_at = |i: usize| chars.get(i).map_or(input.len(), |(b, _)| *b);
    let mut tokens = Vec::new();
    let mut i = 0;
    while let Some(&(_, c)) = chars.get(i) {
        let start = i;
        let simple = match c {
            '(' => Some(Tok::LParen),
            ')' => Some(Tok::RParen),
            '[' => Some(Tok::LBracket),
            ']' => Some(Tok::RBracket),
            _ => None,
        };
        if c.is_whitespace() {
            i += 1;
            continue;
        }
        let tok = if let Some(t) = simple {
            i += 1;
            t
        } else if c == '"' {
            i += 1;
            loop {
                match chars.get(i) {
                    None => {
                        return Err(ScimError::InvalidFilter(format!(
                            "unterminated string starting at position {start}"
                        )));
                    }
                    Some((_, '\\')) => i += 2,
                    Some((_, '"')) => {
                        i += 1;
                        break;
                    }
                    Some(_) => i += 1,
                }
            }
            let literal = &input[byte_at(start)..byte_at(i)];
            let s: String = serde_json::from_str(literal).map_err(|_| {
                ScimError::InvalidFilter(format!("invalid string literal at position {start}"))
            })?;
            Tok::Str(s)
        } else {
            while chars.get(i).is_some_and(|(_, c)| !is_delimiter(*c)) {
                i += 1;
            }
            Tok::Word(input[byte_at(start)..byte_at(i)].to_string())
        };
        tokens.push(Token {
            tok,
            pos: start,
            end: i,
            raw: input[byte_at(start)..byte_at(i)].to_string(),
        });
    }
    Ok(tokens)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn tokens_and_positions() {
        let t = tokenize(r#"emails[type eq "w\"x"].value"#).unwrap();
        let kinds: Vec<&Tok> = t.iter().map(|t| &t.tok).collect();
        assert_eq!(
            kinds,
            [
                &Tok::Word("emails".into()),
                &Tok::LBracket,
                &Tok::Word("type".into()),
                &Tok::Word("eq".into()),
                &Tok::Str("w\"x".into()),
                &Tok::RBracket,
                &Tok::Word(".value".into()),
            ]
        );
        assert_eq!(t[6].pos, t[5].end);
    }

    #[test]
    fn unicode_escapes_and_errors() {
        let t = tokenize(r#""caf\u00e9 ☕""#).unwrap();
        assert_eq!(t[0].tok, Tok::Str("café ☕".into()));
        assert!(
            tokenize(r#"userName eq "abc"#)
                .unwrap_err()
                .detail()
                .contains("position 12")
        );
        assert!(tokenize(r#""\x""#).is_err());
    }
}
