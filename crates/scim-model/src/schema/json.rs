//! Discovery documents: `/Schemas`, `/ResourceTypes`, `/ServiceProviderConfig` (RFC 7643 §5–§7,
//! RFC 9865 for the pagination block).

use serde_json::{Map, Value, json};

use super::{
    AttrType, AttributeDef, LIST_RESPONSE_SCHEMA, Mutability, RESOURCE_TYPE_SCHEMA, ResourceSchema,
    Returned, SCHEMA_SCHEMA, SERVICE_PROVIDER_CONFIG_SCHEMA, SchemaDef, Uniqueness, group, user,
};

/// Limits advertised in `/ServiceProviderConfig`; the gateway enforces the same values.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceLimits {
    pub max_results: u32,
    /// Page size when a client sends no `count` (capped at `max_results`).
    pub default_page_size: u32,
    pub bulk_max_operations: u32,
    pub bulk_max_payload_bytes: u64,
    pub bulk_supported: bool,
    pub sort_supported: bool,
    pub etag_supported: bool,
}

impl ServiceLimits {
    pub fn default_page_size(&self) -> u32 {
        self.default_page_size.min(self.max_results)
    }
}

impl Default for ServiceLimits {
    fn default() -> Self {
        ServiceLimits {
            max_results: 1000,
            default_page_size: 100,
            bulk_max_operations: 1000,
            bulk_max_payload_bytes: 1_048_576,
            bulk_supported: true,
            sort_supported: true,
            etag_supported: true,
        }
    }
}

impl AttrType {
    pub fn as_str(self) -> &'static str {
        match self {
            AttrType::String => "string",
            AttrType::Boolean => "boolean",
            AttrType::Decimal => "decimal",
            AttrType::Integer => "integer",
            AttrType::DateTime => "dateTime",
            AttrType::Binary => "binary",
            AttrType::Reference => "reference",
            AttrType::Complex => "complex",
        }
    }
}

impl Mutability {
    pub fn as_str(self) -> &'static str {
        match self {
            Mutability::ReadOnly => "readOnly",
            Mutability::ReadWrite => "readWrite",
            Mutability::Immutable => "immutable",
            Mutability::WriteOnly => "writeOnly",
        }
    }
}

impl Returned {
    pub fn as_str(self) -> &'static str {
        match self {
            Returned::Always => "always",
            Returned::Never => "never",
            Returned::Default => "default",
            Returned::Request => "request",
        }
    }
}

impl Uniqueness {
    pub fn as_str(self) -> &'static str {
        match self {
            Uniqueness::None => "none",
            Uniqueness::Server => "server",
            Uniqueness::Global => "global",
        }
    }
}

impl AttributeDef {
    /// RFC 7643 §7 representation; Entra rejects nulls here, so absent lists are omitted.
    pub fn to_json(&self) -> Value {
        let mut m = Map::new();
        m.insert("name".into(), self.name.clone().into());
        m.insert("type".into(), self.type_.as_str().into());
        m.insert("multiValued".into(), self.multi_valued.into());
        m.insert("description".into(), self.description.clone().into());
        m.insert("required".into(), self.required.into());
        m.insert("caseExact".into(), self.case_exact.into());
        if !self.canonical_values.is_empty() {
            m.insert("canonicalValues".into(), json!(self.canonical_values));
        }
        if !self.reference_types.is_empty() {
            m.insert("referenceTypes".into(), json!(self.reference_types));
        }
        m.insert("mutability".into(), self.mutability.as_str().into());
        m.insert("returned".into(), self.returned.as_str().into());
        m.insert("uniqueness".into(), self.uniqueness.as_str().into());
        if !self.sub_attributes.is_empty() {
            let subs: Vec<Value> = self
                .sub_attributes
                .iter()
                .map(AttributeDef::to_json)
                .collect();
            m.insert("subAttributes".into(), subs.into());
        }
        Value::Object(m)
    }
}

impl SchemaDef {
    /// The schema document, listing `extra` after the schema's own attributes.
    fn to_json_with<'a>(&'a self, extra: impl Iterator<Item = &'a AttributeDef>) -> Value {
        json!({
            "schemas": [SCHEMA_SCHEMA],
            "id": self.id,
            "name": self.name,
            "description": self.description,
            "attributes": self
                .attributes
                .iter()
                .chain(extra)
                .map(AttributeDef::to_json)
                .collect::<Vec<_>>(),
            "meta": {"resourceType": "Schema", "location": format!("/Schemas/{}", self.id)},
        })
    }
}

/// Every published schema document: User, EnterpriseUser, Group.
///
/// RFC 7643 §8.7.1 leaves the common attributes out of the core schemas. Microsoft's gallery
/// "SCIM validation" requires every mapped attribute, `externalId` included, to be
/// discoverable in `/Schemas`, so each core schema also lists `id`, `externalId` and `meta`
/// with their §3.1 characteristics. `meta` is listed, and served, as returned `always`: a
/// client that builds its types from `/Schemas` (python-scim's scim2-client) otherwise fills
/// the `meta` a partial read (`attributes=`) lacks with a type of its own, which its
/// generated resource type then refuses. `schemas` is not an attribute in §3.1 terms.
const PUBLISHED_COMMON: [&str; 3] = ["id", "externalId", "meta"];

fn published_schemas() -> impl Iterator<Item = Value> {
    [user(), group()].into_iter().flat_map(|r| {
        let common = r
            .common
            .iter()
            .filter(|a| PUBLISHED_COMMON.contains(&a.name.as_str()));
        std::iter::once(r.core.to_json_with(common)).chain(
            r.extensions
                .iter()
                .map(|e| e.schema.to_json_with(std::iter::empty())),
        )
    })
}

/// A ListResponse wrapping every element (discovery endpoints do not paginate).
pub(crate) fn list_response(resources: Vec<Value>) -> Value {
    json!({
        "schemas": [LIST_RESPONSE_SCHEMA],
        "totalResults": resources.len(),
        "itemsPerPage": resources.len(),
        "startIndex": 1,
        "Resources": resources,
    })
}

/// `GET /Schemas`: User, EnterpriseUser and Group.
pub fn schemas_json() -> Value {
    list_response(published_schemas().collect())
}

/// `GET /Schemas/<urn>` (URN matched case-insensitively).
pub fn schema_json(urn: &str) -> Option<Value> {
    published_schemas().find(|s| {
        s["id"]
            .as_str()
            .is_some_and(|id| id.eq_ignore_ascii_case(urn))
    })
}

fn base(base_url: &str) -> &str {
    base_url.trim_end_matches('/')
}

impl ResourceSchema {
    pub fn resource_type_json(&self, base_url: &str) -> Value {
        let mut v = json!({
            "schemas": [RESOURCE_TYPE_SCHEMA],
            "id": self.name,
            "name": self.name,
            "endpoint": self.endpoint,
            "description": self.description,
            "schema": self.core.id,
            "meta": {
                "resourceType": "ResourceType",
                "location": format!("{}/ResourceTypes/{}", base(base_url), self.name),
            },
        });
        if !self.extensions.is_empty() {
            let exts: Vec<Value> = self
                .extensions
                .iter()
                .map(|e| json!({"schema": e.schema.id, "required": e.required}))
                .collect();
            if let Some(obj) = v.as_object_mut() {
                obj.insert("schemaExtensions".into(), exts.into());
            }
        }
        v
    }
}

/// `GET /ResourceTypes`.
pub fn resource_types_json(base_url: &str) -> Value {
    list_response(vec![
        user().resource_type_json(base_url),
        group().resource_type_json(base_url),
    ])
}

/// `GET /ResourceTypes/<name>` (`User` or `Group`, case-insensitive).
pub fn resource_type_json(base_url: &str, name: &str) -> Option<Value> {
    [user(), group()]
        .into_iter()
        .find(|r| r.name.eq_ignore_ascii_case(name))
        .map(|r| r.resource_type_json(base_url))
}

/// `GET /ServiceProviderConfig`.
pub fn service_provider_config_json(base_url: &str, limits: &ServiceLimits) -> Value {
    json!({
        "schemas": [SERVICE_PROVIDER_CONFIG_SCHEMA],
        "documentationUri": "https://datatracker.ietf.org/doc/html/rfc7644",
        "patch": {"supported": true},
        "bulk": {
            "supported": limits.bulk_supported,
            "maxOperations": limits.bulk_max_operations,
            "maxPayloadSize": limits.bulk_max_payload_bytes,
        },
        "filter": {"supported": true, "maxResults": limits.max_results},
        "changePassword": {"supported": false},
        "sort": {"supported": limits.sort_supported},
        "etag": {"supported": limits.etag_supported},
        "authenticationSchemes": [{
            "type": "oauthbearertoken",
            "name": "OAuth Bearer Token",
            "description": "Authentication scheme using the OAuth Bearer Token Standard",
            "specUri": "https://www.rfc-editor.org/info/rfc6750",
            "primary": true,
        }],
        "pagination": {
            "cursor": true,
            "index": true,
            "defaultPaginationMethod": "index",
            "defaultPageSize": limits.default_page_size(),
            "maxPageSize": limits.max_results,
            "cursorTimeout": 3600,
        },
        "meta": {
            "resourceType": "ServiceProviderConfig",
            "location": format!("{}/ServiceProviderConfig", base(base_url)),
        },
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic)]
mod tests {
    use super::*;
    use crate::schema::{ENTERPRISE_USER_SCHEMA, GROUP_SCHEMA, USER_SCHEMA};

    #[test]
    fn schemas_list() {
        let v = schemas_json();
        assert_eq!(v["totalResults"], 3);
        let ids: Vec<&str> = v["Resources"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["id"].as_str().unwrap())
            .collect();
        assert_eq!(ids, [USER_SCHEMA, ENTERPRISE_USER_SCHEMA, GROUP_SCHEMA]);
        let user = &v["Resources"][0];
        assert_eq!(user["meta"]["resourceType"], "Schema");
        assert_eq!(user["meta"]["location"], format!("/Schemas/{USER_SCHEMA}"));
        let user_name = &user["attributes"][0];
        assert_eq!(user_name["name"], "userName");
        assert_eq!(user_name["uniqueness"], "server");
        assert_eq!(user_name["required"], true);
        let emails = user["attributes"]
            .as_array()
            .unwrap()
            .iter()
            .find(|a| a["name"] == "emails")
            .unwrap();
        assert_eq!(emails["multiValued"], true);
        assert_eq!(
            emails["subAttributes"][2]["canonicalValues"],
            json!(["work", "home", "other"])
        );
        assert!(!v.to_string().contains("null"));
    }

    #[test]
    fn core_schemas_list_the_common_attributes_and_extensions_do_not() {
        let v = schemas_json();
        let names = |index: usize| -> Vec<String> {
            v["Resources"][index]["attributes"]
                .as_array()
                .unwrap()
                .iter()
                .map(|a| a["name"].as_str().unwrap().to_owned())
                .collect()
        };
        for core in [0, 2] {
            let names = names(core);
            for common in ["id", "externalId", "meta"] {
                assert_eq!(
                    names.iter().filter(|n| *n == common).count(),
                    1,
                    "{common} in {names:?}"
                );
            }
            assert!(!names.iter().any(|n| n == "schemas"), "{names:?}");
        }
        assert!(
            !names(1)
                .iter()
                .any(|n| n == "externalId" || n == "id" || n == "meta")
        );
        let group = schema_json(GROUP_SCHEMA).unwrap();
        let attribute = |name: &str| {
            group["attributes"]
                .as_array()
                .unwrap()
                .iter()
                .find(|a| a["name"] == name)
                .unwrap()
                .clone()
        };
        assert_eq!(attribute("id")["mutability"], "readOnly");
        assert_eq!(attribute("id")["returned"], "always");
        assert_eq!(attribute("id")["caseExact"], true);
        assert_eq!(attribute("externalId")["mutability"], "readWrite");
        assert_eq!(attribute("externalId")["caseExact"], true);
        let meta = attribute("meta");
        assert_eq!(meta["mutability"], "readOnly");
        assert_eq!(meta["returned"], "always");
        let subs: Vec<&str> = meta["subAttributes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| {
                assert_eq!(a["mutability"], "readOnly");
                assert_eq!(a["returned"], "default");
                a["name"].as_str().unwrap()
            })
            .collect();
        assert_eq!(
            subs,
            [
                "resourceType",
                "created",
                "lastModified",
                "location",
                "version"
            ]
        );
    }

    #[test]
    fn single_schema_lookup() {
        assert!(schema_json("URN:IETF:PARAMS:SCIM:SCHEMAS:CORE:2.0:GROUP").is_some());
        assert!(schema_json("urn:nope").is_none());
    }

    #[test]
    fn resource_types() {
        let v = resource_types_json("https://x.example/scim/v2/");
        let u = &v["Resources"][0];
        assert_eq!(u["endpoint"], "/Users");
        assert_eq!(u["schemaExtensions"][0]["schema"], ENTERPRISE_USER_SCHEMA);
        assert_eq!(u["schemaExtensions"][0]["required"], false);
        assert_eq!(
            u["meta"]["location"],
            "https://x.example/scim/v2/ResourceTypes/User"
        );
        assert!(v["Resources"][1].get("schemaExtensions").is_none());
        assert!(resource_type_json("https://x", "group").is_some());
        assert!(resource_type_json("https://x", "Device").is_none());
    }

    #[test]
    fn service_provider_config() {
        let limits = ServiceLimits {
            max_results: 50,
            ..ServiceLimits::default()
        };
        let v = service_provider_config_json("https://x/scim/v2", &limits);
        assert_eq!(v["filter"]["maxResults"], 50);
        assert_eq!(v["changePassword"]["supported"], false);
        assert_eq!(v["authenticationSchemes"][0]["type"], "oauthbearertoken");
        assert_eq!(v["pagination"]["defaultPageSize"], 50);
        assert_eq!(v["pagination"]["cursorTimeout"], 3600);
        assert_eq!(
            v["meta"]["location"],
            "https://x/scim/v2/ServiceProviderConfig"
        );
    }
}
