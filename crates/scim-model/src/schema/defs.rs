//! RFC 7643 §4 and §8.7.1 definitions of User, Enterprise User and Group.
//!
//! Deliberate deviations from §8.7.1: Group `displayName` is required (RFC 7643 §4.2 text says
//! REQUIRED; the §8.7.1 listing says false), ids inside `members`/`groups` are caseExact (server
//! ids are case-sensitive), and `addresses` carries `primary` as §4.1.2 describes.

use super::{
    AttrType as T, AttributeDef as A, ENTERPRISE_USER_SCHEMA, GROUP_SCHEMA, Mutability as M,
    ResourceSchema, Returned as R, SchemaDef, SchemaExtension, USER_SCHEMA, Uniqueness as U,
};

fn s(name: &str, description: &str) -> A {
    A::new(name, T::String).description(description)
}

/// The value/display/type/primary quartet shared by most multi-valued attributes.
fn multi(name: &str, description: &str, value: A, types: &[&str]) -> A {
    let mut type_attr = s("type", "A label indicating the attribute's function.");
    if !types.is_empty() {
        type_attr = type_attr.canonical_values(types);
    }
    A::new(name, T::Complex).multi_valued().description(description).sub_attributes(vec![
        value,
        s("display", "A human-readable name, primarily used for display purposes. READ-ONLY."),
        type_attr,
        A::new("primary", T::Boolean).description(
            "A Boolean value indicating the 'primary' or preferred attribute value for this attribute. The primary attribute value 'true' MUST appear no more than once.",
        ),
    ])
}

pub(super) fn common_attributes() -> Vec<A> {
    vec![
        // Not an attribute in RFC 7643 terms, but filterable (`schemas eq "urn:…"` is an RFC 7644
        // §3.4.2.2 example) and always returned.
        A::new("schemas", T::Reference)
            .multi_valued()
            .required()
            .mutability(M::ReadOnly)
            .returned(R::Always)
            .description("The schema URIs the resource conforms to."),
        s("id", "Unique identifier for the SCIM resource as defined by the service provider.")
            .case_exact()
            .mutability(M::ReadOnly)
            .returned(R::Always)
            .uniqueness(U::Server),
        s("externalId", "A String that is an identifier for the resource as defined by the provisioning client.")
            .case_exact(),
        // Returned with every resource, `attributes=` or not, so that a client reading part of
        // a resource still learns its version (for If-Match) and location. Its sub-attributes
        // are `default` (RFC 7643 §3.1): `excludedAttributes=meta.created` drops one.
        A::new("meta", T::Complex)
            .mutability(M::ReadOnly)
            .returned(R::Always)
            .description("A complex attribute containing resource metadata.")
            .sub_attributes(vec![
                s("resourceType", "The name of the resource type of the resource.")
                    .case_exact()
                    .mutability(M::ReadOnly),
                A::new("created", T::DateTime)
                    .mutability(M::ReadOnly)
                    .description("The DateTime that the resource was added to the service provider."),
                A::new("lastModified", T::DateTime)
                    .mutability(M::ReadOnly)
                    .description("The most recent DateTime that the details of this resource were updated at the service provider."),
                A::new("location", T::Reference)
                    .case_exact()
                    .mutability(M::ReadOnly)
                    .reference_types(&["uri"])
                    .description("The URI of the resource being returned."),
                s("version", "The version of the resource being returned.")
                    .case_exact()
                    .mutability(M::ReadOnly),
            ]),
    ]
}

fn user_attributes() -> Vec<A> {
    vec![
        s("userName", "Unique identifier for the User, typically used by the user to directly authenticate to the service provider. Each User MUST include a non-empty userName value. This identifier MUST be unique across the service provider's entire set of Users. REQUIRED.")
            .required()
            .uniqueness(U::Server),
        A::new("name", T::Complex)
            .description("The components of the user's real name.")
            .sub_attributes(vec![
                s("formatted", "The full name, including all middle names, titles, and suffixes as appropriate, formatted for display."),
                s("familyName", "The family name of the User, or last name in most Western languages."),
                s("givenName", "The given name of the User, or first name in most Western languages."),
                s("middleName", "The middle name(s) of the User."),
                s("honorificPrefix", "The honorific prefix(es) of the User, or title in most Western languages."),
                s("honorificSuffix", "The honorific suffix(es) of the User, or suffix in most Western languages."),
            ]),
        s("displayName", "The name of the User, suitable for display to end-users."),
        s("nickName", "The casual way to address the user in real life."),
        A::new("profileUrl", T::Reference)
            .reference_types(&["external"])
            .description("A fully qualified URL pointing to a page representing the User's online profile."),
        s("title", "The user's title, such as \"Vice President.\""),
        s("userType", "Used to identify the relationship between the organization and the user."),
        s("preferredLanguage", "Indicates the User's preferred written or spoken language."),
        s("locale", "Used to indicate the User's default location for purposes of localizing items such as currency, date time format, or numerical representations."),
        s("timezone", "The User's time zone in the 'Olson' time zone database format, e.g., 'America/Los_Angeles'."),
        A::new("active", T::Boolean).description("A Boolean value indicating the User's administrative status."),
        s("password", "The User's cleartext password. Not stored or returned by this service provider.")
            .mutability(M::WriteOnly)
            .returned(R::Never),
        multi("emails", "Email addresses for the user.", s("value", "Email addresses for the user."), &["work", "home", "other"]),
        multi("phoneNumbers", "Phone numbers for the User.", s("value", "Phone number of the User."), &["work", "home", "mobile", "fax", "pager", "other"]),
        multi("ims", "Instant messaging addresses for the User.", s("value", "Instant messaging address for the User."), &["aim", "gtalk", "icq", "xmpp", "msn", "skype", "qq", "yahoo"]),
        multi(
            "photos",
            "URLs of photos of the User.",
            A::new("value", T::Reference).reference_types(&["external"]).description("URL of a photo of the User."),
            &["photo", "thumbnail"],
        ),
        A::new("addresses", T::Complex)
            .multi_valued()
            .description("A physical mailing address for this User.")
            .sub_attributes(vec![
                s("formatted", "The full mailing address, formatted for display or use with a mailing label."),
                s("streetAddress", "The full street address component."),
                s("locality", "The city or locality component."),
                s("region", "The state or region component."),
                s("postalCode", "The zip code or postal code component."),
                s("country", "The country name component."),
                s("type", "A label indicating the attribute's function.").canonical_values(&["work", "home", "other"]),
                A::new("primary", T::Boolean).description("A Boolean value indicating the 'primary' or preferred address."),
            ]),
        A::new("groups", T::Complex)
            .multi_valued()
            .mutability(M::ReadOnly)
            .description("A list of groups to which the user belongs, either through direct membership, through nested groups, or dynamically calculated.")
            .sub_attributes(vec![
                s("value", "The identifier of the User's group.").case_exact().mutability(M::ReadOnly),
                A::new("$ref", T::Reference)
                    .reference_types(&["User", "Group"])
                    .mutability(M::ReadOnly)
                    .description("The URI of the corresponding 'Group' resource to which the user belongs."),
                s("display", "A human-readable name, primarily used for display purposes.").mutability(M::ReadOnly),
                s("type", "A label indicating the attribute's function, e.g., 'direct' or 'indirect'.")
                    .canonical_values(&["direct", "indirect"])
                    .mutability(M::ReadOnly),
            ]),
        multi("entitlements", "A list of entitlements for the User that represent a thing the User has.", s("value", "The value of an entitlement."), &[]),
        multi("roles", "A list of roles for the User that collectively represent who the User is, e.g., 'Student', 'Faculty'.", s("value", "The value of a role."), &[]),
        multi(
            "x509Certificates",
            "A list of certificates issued to the User.",
            A::new("value", T::Binary).description("The value of an X.509 certificate."),
            &[],
        ),
    ]
}

fn enterprise_attributes() -> Vec<A> {
    vec![
        s("employeeNumber", "Numeric or alphanumeric identifier assigned to a person, typically based on order of hire or association with an organization."),
        s("costCenter", "Identifies the name of a cost center."),
        s("organization", "Identifies the name of an organization."),
        s("division", "Identifies the name of a division."),
        s("department", "Identifies the name of a department."),
        A::new("manager", T::Complex)
            .description("The User's manager. A complex type that optionally allows service providers to represent organizational hierarchy by referencing the 'id' attribute of another User.")
            .sub_attributes(vec![
                s("value", "The id of the SCIM resource representing the User's manager."),
                A::new("$ref", T::Reference)
                    .reference_types(&["User"])
                    .description("The URI of the SCIM resource representing the User's manager."),
                s("displayName", "The displayName of the User's manager. READ-ONLY.").mutability(M::ReadOnly),
            ]),
    ]
}

fn group_attributes() -> Vec<A> {
    vec![
        s(
            "displayName",
            "A human-readable name for the Group. REQUIRED.",
        )
        .required(),
        A::new("members", T::Complex)
            .multi_valued()
            .description("A list of members of the Group.")
            .sub_attributes(vec![
                s("value", "Identifier of the member of this Group.")
                    .case_exact()
                    .mutability(M::Immutable),
                A::new("$ref", T::Reference)
                    .reference_types(&["User", "Group"])
                    .mutability(M::Immutable)
                    .description(
                        "The URI corresponding to a SCIM resource that is a member of this Group.",
                    ),
                s(
                    "type",
                    "A label indicating the type of resource, e.g., 'User' or 'Group'.",
                )
                .canonical_values(&["User", "Group"])
                .mutability(M::Immutable),
                s(
                    "display",
                    "A human-readable name for the member, as the client sent it with the member.",
                )
                .mutability(M::Immutable),
            ]),
    ]
}

pub(super) fn user_resource() -> ResourceSchema {
    ResourceSchema {
        name: "User".into(),
        endpoint: "/Users".into(),
        description: "User Account".into(),
        core: SchemaDef {
            id: USER_SCHEMA.into(),
            name: "User".into(),
            description: "User Account".into(),
            attributes: user_attributes(),
        },
        extensions: vec![SchemaExtension {
            schema: SchemaDef {
                id: ENTERPRISE_USER_SCHEMA.into(),
                name: "EnterpriseUser".into(),
                description: "Enterprise User".into(),
                attributes: enterprise_attributes(),
            },
            required: false,
        }],
        common: common_attributes(),
    }
}

pub(super) fn group_resource() -> ResourceSchema {
    ResourceSchema {
        name: "Group".into(),
        endpoint: "/Groups".into(),
        description: "Group".into(),
        core: SchemaDef {
            id: GROUP_SCHEMA.into(),
            name: "Group".into(),
            description: "Group".into(),
            attributes: group_attributes(),
        },
        extensions: Vec::new(),
        common: common_attributes(),
    }
}
