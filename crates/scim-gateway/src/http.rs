//! SCIM-over-HTTP details: JSON bodies, ETags, list parameters, responses.

use axum::extract::{FromRequest, Request};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use scim_model::ScimError;
use serde_json::Value;

use crate::error::{ApiError, SCIM_CONTENT_TYPE};
use crate::state::AppState;

pub const LIST_RESPONSE_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:ListResponse";

/// A JSON request body, size-limited, answering SCIM errors (413
/// `PayloadTooLarge`, 400 `invalidSyntax`) instead of axum's plain text.
/// Both `application/scim+json` and `application/json` are accepted.
pub struct ScimBody(pub Value);

impl FromRequest<AppState> for ScimBody {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        read_json_object(request, state.config().max_body_bytes)
            .await
            .map(Self)
    }
}

/// A BulkRequest body: limited by the bulk `maxPayloadSize` advertised in
/// `/ServiceProviderConfig` rather than the per-resource body limit.
pub struct BulkBody(pub Value);

impl FromRequest<AppState> for BulkBody {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        read_json_object(request, state.config().bulk_max_payload_bytes)
            .await
            .map(Self)
    }
}

async fn read_json_object(request: Request, limit: usize) -> Result<Value, ApiError> {
    let declared = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.parse::<usize>().ok());
    if declared.is_some_and(|length| length > limit) {
        return Err(too_large(limit));
    }
    let bytes = axum::body::to_bytes(request.into_body(), limit)
        .await
        .map_err(|_| too_large(limit))?;
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(ScimError::InvalidSyntax("the request body is empty".into()).into());
    }
    let value: Value = serde_json::from_slice(&bytes).map_err(|error| {
        ScimError::InvalidSyntax(format!("the request body is not valid JSON: {error}"))
    })?;
    if !value.is_object() {
        return Err(
            ScimError::InvalidSyntax("the request body must be a JSON object".into()).into(),
        );
    }
    Ok(value)
}

fn too_large(limit: usize) -> ApiError {
    ApiError::PayloadTooLarge(format!(
        "the request body exceeds the limit of {limit} bytes"
    ))
}

pub fn etag(version: u64) -> String {
    format!("W/\"{version}\"")
}

/// The version named by `If-Match`, `None` when absent or `*`.
pub fn if_match(headers: &HeaderMap) -> Result<Option<u64>, ApiError> {
    parse_version_header(headers, header::IF_MATCH)
}

pub fn if_none_match(headers: &HeaderMap) -> Result<Option<u64>, ApiError> {
    parse_version_header(headers, header::IF_NONE_MATCH)
}

fn parse_version_header(
    headers: &HeaderMap,
    name: header::HeaderName,
) -> Result<Option<u64>, ApiError> {
    let Some(value) = headers.get(&name) else {
        return Ok(None);
    };
    let text = value
        .to_str()
        .map_err(|_| ScimError::InvalidValue(format!("{name} is not valid text")))?
        .trim();
    Ok(parse_etag(text))
}

/// The version in an entity tag (`W/"42"`, `"42"`), `None` for `*`. A tag we
/// never issued can match nothing: it becomes a version that never exists,
/// so writes answer 412 rather than a syntax error.
pub fn parse_etag(text: &str) -> Option<u64> {
    let text = text.trim();
    if text == "*" {
        return None;
    }
    let bare = text.strip_prefix("W/").unwrap_or(text).trim_matches('"');
    Some(bare.parse().unwrap_or(u64::MAX))
}

pub fn scim_json(
    status: StatusCode,
    body: &Value,
    version: Option<u64>,
    location: Option<&str>,
) -> Response {
    let mut response = (status, body.to_string()).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(SCIM_CONTENT_TYPE),
    );
    if let Some(version) = version
        && let Ok(value) = HeaderValue::from_str(&etag(version))
    {
        headers.insert(header::ETAG, value);
    }
    if let Some(location) = location
        && let Ok(value) = HeaderValue::from_str(location)
    {
        headers.insert(header::LOCATION, value);
    }
    response
}

pub fn no_content() -> Response {
    StatusCode::NO_CONTENT.into_response()
}

pub fn not_modified(version: u64) -> Response {
    let mut response = StatusCode::NOT_MODIFIED.into_response();
    if let Ok(value) = HeaderValue::from_str(&etag(version)) {
        response.headers_mut().insert(header::ETAG, value);
    }
    response.into_response()
}

/// List parameters, from the query string (GET) or a SearchRequest body
/// (POST .search). Names are matched case-insensitively, as IdPs vary.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ListRequest {
    pub filter: Option<String>,
    /// RFC 9865: `Some("")` asks for the first page in cursor mode.
    pub cursor: Option<String>,
    pub start_index: Option<u64>,
    pub count: Option<u64>,
    pub sort_by: Option<String>,
    pub sort_descending: bool,
    pub attributes: Vec<String>,
    pub excluded_attributes: Vec<String>,
}

impl ListRequest {
    pub fn from_query(pairs: &[(String, String)]) -> Result<Self, ApiError> {
        let mut request = Self::default();
        for (name, value) in pairs {
            request.set(name, Value::String(value.clone()))?;
        }
        request.check_limits()?;
        Ok(request)
    }

    pub fn from_search_body(body: &Value) -> Result<Self, ApiError> {
        let mut request = Self::default();
        if let Some(object) = body.as_object() {
            for (name, value) in object {
                if name.eq_ignore_ascii_case("schemas") {
                    continue;
                }
                request.set(name, value.clone())?;
            }
        }
        request.check_limits()?;
        Ok(request)
    }

    /// The limits of `scim_model::limits` that apply to list parameters. The filter's own
    /// limits (length, depth, terms) are enforced by its parser, wherever it is parsed.
    fn check_limits(&self) -> Result<(), ApiError> {
        use scim_model::limits;
        if let Some(sort_by) = &self.sort_by {
            limits::check_path("sortBy", sort_by)?;
        }
        limits::check_attribute_list("attributes", &self.attributes)?;
        limits::check_attribute_list("excludedAttributes", &self.excluded_attributes)?;
        if self
            .start_index
            .is_some_and(|start| start > limits::MAX_START_INDEX)
        {
            return Err(ScimError::InvalidValue(format!(
                "startIndex must be at most {}",
                limits::MAX_START_INDEX
            ))
            .into());
        }
        if let Some(cursor) = &self.cursor
            && (cursor.len() > limits::MAX_CURSOR_BYTES || !cursor.is_ascii())
        {
            return Err(ScimError::InvalidCursor(format!(
                "a cursor is at most {} ASCII characters; this one was not issued by this server",
                limits::MAX_CURSOR_BYTES
            ))
            .into());
        }
        Ok(())
    }

    fn set(&mut self, name: &str, value: Value) -> Result<(), ApiError> {
        let text = || match &value {
            Value::String(text) => text.clone(),
            other => other.to_string(),
        };
        let list = || -> Vec<String> {
            match &value {
                Value::Array(items) => items
                    .iter()
                    .filter_map(|item| item.as_str().map(str::to_owned))
                    .collect(),
                _ => text()
                    .split(',')
                    .map(|part| part.trim().to_owned())
                    .filter(|p| !p.is_empty())
                    .collect(),
            }
        };
        match name.to_ascii_lowercase().as_str() {
            "filter" => self.filter = Some(text()),
            "cursor" => self.cursor = Some(text()),
            "startindex" => self.start_index = Some(parse_number(name, &text())?),
            "count" => self.count = Some(parse_number(name, &text())?),
            "sortby" => self.sort_by = Some(text()),
            "sortorder" => {
                self.sort_descending = match text().to_ascii_lowercase().as_str() {
                    "ascending" => false,
                    "descending" => true,
                    other => {
                        return Err(ScimError::InvalidValue(format!(
                            "sortOrder must be ascending or descending, not {other:?}"
                        ))
                        .into());
                    }
                }
            }
            "attributes" => self.attributes = list(),
            "excludedattributes" => self.excluded_attributes = list(),
            _ => {}
        }
        Ok(())
    }
}

fn parse_number(name: &str, text: &str) -> Result<u64, ApiError> {
    // RFC 7644 §3.4.2.4: a startIndex below 1 is read as 1, a negative count as 0.
    let text = text.trim();
    match text.parse::<i64>() {
        Ok(number) => Ok(u64::try_from(number).unwrap_or(0)),
        // Past i64: a positive one is simply too large (a count is clamped later, a
        // startIndex refused by its limit); a negative one is read as 0 like any other.
        Err(_) if !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()) => Ok(u64::MAX),
        Err(_)
            if text.len() > 1
                && text.starts_with('-')
                && text[1..].bytes().all(|b| b.is_ascii_digit()) =>
        {
            Ok(0)
        }
        Err(_) => Err(ScimError::InvalidValue(format!(
            "{name} must be an integer, got {}",
            scim_model::limits::quoted_prefix(text)
        ))
        .into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn etags_parse_weak_strong_and_wildcard() {
        let mut headers = HeaderMap::new();
        headers.insert(header::IF_MATCH, HeaderValue::from_static("W/\"42\""));
        assert_eq!(if_match(&headers).unwrap(), Some(42));
        headers.insert(header::IF_MATCH, HeaderValue::from_static("\"7\""));
        assert_eq!(if_match(&headers).unwrap(), Some(7));
        headers.insert(header::IF_MATCH, HeaderValue::from_static("*"));
        assert_eq!(if_match(&headers).unwrap(), None);
        headers.insert(header::IF_MATCH, HeaderValue::from_static("W/\"abc\""));
        assert_eq!(if_match(&headers).unwrap(), Some(u64::MAX));
    }

    #[test]
    fn list_parameters_are_case_insensitive_and_clamped() {
        let pairs = vec![
            ("Filter".to_owned(), "userName eq \"a\"".to_owned()),
            ("startIndex".to_owned(), "0".to_owned()),
            ("COUNT".to_owned(), "-5".to_owned()),
            ("sortOrder".to_owned(), "Descending".to_owned()),
            ("attributes".to_owned(), "userName, emails".to_owned()),
        ];
        let request = ListRequest::from_query(&pairs).unwrap();
        assert_eq!(request.filter.as_deref(), Some("userName eq \"a\""));
        assert_eq!(request.start_index, Some(0));
        assert_eq!(request.count, Some(0));
        assert!(request.sort_descending);
        assert_eq!(request.attributes, vec!["userName", "emails"]);
        assert!(ListRequest::from_query(&[("count".into(), "ten".into())]).is_err());
    }

    #[test]
    fn search_bodies_take_json_numbers_and_arrays() {
        let body = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"],
                          "filter": "active eq true", "startIndex": 3, "count": 2,
                          "attributes": ["userName"]});
        let request = ListRequest::from_search_body(&body).unwrap();
        assert_eq!(request.start_index, Some(3));
        assert_eq!(request.count, Some(2));
        assert_eq!(request.attributes, vec!["userName"]);
    }
}
