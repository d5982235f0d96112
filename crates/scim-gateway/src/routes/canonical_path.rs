//! Request paths as IdPs write them, mapped to the routes' spelling before
//! routing: resource-type segments in any case (`/users`) and a trailing
//! slash (`/Users/?filter=…`, as Microsoft's validation collection sends)
//! reach the same handler as the canonical path. Pre-RFC endpoint names
//! that IdP test suites still call (`/serviceConfiguration`, in Microsoft's
//! `PostmanCollection.json`) are aliases of their RFC 7644 names.

use axum::extract::Request;
use axum::http::Uri;
use axum::http::uri::PathAndQuery;

const BASE: &str = "/scim/v2";

/// Endpoint names under the base path, in the spelling the router uses.
const ENDPOINTS: [&str; 7] = [
    "Users",
    "Groups",
    "Bulk",
    "Schemas",
    "ResourceTypes",
    "ServiceProviderConfig",
    ".search",
];

/// Pre-RFC names of endpoints (draft-ietf-scim-api), and the RFC 7644 name each stands for.
const ALIASES: [(&str, &str); 1] = [("serviceConfiguration", "ServiceProviderConfig")];

/// The canonical spelling of `path`, or `None` when it already is canonical.
pub fn canonical_path(path: &str) -> Option<String> {
    let rest = path.strip_prefix(BASE)?;
    let trimmed = rest.trim_end_matches('/');
    let mut segments: Vec<&str> = trimmed.split('/').collect();
    // segments[0] is the empty string before the first '/'.
    if let Some(endpoint) = segments.get_mut(1)
        && let Some((_, canonical)) = ENDPOINTS
            .iter()
            .map(|name| (name, name))
            .chain(ALIASES.iter().map(|(alias, name)| (alias, name)))
            .find(|(spelling, _)| spelling.eq_ignore_ascii_case(endpoint))
    {
        *endpoint = canonical;
    }
    // `.search` after a resource type is also a fixed name.
    if let Some(segment) = segments.get_mut(2)
        && segment.eq_ignore_ascii_case(".search")
    {
        *segment = ".search";
    }
    let canonical = format!("{BASE}{}", segments.join("/"));
    (canonical != path && !trimmed.is_empty()).then_some(canonical)
}

/// Rewrites the request URI to the canonical path, keeping the query.
pub fn canonicalize(mut request: Request) -> Request {
    let Some(path) = canonical_path(request.uri().path()) else {
        return request;
    };
    let path_and_query = match request.uri().query() {
        Some(query) => format!("{path}?{query}"),
        None => path,
    };
    if let Ok(path_and_query) = PathAndQuery::try_from(path_and_query) {
        let mut parts = request.uri().clone().into_parts();
        parts.path_and_query = Some(path_and_query);
        if let Ok(uri) = Uri::from_parts(parts) {
            *request.uri_mut() = uri;
        }
    }
    request
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoint_names_are_case_insensitive_and_trailing_slashes_ignored() {
        assert_eq!(
            canonical_path("/scim/v2/users").as_deref(),
            Some("/scim/v2/Users")
        );
        assert_eq!(
            canonical_path("/scim/v2/Users/").as_deref(),
            Some("/scim/v2/Users")
        );
        assert_eq!(
            canonical_path("/scim/v2/groups/abc/").as_deref(),
            Some("/scim/v2/Groups/abc")
        );
        assert_eq!(
            canonical_path("/scim/v2/USERS/.SEARCH").as_deref(),
            Some("/scim/v2/Users/.search")
        );
        assert_eq!(
            canonical_path("/scim/v2/serviceproviderconfig").as_deref(),
            Some("/scim/v2/ServiceProviderConfig")
        );
    }

    #[test]
    fn pre_rfc_endpoint_names_reach_their_rfc_routes() {
        assert_eq!(
            canonical_path("/scim/v2/serviceConfiguration").as_deref(),
            Some("/scim/v2/ServiceProviderConfig")
        );
        assert_eq!(
            canonical_path("/scim/v2/ServiceConfiguration/").as_deref(),
            Some("/scim/v2/ServiceProviderConfig")
        );
    }

    #[test]
    fn canonical_and_foreign_paths_are_left_alone() {
        assert_eq!(canonical_path("/scim/v2/Users"), None);
        assert_eq!(canonical_path("/scim/v2/Users/AbC-123"), None);
        assert_eq!(canonical_path("/healthz"), None);
        assert_eq!(canonical_path("/scim/v2"), None);
        assert_eq!(canonical_path("/scim/v2/"), None);
        assert_eq!(canonical_path("/scim/v2/Widgets"), None);
    }

    #[test]
    fn the_query_survives_the_rewrite() {
        let request = Request::builder()
            .uri("/scim/v2/users/?filter=userName%20eq%20%22a%22")
            .body(axum::body::Body::empty())
            .unwrap();
        let request = canonicalize(request);
        assert_eq!(
            request.uri().to_string(),
            "/scim/v2/Users?filter=userName%20eq%20%22a%22"
        );
    }
}
