//! What every single-resource handler (`/Users/{id}`, `/Groups/{id}`) reads
//! from the request, extracted once: a plausible id, the conditional-request
//! versions and the attribute selection.

use std::marker::PhantomData;

use axum::extract::{FromRequestParts, Path, Query};
use axum::http::request::Parts;

use scim_model::ScimError;

use super::render::Selection;
use crate::error::ApiError;
use crate::http::{if_match, if_none_match};

/// Names the resource type in "not found" answers.
pub trait ResourceName {
    const NAME: &'static str;
}

pub struct UserResource;
pub struct GroupResource;

impl ResourceName for UserResource {
    const NAME: &'static str = "User";
}

impl ResourceName for GroupResource {
    const NAME: &'static str = "Group";
}

pub struct Target<R> {
    pub id: String,
    /// `If-Match`: the version a write expects (`None` for absent or `*`).
    pub if_match: Option<u64>,
    /// `If-None-Match`: the version a read already has.
    pub if_none_match: Option<u64>,
    pub selection: Selection,
    resource: PhantomData<R>,
}

impl<R: ResourceName, S: Send + Sync> FromRequestParts<S> for Target<R> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let Path(id) = Path::<String>::from_request_parts(parts, state)
            .await
            .map_err(|_| ApiError::NotFound(format!("{} not found", R::NAME)))?;
        // Ids are ours (UUIDs): anything else could only reach a subject or an index.
        if !scim_model::limits::is_valid_id(&id) {
            return Err(ScimError::InvalidPath(format!(
                "{} id {} is not a resource id: ids are 1 to {} characters of A-Z, a-z, 0-9, \
                 '-' and '_'",
                R::NAME,
                scim_model::limits::quoted_prefix(&id),
                scim_model::limits::MAX_ID_BYTES
            ))
            .into());
        }
        let pairs = Query::<Vec<(String, String)>>::try_from_uri(&parts.uri)
            .map(|Query(pairs)| pairs)
            .unwrap_or_default();
        Ok(Self {
            if_match: if_match(&parts.headers)?,
            if_none_match: if_none_match(&parts.headers)?,
            selection: Selection::from_query(&pairs)?,
            id,
            resource: PhantomData,
        })
    }
}
