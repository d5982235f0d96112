//! What every single-resource handler (`/Users/{id}`, `/Groups/{id}`) reads
//! from the request, extracted once: a plausible id, the conditional-request
//! versions and the attribute selection.

use std::marker::PhantomData;

use axum::extract::{FromRequestParts, Path, Query};
use axum::http::request::Parts;

use super::render::{Selection, is_plausible_id};
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
        let not_found = |id: &str| ApiError::NotFound(format!("{} {id} not found", R::NAME));
        let Path(id) = Path::<String>::from_request_parts(parts, state)
            .await
            .map_err(|_| not_found(""))?;
        // Anything but an id we could have issued cannot exist.
        if !is_plausible_id(&id) {
            return Err(not_found(&id));
        }
        let pairs = Query::<Vec<(String, String)>>::try_from_uri(&parts.uri)
            .map(|Query(pairs)| pairs)
            .unwrap_or_default();
        Ok(Self {
            if_match: if_match(&parts.headers)?,
            if_none_match: if_none_match(&parts.headers)?,
            selection: Selection::from_query(&pairs),
            id,
            resource: PhantomData,
        })
    }
}
