//! Schemas as data (RFC 7643 §2, §7), with case-insensitive attribute resolution.

mod defs;
mod json;

use std::sync::LazyLock;

pub use json::{
    ServiceLimits, resource_type_json, resource_types_json, schema_json, schemas_json,
    service_provider_config_json,
};

use crate::path::AttrPath;

// Re-exported so `schema::USER_SCHEMA` and friends keep working for callers.
pub use crate::urn::{
    BULK_REQUEST_SCHEMA, BULK_RESPONSE_SCHEMA, ENTERPRISE_USER_SCHEMA, ERROR_SCHEMA, GROUP_SCHEMA,
    LIST_RESPONSE_SCHEMA, PATCH_OP_SCHEMA, RESOURCE_TYPE_SCHEMA, SCHEMA_SCHEMA,
    SEARCH_REQUEST_SCHEMA, SERVICE_PROVIDER_CONFIG_SCHEMA, USER_SCHEMA, known_schema_urn,
};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AttrType {
    String,
    Boolean,
    Decimal,
    Integer,
    DateTime,
    Binary,
    Reference,
    Complex,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mutability {
    ReadOnly,
    ReadWrite,
    Immutable,
    WriteOnly,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Returned {
    Always,
    Never,
    Default,
    Request,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Uniqueness {
    None,
    Server,
    Global,
}

/// One attribute definition with all RFC 7643 §2.2 characteristics.
#[derive(Debug, Clone, PartialEq)]
pub struct AttributeDef {
    pub name: String,
    pub type_: AttrType,
    pub multi_valued: bool,
    pub required: bool,
    pub case_exact: bool,
    pub mutability: Mutability,
    pub returned: Returned,
    pub uniqueness: Uniqueness,
    pub canonical_values: Vec<String>,
    pub reference_types: Vec<String>,
    pub sub_attributes: Vec<AttributeDef>,
    pub description: String,
}

impl AttributeDef {
    /// An attribute with the RFC 7643 §2.2 defaults (single-valued, optional, case-insensitive,
    /// readWrite, returned by default, no uniqueness).
    pub fn new(name: &str, type_: AttrType) -> Self {
        AttributeDef {
            name: name.to_string(),
            type_,
            multi_valued: false,
            required: false,
            case_exact: false,
            mutability: Mutability::ReadWrite,
            returned: Returned::Default,
            uniqueness: Uniqueness::None,
            canonical_values: Vec::new(),
            reference_types: Vec::new(),
            sub_attributes: Vec::new(),
            description: String::new(),
        }
    }
    pub fn multi_valued(mut self) -> Self {
        self.multi_valued = true;
        self
    }
    pub fn required(mut self) -> Self {
        self.required = true;
        self
    }
    pub fn case_exact(mut self) -> Self {
        self.case_exact = true;
        self
    }
    pub fn mutability(mut self, m: Mutability) -> Self {
        self.mutability = m;
        self
    }
    pub fn returned(mut self, r: Returned) -> Self {
        self.returned = r;
        self
    }
    pub fn uniqueness(mut self, u: Uniqueness) -> Self {
        self.uniqueness = u;
        self
    }
    pub fn canonical_values(mut self, values: &[&str]) -> Self {
        self.canonical_values = values.iter().map(|s| s.to_string()).collect();
        self
    }
    pub fn reference_types(mut self, types: &[&str]) -> Self {
        self.reference_types = types.iter().map(|s| s.to_string()).collect();
        self
    }
    pub fn sub_attributes(mut self, subs: Vec<AttributeDef>) -> Self {
        self.sub_attributes = subs;
        self
    }
    pub fn description(mut self, d: &str) -> Self {
        self.description = d.to_string();
        self
    }

    pub fn is_complex(&self) -> bool {
        self.type_ == AttrType::Complex
    }

    /// Case-insensitive sub-attribute lookup.
    pub fn sub_attribute(&self, name: &str) -> Option<&AttributeDef> {
        find_attr(&self.sub_attributes, name)
    }
}

/// One schema (core or extension) as published at `/Schemas`.
#[derive(Debug, Clone, PartialEq)]
pub struct SchemaDef {
    pub id: String,
    pub name: String,
    pub description: String,
    pub attributes: Vec<AttributeDef>,
}

impl SchemaDef {
    pub fn attribute(&self, name: &str) -> Option<&AttributeDef> {
        find_attr(&self.attributes, name)
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct SchemaExtension {
    pub schema: SchemaDef,
    pub required: bool,
}

/// A resource type: its core schema, extensions and the common attributes (RFC 7643 §3.1).
#[derive(Debug, Clone, PartialEq)]
pub struct ResourceSchema {
    pub name: String,
    pub endpoint: String,
    pub description: String,
    pub core: SchemaDef,
    pub extensions: Vec<SchemaExtension>,
    /// `id`, `externalId`, `meta`: not part of any schema's published attributes.
    pub common: Vec<AttributeDef>,
}

/// Where an attribute path lands in a resource.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ResolvedAttr<'a> {
    /// `None`: a top-level (core or common) attribute; `Some(urn)`: inside that extension
    /// object, keyed by the canonical URN.
    pub extension: Option<&'a str>,
    pub attribute: &'a AttributeDef,
    pub sub_attribute: Option<&'a AttributeDef>,
}

impl<'a> ResolvedAttr<'a> {
    /// The definition of the innermost attribute named by the path.
    pub fn target(&self) -> &'a AttributeDef {
        self.sub_attribute.unwrap_or(self.attribute)
    }
}

static USER: LazyLock<ResourceSchema> = LazyLock::new(defs::user_resource);
static GROUP: LazyLock<ResourceSchema> = LazyLock::new(defs::group_resource);

pub fn user() -> &'static ResourceSchema {
    &USER
}

pub fn group() -> &'static ResourceSchema {
    &GROUP
}

impl ResourceSchema {
    /// The extension schema with this URN (case-insensitive).
    pub fn extension(&self, urn: &str) -> Option<&SchemaExtension> {
        self.extensions
            .iter()
            .find(|e| e.schema.id.eq_ignore_ascii_case(urn))
    }

    /// A core or common attribute by name.
    pub fn top_level_attribute(&self, name: &str) -> Option<&AttributeDef> {
        find_attr(&self.common, name).or_else(|| self.core.attribute(name))
    }

    /// Resolves a path. An unqualified name missing from the core schema is searched in the
    /// extensions, because IdPs filter on `manager` or `department` without the URN.
    pub fn resolve(&self, path: &AttrPath) -> Option<ResolvedAttr<'_>> {
        if path.attribute.is_empty() {
            return None;
        }
        let (extension, attribute) = match &path.schema_urn {
            Some(urn) if urn.eq_ignore_ascii_case(&self.core.id) => {
                (None, self.top_level_attribute(&path.attribute)?)
            }
            Some(urn) => {
                let ext = self.extension(urn)?;
                (
                    Some(ext.schema.id.as_str()),
                    ext.schema.attribute(&path.attribute)?,
                )
            }
            None => match self.top_level_attribute(&path.attribute) {
                Some(a) => (None, a),
                None => self.extensions.iter().find_map(|e| {
                    e.schema
                        .attribute(&path.attribute)
                        .map(|a| (Some(e.schema.id.as_str()), a))
                })?,
            },
        };
        let sub_attribute = match &path.sub_attribute {
            Some(sub) => Some(attribute.sub_attribute(sub)?),
            None => None,
        };
        Some(ResolvedAttr {
            extension,
            attribute,
            sub_attribute,
        })
    }

    /// Parses and resolves a textual path such as `"name.givenName"` or a URN-qualified one.
    pub fn lookup(&self, path: &str) -> Option<ResolvedAttr<'_>> {
        self.resolve(&crate::path::parse_attr_path(path).ok()?)
    }

    /// All schema URNs of this resource type, core first.
    pub fn schema_urns(&self) -> impl Iterator<Item = &str> {
        std::iter::once(self.core.id.as_str())
            .chain(self.extensions.iter().map(|e| e.schema.id.as_str()))
    }
}

fn find_attr<'a>(attrs: &'a [AttributeDef], name: &str) -> Option<&'a AttributeDef> {
    attrs.iter().find(|a| a.name.eq_ignore_ascii_case(name))
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn lookup_is_case_insensitive() {
        let r = user().lookup("NAME.GIVENNAME").unwrap();
        assert_eq!(r.attribute.name, "name");
        assert_eq!(r.target().name, "givenName");
        assert!(r.extension.is_none());
        assert_eq!(
            user().lookup("meta.Created").unwrap().target().type_,
            AttrType::DateTime
        );
        assert!(
            user()
                .lookup("emails.value")
                .unwrap()
                .attribute
                .multi_valued
        );
    }

    #[test]
    fn lookup_extension_paths() {
        let r = user()
            .lookup("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value")
            .unwrap();
        assert_eq!(r.extension, Some(ENTERPRISE_USER_SCHEMA));
        assert_eq!(r.target().name, "value");
        let r = user()
            .lookup("urn:ietf:params:scim:schemas:core:2.0:User:userName")
            .unwrap();
        assert_eq!(r.attribute.name, "userName");
        // Unqualified extension attribute (Entra reference check `manager eq …`).
        assert_eq!(
            user().lookup("department").unwrap().extension,
            Some(ENTERPRISE_USER_SCHEMA)
        );
        assert!(user().lookup("urn:example:other:foo").is_none());
        assert!(user().lookup("nosuch").is_none());
        assert!(user().lookup("name.nosuch").is_none());
    }

    #[test]
    fn group_schema() {
        assert!(group().lookup("members.value").is_some());
        assert!(group().lookup("displayName").unwrap().attribute.required);
        assert!(group().lookup("userName").is_none());
    }
}
