//! SCIM protocol errors (RFC 7644 §3.12), carried through the pure model so the gateway can
//! render an Error body without re-deciding status codes.

/// A SCIM error with its RFC 7644 `scimType`. The payload is the human-readable `detail`.
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
pub enum ScimError {
    #[error("invalidFilter: {0}")]
    InvalidFilter(String),
    #[error("invalidSyntax: {0}")]
    InvalidSyntax(String),
    #[error("invalidPath: {0}")]
    InvalidPath(String),
    #[error("invalidValue: {0}")]
    InvalidValue(String),
    #[error("noTarget: {0}")]
    NoTarget(String),
    #[error("mutability: {0}")]
    Mutability(String),
    #[error("uniqueness: {0}")]
    Uniqueness(String),
    #[error("tooMany: {0}")]
    TooMany(String),
    #[error("invalidVers: {0}")]
    InvalidVers(String),
    #[error("sensitive: {0}")]
    Sensitive(String),
    /// RFC 9865: a cursor this server did not issue for this query.
    #[error("invalidCursor: {0}")]
    InvalidCursor(String),
    /// RFC 9865: `count` above the maximum page size in cursor mode.
    #[error("invalidCount: {0}")]
    InvalidCount(String),
}

impl ScimError {
    /// HTTP status for the error response.
    pub fn status(&self) -> u16 {
        match self {
            ScimError::Uniqueness(_) => 409,
            _ => 400,
        }
    }

    /// The RFC 7644 §3.12 `scimType` keyword.
    pub fn scim_type(&self) -> Option<&'static str> {
        Some(match self {
            ScimError::InvalidFilter(_) => "invalidFilter",
            ScimError::InvalidSyntax(_) => "invalidSyntax",
            ScimError::InvalidPath(_) => "invalidPath",
            ScimError::InvalidValue(_) => "invalidValue",
            ScimError::NoTarget(_) => "noTarget",
            ScimError::Mutability(_) => "mutability",
            ScimError::Uniqueness(_) => "uniqueness",
            ScimError::TooMany(_) => "tooMany",
            ScimError::InvalidVers(_) => "invalidVers",
            ScimError::Sensitive(_) => "sensitive",
            ScimError::InvalidCursor(_) => "invalidCursor",
            ScimError::InvalidCount(_) => "invalidCount",
        })
    }

    /// Human-readable explanation for the `detail` field.
    pub fn detail(&self) -> String {
        match self {
            ScimError::InvalidFilter(d)
            | ScimError::InvalidSyntax(d)
            | ScimError::InvalidPath(d)
            | ScimError::InvalidValue(d)
            | ScimError::NoTarget(d)
            | ScimError::Mutability(d)
            | ScimError::Uniqueness(d)
            | ScimError::TooMany(d)
            | ScimError::InvalidVers(d)
            | ScimError::Sensitive(d)
            | ScimError::InvalidCursor(d)
            | ScimError::InvalidCount(d) => d.clone(),
        }
    }

    /// The SCIM Error response body (RFC 7644 §3.12); `status` is a string there.
    pub fn to_json(&self) -> serde_json::Value {
        let mut body = serde_json::json!({
            "schemas": [crate::urn::ERROR_SCHEMA],
            "status": self.status().to_string(),
            "detail": self.detail(),
        });
        if let (Some(t), Some(obj)) = (self.scim_type(), body.as_object_mut()) {
            obj.insert("scimType".into(), t.into());
        }
        body
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_and_type() {
        assert_eq!(ScimError::Uniqueness("x".into()).status(), 409);
        assert_eq!(ScimError::InvalidFilter("x".into()).status(), 400);
        assert_eq!(ScimError::TooMany("x".into()).scim_type(), Some("tooMany"));
        assert_eq!(ScimError::NoTarget("gone".into()).detail(), "gone");
        let body = ScimError::Mutability("id is readOnly".into()).to_json();
        assert_eq!(body["scimType"], "mutability");
        assert_eq!(body["status"], "400");
    }
}
