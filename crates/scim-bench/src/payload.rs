//! Request bodies and filters, shaped like the ones Entra ID and Okta send. Pure.

use serde_json::{Value, json};

pub const USER_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
pub const GROUP_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";
pub const ENTERPRISE_USER_SCHEMA: &str =
    "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
pub const PATCH_OP_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";

const DEPARTMENTS: [&str; 6] = [
    "Sales",
    "Engineering",
    "Finance",
    "Marketing",
    "Support",
    "Operations",
];
const TITLES: [&str; 5] = [
    "Associate",
    "Analyst",
    "Engineer",
    "Account Executive",
    "Manager",
];

/// The generated identity of benchmark user `index` of a run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserSpec {
    pub user_name: String,
    pub external_id: String,
    pub given_name: String,
    pub family_name: String,
    pub email: String,
    pub employee_number: String,
    pub department: &'static str,
    pub title: &'static str,
}

impl UserSpec {
    /// `kind` separates families of users within one run (`u` for initial-sync, `bg` for
    /// big-group). A prefix has no `.`, so `userName sw "<prefix>."` finds exactly a run's
    /// users.
    pub fn new(prefix: &str, kind: &str, index: usize, domain: &str) -> Self {
        let local = format!("{prefix}.{kind}{index:06}");
        Self {
            user_name: format!("{local}@{domain}"),
            external_id: format!("{prefix}-{kind}-{index:08x}"),
            given_name: format!("Bench{index}"),
            family_name: format!("{kind}-{prefix}"),
            email: format!("{local}@{domain}"),
            employee_number: format!("{index:07}"),
            department: DEPARTMENTS[index % DEPARTMENTS.len()],
            title: TITLES[index % TITLES.len()],
        }
    }

    /// `POST /Users` body: core + enterprise extension, one primary work email.
    pub fn create_body(&self) -> Value {
        json!({
            "schemas": [USER_SCHEMA, ENTERPRISE_USER_SCHEMA],
            "externalId": self.external_id,
            "userName": self.user_name,
            "active": true,
            "displayName": format!("{} {}", self.given_name, self.family_name),
            "title": self.title,
            "name": {
                "givenName": self.given_name,
                "familyName": self.family_name,
                "formatted": format!("{} {}", self.given_name, self.family_name),
            },
            "emails": [{"primary": true, "type": "work", "value": self.email}],
            ENTERPRISE_USER_SCHEMA: {
                "employeeNumber": self.employee_number,
                "department": self.department,
            },
        })
    }
}

/// Group display names of a run: `<prefix>-<kind>-<index>`.
pub fn group_name(prefix: &str, kind: &str, index: usize) -> String {
    format!("{prefix}-{kind}-{index:04}")
}

/// `POST /Groups` body with an empty member list, as Entra creates groups before filling them.
pub fn group_create_body(display_name: &str, external_id: &str) -> Value {
    json!({
        "schemas": [GROUP_SCHEMA],
        "externalId": external_id,
        "displayName": display_name,
        "members": [],
    })
}

/// A PatchOp message around `operations`.
pub fn patch(operations: Vec<Value>) -> Value {
    json!({"schemas": [PATCH_OP_SCHEMA], "Operations": operations})
}

/// Adds `member_ids` to a group in one operation.
pub fn add_members(member_ids: &[String]) -> Value {
    let value: Vec<Value> = member_ids.iter().map(|id| json!({"value": id})).collect();
    patch(vec![
        json!({"op": "add", "path": "members", "value": value}),
    ])
}

/// Removes one member with a value-path filter, as Entra does.
pub fn remove_member(member_id: &str) -> Value {
    patch(vec![json!({
        "op": "remove",
        "path": format!("members[value eq {}]", filter_string(member_id)),
    })])
}

/// Sets the manager the way Entra does: the enterprise `manager` path with the manager's id as a
/// bare string rather than `{"value": id}`.
pub fn set_manager(manager_id: &str) -> Value {
    patch(vec![json!({
        "op": "Add",
        "path": format!("{ENTERPRISE_USER_SCHEMA}:manager"),
        "value": manager_id,
    })])
}

/// Entra's attribute update: one `Replace` per changed attribute.
pub fn replace_title_and_display_name(title: &str, display_name: &str) -> Value {
    patch(vec![
        json!({"op": "Replace", "path": "title", "value": title}),
        json!({"op": "Replace", "path": "displayName", "value": display_name}),
    ])
}

pub fn deactivate() -> Value {
    patch(vec![
        json!({"op": "Replace", "path": "active", "value": false}),
    ])
}

/// A SCIM filter string literal (JSON string syntax, so quotes and backslashes are escaped).
pub fn filter_string(value: &str) -> String {
    Value::String(value.to_owned()).to_string()
}

pub fn eq_filter(attribute: &str, value: &str) -> String {
    format!("{attribute} eq {}", filter_string(value))
}

pub fn sw_filter(attribute: &str, value: &str) -> String {
    format!("{attribute} sw {}", filter_string(value))
}

/// Splits `ids` into PATCH-sized batches.
pub fn batches(ids: &[String], size: usize) -> Vec<Vec<String>> {
    ids.chunks(size.max(1)).map(<[String]>::to_vec).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_spec_is_deterministic_and_run_scoped() {
        let a = UserSpec::new("r1", "u", 42, "bench.example.com");
        assert_eq!(a, UserSpec::new("r1", "u", 42, "bench.example.com"));
        assert_eq!(a.user_name, "r1.u000042@bench.example.com");
        assert!(a.user_name.starts_with("r1."));
        assert_ne!(a.external_id, UserSpec::new("r2", "u", 42, "x").external_id);
        assert_ne!(
            a.user_name,
            UserSpec::new("r1", "bg", 42, "bench.example.com").user_name
        );
    }

    #[test]
    fn create_body_has_enterprise_extension_and_work_email() {
        let body = UserSpec::new("r1", "u", 7, "d.example").create_body();
        assert_eq!(body["schemas"][1], ENTERPRISE_USER_SCHEMA);
        assert_eq!(body["userName"], "r1.u000007@d.example");
        assert_eq!(body["emails"][0]["type"], "work");
        assert_eq!(body["emails"][0]["primary"], true);
        assert_eq!(body[ENTERPRISE_USER_SCHEMA]["employeeNumber"], "0000007");
        assert!(body[ENTERPRISE_USER_SCHEMA]["department"].is_string());
        assert_eq!(body["active"], true);
    }

    #[test]
    fn group_bodies() {
        let body = group_create_body("r1-group-0001", "ext");
        assert_eq!(body["members"], json!([]));
        assert_eq!(body["displayName"], "r1-group-0001");
        assert_eq!(group_name("r1", "group", 1), "r1-group-0001");

        let ids = vec!["a".to_owned(), "b".to_owned()];
        let add = add_members(&ids);
        assert_eq!(
            add,
            json!({
                "schemas": [PATCH_OP_SCHEMA],
                "Operations": [{"op": "add", "path": "members", "value": [{"value": "a"}, {"value": "b"}]}]
            })
        );
        let remove = remove_member("a");
        assert_eq!(remove["Operations"][0]["path"], r#"members[value eq "a"]"#);
    }

    #[test]
    fn user_patches_look_like_entra() {
        let m = set_manager("123");
        assert_eq!(
            m["Operations"][0],
            json!({"op": "Add", "path": format!("{ENTERPRISE_USER_SCHEMA}:manager"), "value": "123"})
        );
        let r = replace_title_and_display_name("T", "D");
        assert_eq!(r["Operations"].as_array().unwrap().len(), 2);
        assert_eq!(deactivate()["Operations"][0]["value"], false);
    }

    #[test]
    fn filters_escape_their_literals() {
        assert_eq!(eq_filter("userName", "a@b.c"), r#"userName eq "a@b.c""#);
        assert_eq!(sw_filter("userName", "r1."), r#"userName sw "r1.""#);
        assert_eq!(
            eq_filter("externalId", r#"a"b\c"#),
            r#"externalId eq "a\"b\\c""#
        );
    }

    #[test]
    fn batching() {
        let ids: Vec<String> = (0..250).map(|i| i.to_string()).collect();
        let b = batches(&ids, 100);
        assert_eq!(b.iter().map(Vec::len).collect::<Vec<_>>(), [100, 100, 50]);
        assert!(batches(&[], 100).is_empty());
        assert_eq!(batches(&ids[..3], 0).len(), 3);
    }
}
