//! Who is asking: a signed-in admin (session cookie, CSRF token on every change) or the
//! operator (its bearer credential, API only), and the tenant scope that follows.

use axum::extract::{FromRef, FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, Method, header};
use serde::de::DeserializeOwned;
use subtle::ConstantTimeEq as _;

use crate::backend::Scope;
use crate::error::{AppError, PageError};
use crate::identity::Session;
use crate::state::AppState;

/// Header by which API calls under a session prove they come from the console.
pub const CSRF_HEADER: &str = "x-csrf-token";

/// Name of the form field that carries the CSRF token.
pub const CSRF_FIELD: &str = "csrf";

/// The session cookie's name. Under HTTPS the `__Host-` prefix makes browsers refuse it
/// unless it is Secure, host-only and for the whole site.
pub fn cookie_name(secure: bool) -> &'static str {
    if secure {
        "__Host-scim_console"
    } else {
        "scim_console"
    }
}

/// `Set-Cookie` for a new session: HttpOnly (no script reads it), SameSite=Lax (no
/// cross-site form post carries it), Secure under HTTPS. No Max-Age: the server decides
/// when a session ends.
pub fn session_cookie(secret: &str, secure: bool) -> Result<HeaderValue, AppError> {
    let secure_flag = if secure { "; Secure" } else { "" };
    HeaderValue::from_str(&format!(
        "{}={secret}; Path=/; HttpOnly; SameSite=Lax{secure_flag}",
        cookie_name(secure)
    ))
    .map_err(|error| AppError::Internal(error.to_string()))
}

/// `Set-Cookie` that removes the session cookie.
pub fn cleared_cookie(secure: bool) -> HeaderValue {
    let value = if secure {
        "__Host-scim_console=; Path=/; HttpOnly; SameSite=Lax; Secure; Max-Age=0"
    } else {
        "scim_console=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0"
    };
    HeaderValue::from_static(value)
}

/// The session cookie's value, if the request carries one.
pub fn cookie_secret(headers: &HeaderMap, secure: bool) -> Option<String> {
    let name = cookie_name(secure);
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(key, _)| *key == name)
        .map(|(_, value)| value.to_owned())
        .filter(|value| !value.is_empty())
}

fn tokens_match(expected: &str, presented: &str) -> bool {
    bool::from(expected.as_bytes().ct_eq(presented.as_bytes()))
}

/// A signed-in admin, for pages.
pub struct SignedIn {
    pub session: Session,
    /// The cookie value, to sign out.
    pub cookie_secret: String,
}

impl SignedIn {
    pub fn scope(&self) -> Scope {
        Scope {
            tenant_id: self.session.admin.tenant_id.clone(),
            actor: self.session.admin.actor(),
        }
    }

    pub fn csrf_token(&self) -> &str {
        &self.session.csrf_token
    }
}

async fn signed_in(parts: &Parts, state: &AppState) -> Result<SignedIn, AppError> {
    let secure = state.settings.secure_cookies();
    let secret = cookie_secret(&parts.headers, secure).ok_or(AppError::NotSignedIn)?;
    let session = state
        .identity
        .session(&secret)
        .await?
        .ok_or(AppError::NotSignedIn)?;
    Ok(SignedIn {
        session,
        cookie_secret: secret,
    })
}

impl<S> FromRequestParts<S> for SignedIn
where
    AppState: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = PageError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        Ok(signed_in(parts, &AppState::from_ref(state)).await?)
    }
}

/// A form posted by a signed-in admin whose CSRF token matched: the only way a page
/// handler receives a state-changing form.
pub struct Posted<T> {
    pub admin: SignedIn,
    pub form: T,
}

impl<S, T> FromRequest<S> for Posted<T>
where
    AppState: FromRef<S>,
    S: Send + Sync,
    T: DeserializeOwned,
{
    type Rejection = PageError;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        let (mut parts, body) = request.into_parts();
        let admin = SignedIn::from_request_parts(&mut parts, state).await?;
        let bytes = axum::body::to_bytes(body, FORM_MAX_BYTES)
            .await
            .map_err(|_| {
                AppError::InvalidInput(format!("forms are limited to {FORM_MAX_BYTES} bytes"))
            })?;
        let fields: Vec<(String, String)> = serde_urlencoded::from_bytes(&bytes)
            .map_err(|error| AppError::InvalidInput(format!("malformed form: {error}")))?;
        let presented = fields
            .iter()
            .find(|(name, _)| name == CSRF_FIELD)
            .map(|(_, value)| value.as_str())
            .unwrap_or_default();
        if !tokens_match(admin.csrf_token(), presented) {
            return Err(AppError::CsrfRejected.into());
        }
        let form = serde_urlencoded::from_bytes(&bytes)
            .map_err(|error| AppError::InvalidInput(format!("invalid form: {error}")))?;
        Ok(Self { admin, form })
    }
}

/// Forms carry names and short texts; anything larger is not from the console.
const FORM_MAX_BYTES: usize = 16 * 1024;

/// Who calls the API.
pub enum ApiCaller {
    /// An operator credential; recorded as its actor (`operator`, or `operator:<name>`).
    Operator(service_kit::admin_auth::Operator),
    Admin(SignedIn),
}

impl ApiCaller {
    /// The scope for a tenant named in the path: the operator may act in any tenant, an
    /// admin only in their own (another tenant is "not found", as if it did not exist).
    pub fn scope(&self, tenant_id: &str) -> Result<Scope, AppError> {
        match self {
            Self::Operator(operator) => Ok(Scope {
                tenant_id: tenant_id.to_owned(),
                actor: operator.actor(),
            }),
            Self::Admin(admin) if admin.session.admin.tenant_id == tenant_id => Ok(admin.scope()),
            Self::Admin(_) => Err(AppError::not_found(&format!("tenant {tenant_id}"))),
        }
    }

    pub fn require_operator(&self) -> Result<(), AppError> {
        match self {
            Self::Operator(_) => Ok(()),
            Self::Admin(_) => Err(AppError::OperatorOnly),
        }
    }
}

impl<S> FromRequestParts<S> for ApiCaller
where
    AppState: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let state = AppState::from_ref(state);
        if let Some(authorization) = parts.headers.get(header::AUTHORIZATION) {
            return match state.operator.identify(authorization.to_str().ok()) {
                Some(operator) => Ok(Self::Operator(operator)),
                None => Err(AppError::NotSignedIn),
            };
        }
        let admin = signed_in(parts, &state).await?;
        let safe = matches!(parts.method, Method::GET | Method::HEAD);
        if !safe {
            let presented = parts
                .headers
                .get(CSRF_HEADER)
                .and_then(|value| value.to_str().ok())
                .unwrap_or_default();
            if !tokens_match(admin.csrf_token(), presented) {
                return Err(AppError::CsrfRejected);
            }
        }
        Ok(Self::Admin(admin))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn the_session_cookie_is_found_among_others() {
        let mut headers = HeaderMap::new();
        headers.append(
            header::COOKIE,
            HeaderValue::from_static("a=1; scim_console=s3cret"),
        );
        assert_eq!(cookie_secret(&headers, false).as_deref(), Some("s3cret"));
        assert_eq!(
            cookie_secret(&headers, true),
            None,
            "the secure name differs"
        );
        headers.insert(header::COOKIE, HeaderValue::from_static("scim_console="));
        assert_eq!(cookie_secret(&headers, false), None);
    }

    #[test]
    fn cookies_are_http_only_same_site_and_secure_under_https() {
        let plain = session_cookie("x", false).unwrap();
        let plain = plain.to_str().unwrap();
        assert!(plain.contains("HttpOnly") && plain.contains("SameSite=Lax"));
        assert!(!plain.contains("Secure"));
        let secure = session_cookie("x", true).unwrap();
        let secure = secure.to_str().unwrap();
        assert!(secure.starts_with("__Host-") && secure.contains("; Secure"));
        assert!(cleared_cookie(true).to_str().unwrap().contains("Max-Age=0"));
    }

    #[test]
    fn csrf_tokens_must_match_exactly() {
        assert!(tokens_match("abc", "abc"));
        assert!(!tokens_match("abc", "abd"));
        assert!(!tokens_match("abc", ""));
    }
}
