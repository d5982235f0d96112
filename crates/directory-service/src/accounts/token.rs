//! Bearer-token format for SCIM configurations.
//!
//! A token is `scimtok_` followed by 32 random bytes in unpadded base64url.
//! The fixed prefix lets secret scanners (GitHub push protection, gitleaks,
//! …) recognise a leaked token, and the 256 bits of entropy make guessing
//! pointless.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest, Sha256};

/// Literal start of every token.
pub const TOKEN_PREFIX: &str = "scimtok_";

/// Random bytes per token.
const SECRET_BYTES: usize = 32;

/// Unpadded base64 length of [`SECRET_BYTES`]: ceil(32 * 4 / 3).
const ENCODED_SECRET_LEN: usize = 43;

/// Total length of a well-formed token.
pub const TOKEN_LEN: usize = TOKEN_PREFIX.len() + ENCODED_SECRET_LEN;

/// Characters of a token that are stored and shown so people can tell tokens
/// apart. Only 4 of them are random (24 bits), which says nothing useful
/// about the remaining 232 bits.
pub const DISPLAY_PREFIX_LEN: usize = 12;

/// SHA-256 of a token, the only form in which tokens are stored.
pub type TokenHash = [u8; 32];

/// The candidate is not a token this service could have issued.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("malformed access token")]
pub struct MalformedToken;

/// A freshly minted token. `secret` is shown to the caller exactly once.
pub struct GeneratedToken {
    pub secret: String,
    pub hash: TokenHash,
    pub prefix: String,
}

// Deliberately not derived: the secret must never reach a log line.
impl std::fmt::Debug for GeneratedToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GeneratedToken")
            .field("prefix", &self.prefix)
            .finish_non_exhaustive()
    }
}

/// Mints a new token from the thread-local CSPRNG.
pub fn generate() -> GeneratedToken {
    let bytes: [u8; SECRET_BYTES] = rand::random();
    let secret = format!("{TOKEN_PREFIX}{}", URL_SAFE_NO_PAD.encode(bytes));
    GeneratedToken {
        hash: hash_token(&secret),
        prefix: display_prefix(&secret).to_owned(),
        secret,
    }
}

/// SHA-256 of the token text.
///
/// A fast, unsalted hash is the right tool here, unlike for passwords: the
/// token carries 256 bits of randomness, so neither brute force nor
/// precomputed tables can invert the hash, and a slow KDF would only add
/// latency to every SCIM request. Being deterministic also lets the hash be
/// the unique lookup key.
pub fn hash_token(token: &str) -> TokenHash {
    Sha256::digest(token.as_bytes()).into()
}

/// The first [`DISPLAY_PREFIX_LEN`] characters of `token` (all of it when
/// shorter).
pub fn display_prefix(token: &str) -> &str {
    match token.char_indices().nth(DISPLAY_PREFIX_LEN) {
        Some((end, _)) => &token[..end],
        None => token,
    }
}

/// A string known to have the token format; it may still be unknown,
/// revoked or expired.
#[derive(Clone, Copy)]
pub struct ParsedToken<'a>(&'a str);

impl ParsedToken<'_> {
    pub fn hash(&self) -> TokenHash {
        hash_token(self.0)
    }

    pub fn display_prefix(&self) -> &str {
        display_prefix(self.0)
    }
}

impl std::fmt::Debug for ParsedToken<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("ParsedToken")
            .field(&self.display_prefix())
            .finish()
    }
}

/// Checks the format so garbage (other kinds of credentials, truncated
/// pastes, scanners probing the endpoint) is turned away without a database
/// round-trip.
pub fn parse(candidate: &str) -> Result<ParsedToken<'_>, MalformedToken> {
    if candidate.len() != TOKEN_LEN {
        return Err(MalformedToken);
    }
    let encoded = candidate.strip_prefix(TOKEN_PREFIX).ok_or(MalformedToken)?;
    // The decoder rejects non-canonical trailing bits, so each secret has
    // exactly one accepted spelling and therefore exactly one hash.
    let decoded = URL_SAFE_NO_PAD
        .decode(encoded)
        .map_err(|_| MalformedToken)?;
    if decoded.len() != SECRET_BYTES {
        return Err(MalformedToken);
    }
    Ok(ParsedToken(candidate))
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn generated_tokens_have_the_documented_shape() {
        let token = generate();
        assert!(token.secret.starts_with(TOKEN_PREFIX));
        assert_eq!(token.secret.len(), TOKEN_LEN);
        assert!(
            token.secret[TOKEN_PREFIX.len()..]
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_'),
            "not base64url: {}",
            token.secret
        );
        assert_eq!(token.prefix.len(), DISPLAY_PREFIX_LEN);
        assert!(token.secret.starts_with(&token.prefix));
        assert_eq!(token.hash, hash_token(&token.secret));
    }

    #[test]
    fn generated_tokens_parse() {
        for _ in 0..256 {
            let token = generate();
            let parsed = parse(&token.secret).unwrap();
            assert_eq!(parsed.hash(), token.hash);
            assert_eq!(parsed.display_prefix(), token.prefix);
        }
    }

    #[test]
    fn generated_tokens_differ() {
        let a = generate();
        let b = generate();
        assert_ne!(a.secret, b.secret);
        assert_ne!(a.hash, b.hash);
    }

    #[test]
    fn hash_is_sha256_of_the_text() {
        // SHA-256("abc"), FIPS 180-2 appendix B.1.
        assert_eq!(
            hex::encode(hash_token("abc")),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn parse_rejects_everything_else() {
        let good = generate().secret;
        let body = &good[TOKEN_PREFIX.len()..];
        let cases = [
            String::new(),
            TOKEN_PREFIX.to_owned(),
            body.to_owned(),
            format!("Bearer {good}"),
            format!("{good} "),
            format!(" {good}"),
            format!("{good}A"),
            good[..good.len() - 1].to_owned(),
            format!("SCIMTOK_{body}"),
            format!("scimtok-{body}"),
            // Standard-alphabet characters are not base64url.
            format!("{TOKEN_PREFIX}{}+", &body[..body.len() - 1]),
            format!("{TOKEN_PREFIX}{}/", &body[..body.len() - 1]),
            // Padding is not part of the format.
            format!("{TOKEN_PREFIX}{}=", &body[..body.len() - 1]),
            // Same length in bytes, but not ASCII.
            format!("{TOKEN_PREFIX}{}é", &body[..body.len() - 2]),
        ];
        for case in cases {
            assert_eq!(
                parse(&case).err(),
                Some(MalformedToken),
                "accepted {case:?}"
            );
        }
    }

    #[test]
    fn parse_rejects_non_canonical_trailing_bits() {
        // 32 bytes leave 2 unused bits in the last character; 'A' zeroes
        // them, 'B' sets one.
        let canonical = format!("{TOKEN_PREFIX}{}A", "A".repeat(ENCODED_SECRET_LEN - 1));
        let sloppy = format!("{TOKEN_PREFIX}{}B", "A".repeat(ENCODED_SECRET_LEN - 1));
        assert!(parse(&canonical).is_ok());
        assert_eq!(parse(&sloppy).err(), Some(MalformedToken));
    }

    #[test]
    fn display_prefix_handles_short_and_non_ascii_input() {
        assert_eq!(display_prefix("short"), "short");
        assert_eq!(display_prefix("ééééééééééééééé"), "éééééééééééé");
        assert_eq!(display_prefix("scimtok_abcdefgh"), "scimtok_abcd");
    }

    #[test]
    fn debug_output_does_not_contain_the_secret() {
        let token = generate();
        let body = &token.secret[DISPLAY_PREFIX_LEN..];
        assert!(!format!("{token:?}").contains(body));
        let parsed = parse(&token.secret).unwrap();
        assert!(!format!("{parsed:?}").contains(body));
    }
}
