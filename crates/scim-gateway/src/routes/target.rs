//! What every single-resource handler (`/Users/{id}`, `/Groups/{id}`) reads
//! from the request, extracted once: a plausible id, the conditional-request
//! versions and the attribute selection. Request parsing only: rendering and
//! listing depend on it, never the other way round.

use std::marker::PhantomData;

use axum::extract::{FromRequestParts, Path, Query};
use axum::http::request::Parts;

use scim_model::ScimError;

use super::resource_type::{GROUPS, ResourceType, USERS};
use crate::error::ApiError;
use crate::http::{ListRequest, if_match, if_none_match};

/// The resource type a handler serves, as a type, so the extractor knows it.
pub trait TargetType {
    const TYPE: ResourceType;
}

pub struct UserResource;
pub struct GroupResource;

impl TargetType for UserResource {
    const TYPE: ResourceType = USERS;
}

impl TargetType for GroupResource {
    const TYPE: ResourceType = GROUPS;
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

impl<R: TargetType, S: Send + Sync> FromRequestParts<S> for Target<R> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let Path(id) = Path::<String>::from_request_parts(parts, state)
            .await
            .map_err(|_| ApiError::NotFound(format!("{} not found", R::TYPE.name)))?;
        // Ids are ours (UUIDs): anything else could only reach a subject or an index.
        if !scim_model::limits::is_valid_id(&id) {
            return Err(ScimError::InvalidPath(format!(
                "{} id {} is not a resource id: ids are 1 to {} characters of A-Z, a-z, 0-9, \
                 '-' and '_'",
                R::TYPE.name,
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

#[derive(Debug, Clone, Default)]
pub struct Selection {
    pub attributes: Vec<String>,
    pub excluded: Vec<String>,
}

impl Selection {
    pub fn from_list(request: &ListRequest) -> Self {
        Self {
            attributes: request.attributes.clone(),
            excluded: request.excluded_attributes.clone(),
        }
    }

    pub fn from_query(pairs: &[(String, String)]) -> Result<Self, ApiError> {
        ListRequest::from_query(pairs).map(|request| Self::from_list(&request))
    }

    /// Whether group members can be left out of the directory query.
    pub fn excludes_members(&self) -> bool {
        names_members(&self.excluded)
            || (!self.attributes.is_empty() && !names_members(&self.attributes))
    }

    /// Whether the client asked for `members` explicitly.
    pub fn names_members(&self) -> bool {
        names_members(&self.attributes)
    }
}

fn names_members(list: &[String]) -> bool {
    list.iter().any(|attribute| {
        attribute.eq_ignore_ascii_case("members")
            || attribute
                .get(..8)
                .is_some_and(|prefix| prefix.eq_ignore_ascii_case("members."))
    })
}
