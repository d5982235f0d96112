//! Recursive-descent parser for RFC 7644 §3.4.2.2:
//!
//! ```text
//! FILTER    = attrExp / logExp / valuePath / *1"not" "(" FILTER ")"
//! valuePath = attrPath "[" valFilter "]"
//! attrExp   = (attrPath SP "pr") / (attrPath SP compareOp SP compValue)
//! ```
//!
//! Tolerated beyond the ABNF because IdPs and their docs send them: `attr[filter].sub op value`
//! (Entra's `emails[type eq "work"].value eq "…"`, read as `attr[filter and sub op value]`),
//! unquoted values (`externalId eq jyoung`, `meta.created gt 2015-10-10T14:38:21-07:00`) and
//! booleans in any case.

use std::str::FromStr;

use super::lexer::{Tok, Token, tokenize};
use super::{CompareOp, CompareValue, Filter};
use crate::error::ScimError;
use crate::limits::{MAX_FILTER_BYTES, MAX_FILTER_DEPTH, MAX_FILTER_TERMS};
use crate::path::{AttrPath, is_valid_name, parse_attr_path};

/// Parses a filter expression.
pub fn parse_filter(input: &str) -> Result<Filter, ScimError> {
    parse_with(input, false)
}

/// Parses the inside of `attr[...]`, where paths name sub-attributes.
pub(crate) fn parse_value_filter(input: &str) -> Result<Filter, ScimError> {
    parse_with(input, true)
}

fn parse_with(input: &str, in_value_path: bool) -> Result<Filter, ScimError> {
    if input.len() > MAX_FILTER_BYTES {
        return Err(ScimError::InvalidFilter(format!(
            "the filter is {} bytes long; the limit is {MAX_FILTER_BYTES} bytes",
            input.len()
        )));
    }
    if let Some(position) = input
        .chars()
        .position(|c| !crate::limits::is_storable_char(c))
    {
        return Err(ScimError::InvalidFilter(format!(
            "the filter contains a control character at position {position}"
        )));
    }
    let tokens = tokenize(input)?;
    if tokens.is_empty() {
        return Err(ScimError::InvalidFilter("empty filter".into()));
    }
    let mut p = Parser {
        tokens: &tokens,
        i: 0,
        end: input.chars().count(),
        depth: 0,
        terms: 0,
    };
    let f = p.or_expr(in_value_path)?;
    match p.peek() {
        None => Ok(f),
        Some(t) => Err(unexpected(t)),
    }
}

struct Parser<'a> {
    tokens: &'a [Token],
    i: usize,
    /// Position just past the input, reported when it ends too early.
    end: usize,
    /// Open `(`, `not (` and `[` around the current token: the recursion depth.
    depth: usize,
    /// Comparisons and `pr` tests so far.
    terms: usize,
}

fn unexpected(t: &Token) -> ScimError {
    ScimError::InvalidFilter(format!(
        "unexpected token '{}' at position {}",
        t.raw, t.pos
    ))
}

fn is_keyword(t: &Token, kw: &str) -> bool {
    matches!(&t.tok, Tok::Word(w) if w.eq_ignore_ascii_case(kw))
}

impl<'a> Parser<'a> {
    fn end_of_input(&self, expected: &str) -> ScimError {
        ScimError::InvalidFilter(format!(
            "unexpected end of filter at position {}, expected {expected}",
            self.end
        ))
    }

    fn peek(&self) -> Option<&'a Token> {
        self.tokens.get(self.i)
    }

    fn peek_at(&self, offset: usize) -> Option<&'a Token> {
        self.tokens.get(self.i + offset)
    }

    fn next(&mut self, expected: &str) -> Result<&'a Token, ScimError> {
        let t = self.peek().ok_or_else(|| self.end_of_input(expected))?;
        self.i += 1;
        Ok(t)
    }

    fn expect(&mut self, tok: Tok, expected: &str) -> Result<&'a Token, ScimError> {
        let t = self.next(expected)?;
        if t.tok == tok {
            Ok(t)
        } else {
            Err(unexpected(t))
        }
    }

    /// Enters a nested expression, refusing to go deeper than the limit: the parser recurses
    /// once per level, and so does everything that later walks the tree.
    fn nested(&mut self, vp: bool, at: &Token) -> Result<Filter, ScimError> {
        if self.depth >= MAX_FILTER_DEPTH {
            return Err(ScimError::InvalidFilter(format!(
                "the filter nests deeper than {MAX_FILTER_DEPTH} levels at position {}",
                at.pos
            )));
        }
        self.depth += 1;
        let inner = self.or_expr(vp);
        self.depth -= 1;
        inner
    }

    fn or_expr(&mut self, vp: bool) -> Result<Filter, ScimError> {
        let mut left = self.and_expr(vp)?;
        while self.peek().is_some_and(|t| is_keyword(t, "or")) {
            self.i += 1;
            let right = self.and_expr(vp)?;
            left = Filter::Or(Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn and_expr(&mut self, vp: bool) -> Result<Filter, ScimError> {
        let mut left = self.unary(vp)?;
        while self.peek().is_some_and(|t| is_keyword(t, "and")) {
            self.i += 1;
            let right = self.unary(vp)?;
            left = Filter::And(Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn unary(&mut self, vp: bool) -> Result<Filter, ScimError> {
        let t = self
            .peek()
            .ok_or_else(|| self.end_of_input("an attribute or '('"))?;
        let not_paren =
            is_keyword(t, "not") && self.peek_at(1).is_some_and(|n| n.tok == Tok::LParen);
        if not_paren {
            self.i += 2;
            let inner = self.nested(vp, t)?;
            self.expect(Tok::RParen, "')'")?;
            return Ok(Filter::Not(Box::new(inner)));
        }
        match &t.tok {
            Tok::LParen => {
                self.i += 1;
                let inner = self.nested(vp, t)?;
                self.expect(Tok::RParen, "')'")?;
                Ok(inner)
            }
            Tok::Word(w) => {
                self.i += 1;
                self.attr_expr(w, t, vp)
            }
            _ => Err(unexpected(t)),
        }
    }

    fn attr_expr(&mut self, word: &str, at: &Token, vp: bool) -> Result<Filter, ScimError> {
        let path = parse_attr_path(word).map_err(|_| {
            ScimError::InvalidFilter(format!(
                "invalid attribute path '{word}' at position {}",
                at.pos
            ))
        })?;
        let t = self
            .peek()
            .ok_or_else(|| self.end_of_input("an operator"))?;
        if t.tok != Tok::LBracket {
            return self.attr_op(path);
        }
        if vp || path.sub_attribute.is_some() {
            return Err(unexpected(t));
        }
        self.i += 1;
        let mut inner = self.nested(true, t)?;
        let close = self.expect(Tok::RBracket, "']'")?;
        let sub = match self.peek() {
            Some(Token {
                tok: Tok::Word(w),
                pos,
                ..
            }) if *pos == close.end && w.starts_with('.') => {
                if !is_valid_name(&w[1..]) {
                    return Err(ScimError::InvalidFilter(format!(
                        "invalid sub-attribute '{w}' at position {pos}"
                    )));
                }
                Some(w[1..].to_string())
            }
            _ => None,
        };
        if let Some(sub) = sub {
            self.i += 1;
            let sub_filter = self.attr_op(AttrPath::new(sub))?;
            inner = Filter::And(Box::new(inner), Box::new(sub_filter));
        }
        Ok(Filter::ValuePath {
            path,
            filter: Box::new(inner),
        })
    }

    /// `pr`, or a comparison operator and its value.
    fn attr_op(&mut self, path: AttrPath) -> Result<Filter, ScimError> {
        let t = self.next("an operator")?;
        self.terms += 1;
        if self.terms > MAX_FILTER_TERMS {
            return Err(ScimError::InvalidFilter(format!(
                "the filter has more than {MAX_FILTER_TERMS} comparisons (at position {})",
                t.pos
            )));
        }
        let Tok::Word(w) = &t.tok else {
            return Err(unexpected(t));
        };
        if w.eq_ignore_ascii_case("pr") {
            return Ok(Filter::Present(path));
        }
        let op = CompareOp::parse(w).ok_or_else(|| {
            ScimError::InvalidFilter(format!("unknown operator '{w}' at position {}", t.pos))
        })?;
        let v = self.next("a value")?;
        let value = match &v.tok {
            Tok::Str(s) if !s.chars().all(crate::limits::is_storable_char) => {
                return Err(ScimError::InvalidFilter(format!(
                    "the value at position {} contains a control character",
                    v.pos
                )));
            }
            Tok::Str(s) => CompareValue::String(s.clone()),
            Tok::Word(w) => bare_value(w),
            _ => return Err(unexpected(v)),
        };
        Ok(Filter::Compare { path, op, value })
    }
}

fn bare_value(w: &str) -> CompareValue {
    if w.eq_ignore_ascii_case("true") {
        CompareValue::Bool(true)
    } else if w.eq_ignore_ascii_case("false") {
        CompareValue::Bool(false)
    } else if w.eq_ignore_ascii_case("null") {
        CompareValue::Null
    } else if let Some(n) = parse_number(w) {
        CompareValue::Number(n)
    } else {
        CompareValue::String(w.to_string())
    }
}

/// JSON number grammar, but floats through the standard library: serde_json's default float
/// parser is not correctly rounded, which would break print→parse round trips.
fn parse_number(w: &str) -> Option<serde_json::Number> {
    serde_json::Number::from_str(w).ok()?;
    if let Ok(i) = w.parse::<i64>() {
        return Some(i.into());
    }
    if let Ok(u) = w.parse::<u64>() {
        return Some(u.into());
    }
    w.parse::<f64>().ok().and_then(serde_json::Number::from_f64)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic)]
mod tests {
    use super::*;

    fn cmp(path: &str, op: CompareOp, v: CompareValue) -> Filter {
        Filter::Compare {
            path: parse_attr_path(path).unwrap(),
            op,
            value: v,
        }
    }
    fn s(v: &str) -> CompareValue {
        CompareValue::String(v.into())
    }

    /// Every example filter of RFC 7644 §3.4.2.2 parses.
    #[test]
    fn rfc_examples() {
        let examples = [
            r#"userName Eq "john""#,
            r#"Username eq "john""#,
            r#"userName eq "bjensen""#,
            r#"name.familyName co "O'Malley""#,
            r#"userName sw "J""#,
            r#"urn:ietf:params:scim:schemas:core:2.0:User:userName sw "J""#,
            r#"title pr"#,
            r#"meta.lastModified gt "2011-05-13T04:42:34Z""#,
            r#"meta.lastModified ge "2011-05-13T04:42:34Z""#,
            r#"meta.lastModified lt "2011-05-13T04:42:34Z""#,
            r#"meta.lastModified le "2011-05-13T04:42:34Z""#,
            r#"title pr and userType eq "Employee""#,
            r#"title pr or userType eq "Intern""#,
            r#"schemas eq "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User""#,
            r#"userType eq "Employee" and (emails co "example.com" or emails.value co "example.org")"#,
            r#"userType ne "Employee" and not (emails co "example.com" or emails.value co "example.org")"#,
            r#"userType eq "Employee" and (emails.type eq "work")"#,
            r#"userType eq "Employee" and emails[type eq "work" and value co "@example.com"]"#,
            r#"emails[type eq "work" and value co "@example.com"] or ims[type eq "xmpp" and value co "@foo.com"]"#,
        ];
        for e in examples {
            let f = parse_filter(e).unwrap_or_else(|err| panic!("{e}: {err}"));
            assert_eq!(parse_filter(&f.to_string()).unwrap(), f, "{e}");
        }
    }

    #[test]
    fn precedence_and_binds_tighter() {
        let f = parse_filter("a pr or b pr and c pr").unwrap();
        let a = Filter::Present(AttrPath::new("a"));
        let b = Filter::Present(AttrPath::new("b"));
        let c = Filter::Present(AttrPath::new("c"));
        assert_eq!(
            f,
            Filter::Or(Box::new(a), Box::new(Filter::And(Box::new(b), Box::new(c))))
        );
    }

    #[test]
    fn case_insensitive_keywords() {
        let f = parse_filter(r#"userName EQ "x" AND NOT (title PR) Or active Eq TRUE"#).unwrap();
        assert_eq!(
            f.to_string(),
            r#"userName eq "x" and not (title pr) or active eq true"#
        );
    }

    #[test]
    fn entra_value_path_with_sub_attribute() {
        let f = parse_filter(r#"emails[type eq "work"].value eq "user@contoso.com""#).unwrap();
        let expected = Filter::ValuePath {
            path: AttrPath::new("emails"),
            filter: Box::new(Filter::And(
                Box::new(cmp("type", CompareOp::Eq, s("work"))),
                Box::new(cmp("value", CompareOp::Eq, s("user@contoso.com"))),
            )),
        };
        assert_eq!(f, expected);
    }

    #[test]
    fn unquoted_values_from_docs() {
        assert_eq!(
            parse_filter("externalId eq jyoung").unwrap(),
            cmp("externalId", CompareOp::Eq, s("jyoung"))
        );
        assert_eq!(
            parse_filter("userName sw O").unwrap(),
            cmp("userName", CompareOp::Sw, s("O"))
        );
        assert_eq!(
            parse_filter("meta.Created gt 2015-10-10T14:38:21.8617979-07:00").unwrap(),
            cmp(
                "meta.Created",
                CompareOp::Gt,
                s("2015-10-10T14:38:21.8617979-07:00")
            )
        );
        let f = parse_filter(
            "name.FamilyName eq Employee and (emails.Value co example.com or emails.Value co example.org)",
        );
        assert!(f.is_ok());
        let f = parse_filter("id eq 54D382A4-2050-4C03-94D1-E769F1D15682 and manager eq 2819c223-7f76-453a-919d-413861904646").unwrap();
        assert!(matches!(f, Filter::And(..)));
        assert_eq!(
            parse_filter("x eq 42").unwrap(),
            cmp("x", CompareOp::Eq, CompareValue::Number(42.into()))
        );
        assert_eq!(
            parse_filter("x eq null").unwrap(),
            cmp("x", CompareOp::Eq, CompareValue::Null)
        );
    }

    #[test]
    fn urn_attribute() {
        let f = parse_filter(r#"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value eq "26118915-6090-4610-87e4-49d8ca9f808d""#).unwrap();
        let Filter::Compare { path, .. } = f else {
            panic!("not a compare")
        };
        assert_eq!(path.attribute, "manager");
        assert_eq!(path.sub_attribute.as_deref(), Some("value"));
    }

    #[test]
    fn errors_name_positions() {
        let err = parse_filter(r#"userName eq "a" foo"#).unwrap_err();
        assert_eq!(
            err,
            ScimError::InvalidFilter("unexpected token 'foo' at position 16".into())
        );
        let err = parse_filter(r#"userName zz "a""#).unwrap_err();
        assert!(
            err.detail().contains("unknown operator 'zz' at position 9"),
            "{err}"
        );
        let err = parse_filter(r#"userName eq "é" and"#).unwrap_err();
        assert!(
            err.detail().contains("end of filter at position 19"),
            "{err}"
        );
        assert!(parse_filter("").is_err());
        assert!(
            parse_filter("userName")
                .unwrap_err()
                .detail()
                .contains("end of filter")
        );
        assert!(parse_filter(r#"(userName eq "a""#).is_err());
        assert!(parse_filter(r#"userName eq "a")"#).is_err());
        assert!(parse_filter(r#"emails[type eq "work""#).is_err());
        assert!(parse_filter(r#"emails[type[value eq "x"] pr]"#).is_err());
        assert!(parse_filter(r#"userName eq"#).is_err());
        assert!(parse_filter(r#"1abc eq "x""#).is_err());
        assert!(parse_filter(r#"a pr and"#).is_err());
        assert!(matches!(
            parse_filter("a eq (").unwrap_err(),
            ScimError::InvalidFilter(_)
        ));
    }

    #[test]
    fn nesting_terms_and_length_are_bounded_before_recursing() {
        let nested = |n: usize| format!("{}userName pr{}", "not (".repeat(n), ")".repeat(n));
        assert!(parse_filter(&nested(MAX_FILTER_DEPTH)).is_ok());
        let error = parse_filter(&nested(MAX_FILTER_DEPTH + 1)).unwrap_err();
        assert!(error.detail().contains("nests deeper than 16"), "{error}");
        // 2,000 levels overflowed the stack before the limit: now a plain invalidFilter.
        let error = parse_filter(&nested(2000).chars().take(4000).collect::<String>());
        assert!(matches!(error, Err(ScimError::InvalidFilter(_))));
        let parens = format!("{}a pr{}", "(".repeat(3000), ")".repeat(3000));
        assert!(matches!(
            parse_filter(&parens),
            Err(ScimError::InvalidFilter(_))
        ));
        let terms = |n: usize| vec!["id pr"; n].join(" or ");
        assert!(parse_filter(&terms(MAX_FILTER_TERMS)).is_ok());
        let error = parse_filter(&terms(MAX_FILTER_TERMS + 1)).unwrap_err();
        assert!(
            error.detail().contains("more than 64 comparisons"),
            "{error}"
        );
        let long = format!("userName eq \"{}\"", "a".repeat(MAX_FILTER_BYTES));
        let error = parse_filter(&long).unwrap_err();
        assert!(error.detail().contains("limit is 4096 bytes"), "{error}");
        let brackets = format!("emails[{}value pr{}]", "(".repeat(20), ")".repeat(20));
        assert!(parse_filter(&brackets).is_err());
    }

    #[test]
    fn json_escapes_round_trip() {
        let f = parse_filter(r#"displayName eq "a \"quoted\" \\ back\nslash \u00e9""#).unwrap();
        assert_eq!(
            f,
            cmp(
                "displayName",
                CompareOp::Eq,
                s("a \"quoted\" \\ back\nslash é")
            )
        );
        assert_eq!(parse_filter(&f.to_string()).unwrap(), f);
    }
}
