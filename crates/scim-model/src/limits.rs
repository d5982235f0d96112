//! The explicit limits every request is held to before anything is appended to the event
//! stream (I11). An event the projections cannot store must never enter the stream: the
//! stream is immutable, so one unstorable event would stall a projection for every tenant.
//!
//! The figures are constants rather than settings because several of them are facts about the
//! read models: an indexed text column must fit a Postgres btree entry (at most 2704 bytes per
//! row, with the tenant id beside it), and text cannot hold U+0000. `docs/configuration.md`
//! lists each limit with the reason for its value.
//!
//! Every check names the attribute (or parameter) and the limit it broke, so an IdP's
//! provisioning log tells its admin exactly what to change.

use serde_json::Value;

use crate::error::ScimError;

/// Bytes of a filter expression (`filter=` or a SearchRequest's `filter`).
pub const MAX_FILTER_BYTES: usize = 4096;
/// Nesting of `(…)`, `not (…)` and `attr[…]` in a filter. Together with
/// [`MAX_FILTER_TERMS`] this bounds the depth of every filter tree, so no recursive
/// function over a filter (parse, validate, evaluate, compile to SQL, print, drop) can
/// overflow a stack: a tree is at most `MAX_FILTER_TERMS + MAX_FILTER_DEPTH` levels deep.
pub const MAX_FILTER_DEPTH: usize = 16;
/// Comparisons and `pr` tests in one filter.
pub const MAX_FILTER_TERMS: usize = 64;
/// Bytes of a PATCH `path`, a `sortBy` or one `attributes` entry.
pub const MAX_PATH_BYTES: usize = 1024;
/// Entries of `attributes` or `excludedAttributes`.
pub const MAX_SELECTED_ATTRIBUTES: usize = 100;
/// Operations in one PATCH request.
pub const MAX_PATCH_OPERATIONS: usize = 1000;
/// Member ids named by one request (a group POST/PUT body or all operations of a PATCH).
pub const MAX_MEMBERS_PER_REQUEST: usize = 10_000;
/// Bytes of a resource id, in a URL path, a Bulk `path` or a member `value`. Ids are issued
/// by this server (UUIDs); the bound keeps anything else out of subjects and indexes.
pub const MAX_ID_BYTES: usize = 64;
/// Bytes of one member's `display`: a person's or group's name, kept small because it is
/// carried in membership events and stored once per membership.
pub const MAX_MEMBER_DISPLAY_BYTES: usize = 256;
/// Bytes of a Bulk `bulkId`.
pub const MAX_BULK_ID_BYTES: usize = 128;
/// Bytes of a pagination cursor.
pub const MAX_CURSOR_BYTES: usize = 128;
/// Largest `startIndex` (and cursor offset): far past any tenant's size, small enough that
/// `offset + count` can never overflow.
pub const MAX_START_INDEX: u64 = 1 << 40;
/// Bytes of an attribute that the read models index (userName, externalId, displayName,
/// email values), also after case folding: under the btree entry limit with room for the
/// tenant id.
pub const MAX_INDEXED_STRING_BYTES: usize = 1024;
/// Bytes of any other string value (binary values such as certificates included).
pub const MAX_STRING_BYTES: usize = 16 * 1024;
/// Elements of one multi-valued attribute (emails, phoneNumbers, roles, …).
pub const MAX_MULTI_VALUED_ELEMENTS: usize = 100;
/// Bytes of a whole stored resource (without group members, which are stored apart).
pub const MAX_RESOURCE_BYTES: usize = 64 * 1024;

/// Whether `c` can be stored in every read model and printed in every log: no C0 control
/// other than tab, line feed and carriage return (Postgres text and jsonb reject U+0000, and
/// the other controls serve no purpose in identity data but to confuse logs and UIs).
pub fn is_storable_char(c: char) -> bool {
    !c.is_ascii_control() || matches!(c, '\t' | '\n' | '\r')
}

/// Checks a string value against the character rules and a byte limit.
pub fn check_string(name: &str, value: &str, max_bytes: usize) -> Result<(), ScimError> {
    if let Some((position, c)) = value
        .chars()
        .enumerate()
        .find(|(_, c)| !is_storable_char(*c))
    {
        return Err(ScimError::InvalidValue(format!(
            "attribute '{name}' contains the control character U+{:04X} at position {position}; \
             control characters other than tab, CR and LF are not accepted",
            u32::from(c)
        )));
    }
    if value.len() > max_bytes {
        return Err(ScimError::InvalidValue(format!(
            "attribute '{name}' is {} bytes long; the limit is {max_bytes} bytes",
            value.len()
        )));
    }
    Ok(())
}

/// Checks a canonical resource (as create, PUT and PATCH produce it) before it is appended:
/// every string, every multi-valued attribute's element count, and the whole size.
///
/// Canonical resources nest at most three levels (extension → complex → sub-attribute), which
/// the walk relies on and enforces: anything deeper is refused rather than recursed into.
/// Every write pays for this check, so it allocates nothing unless it fails.
pub fn check_resource(resource: &Value) -> Result<(), ScimError> {
    check_value(&AttrName::ROOT, resource, 0)?;
    let mut size = ByteCount(0);
    let size = match serde_json::to_writer(&mut size, resource) {
        Ok(()) => size.0,
        Err(_) => usize::MAX,
    };
    if size > MAX_RESOURCE_BYTES {
        return Err(ScimError::InvalidValue(format!(
            "the resource is {size} bytes long; the limit is {MAX_RESOURCE_BYTES} bytes"
        )));
    }
    Ok(())
}

/// Counts what is written: the serialised size without building the bytes.
struct ByteCount(usize);

impl std::io::Write for ByteCount {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0 += bytes.len();
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Depth of a canonical resource: object → extension object → complex value → scalar.
const MAX_RESOURCE_NESTING: usize = 4;

/// Where a value sits, as the schema names it (`emails.value`): the parent attribute and the
/// key, spelled out only for an error message. Extension URNs are left out of the name, so
/// the enterprise `manager.value` reads as it does in the schema.
struct AttrName<'a> {
    parent: Option<&'a AttrName<'a>>,
    key: &'a str,
}

impl AttrName<'_> {
    const ROOT: AttrName<'static> = AttrName {
        parent: None,
        key: "",
    };

    fn is_schema_level(&self) -> bool {
        self.key.is_empty() || self.key.starts_with("urn:")
    }

    /// The parent's name for this name's children.
    fn attribute(&self) -> &str {
        if self.is_schema_level() { "" } else { self.key }
    }

    fn parent_attribute(&self) -> &str {
        self.parent.map_or("", AttrName::attribute)
    }

    fn render(&self) -> String {
        match self.parent_attribute() {
            "" => self.key.to_owned(),
            parent => format!("{parent}.{}", self.key),
        }
    }

    fn string_limit(&self) -> usize {
        let indexed = match self.parent_attribute() {
            "" => ["userName", "externalId", "displayName"]
                .iter()
                .any(|name| name.eq_ignore_ascii_case(self.key)),
            parent => {
                parent.eq_ignore_ascii_case("emails") && self.key.eq_ignore_ascii_case("value")
            }
        };
        if indexed {
            MAX_INDEXED_STRING_BYTES
        } else {
            MAX_STRING_BYTES
        }
    }
}

fn check_value(name: &AttrName<'_>, value: &Value, depth: usize) -> Result<(), ScimError> {
    if depth > MAX_RESOURCE_NESTING {
        return Err(ScimError::InvalidValue(format!(
            "attribute '{}' nests deeper than a SCIM resource can",
            name.render()
        )));
    }
    match value {
        Value::String(text) => {
            let limit = name.string_limit();
            if text.len() > limit || !text.chars().all(is_storable_char) {
                return check_string(&name.render(), text, limit);
            }
            Ok(())
        }
        Value::Array(elements) => {
            if elements.len() > MAX_MULTI_VALUED_ELEMENTS {
                return Err(ScimError::InvalidValue(format!(
                    "attribute '{}' has {} values; the limit is {MAX_MULTI_VALUED_ELEMENTS}",
                    name.render(),
                    elements.len()
                )));
            }
            elements
                .iter()
                .try_for_each(|element| check_value(name, element, depth + 1))
        }
        Value::Object(members) => members.iter().try_for_each(|(key, inner)| {
            let child = AttrName {
                parent: Some(name),
                key,
            };
            check_value(&child, inner, depth + 1)
        }),
        Value::Null | Value::Bool(_) | Value::Number(_) => Ok(()),
    }
}

/// Indexed values are stored case-folded as well, and folding can lengthen a string (`İ`, two
/// bytes, folds to three). A string of at most a third of the limit cannot fold past it, so
/// only long ones are folded to be measured.
pub fn check_folded(name: &str, text: &str) -> Result<(), ScimError> {
    if text.len() <= MAX_INDEXED_STRING_BYTES / 3 {
        return Ok(());
    }
    let folded = text.to_lowercase();
    if folded.len() > MAX_INDEXED_STRING_BYTES {
        return Err(ScimError::InvalidValue(format!(
            "attribute '{name}' is {} bytes long in lower case; the limit is \
             {MAX_INDEXED_STRING_BYTES} bytes",
            folded.len()
        )));
    }
    Ok(())
}

/// userName is indexed as its identity key, and NFKC can lengthen a string far more than case
/// folding can (U+FDFA, three bytes, becomes 33), so a non-ASCII userName is measured as its
/// key. An ASCII name's key is never longer than the name.
pub fn check_user_name_key(text: &str) -> Result<(), ScimError> {
    if text.is_ascii() {
        return Ok(());
    }
    let key = crate::resource::normalize_user_name(text);
    if key.len() > MAX_INDEXED_STRING_BYTES {
        return Err(ScimError::InvalidValue(format!(
            "attribute 'userName' is {} bytes long once normalised (NFKC and case folding); \
             the limit is {MAX_INDEXED_STRING_BYTES} bytes",
            key.len()
        )));
    }
    Ok(())
}

/// A resource id as this server issues them: 1 to [`MAX_ID_BYTES`] of `[A-Za-z0-9_-]`.
/// Nothing else can exist, and nothing else may reach a subject or an index.
pub fn is_valid_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= MAX_ID_BYTES
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// Checks a member id named in a group body or PATCH.
pub fn check_member_id(id: &str) -> Result<(), ScimError> {
    if is_valid_id(id) {
        Ok(())
    } else {
        Err(ScimError::InvalidValue(format!(
            "members.value {} is not a resource id: ids are 1 to {MAX_ID_BYTES} characters of \
             A-Z, a-z, 0-9, '-' and '_'",
            quoted_prefix(id)
        )))
    }
}

/// Checks how many member ids one request names.
pub fn check_member_count(count: usize) -> Result<(), ScimError> {
    if count > MAX_MEMBERS_PER_REQUEST {
        return Err(ScimError::TooMany(format!(
            "the request names {count} members; the limit is {MAX_MEMBERS_PER_REQUEST} per \
             request"
        )));
    }
    Ok(())
}

/// Checks a `bulkId`: 1 to [`MAX_BULK_ID_BYTES`] visible ASCII characters.
pub fn check_bulk_id(index: usize, bulk_id: &str) -> Result<(), ScimError> {
    let valid = !bulk_id.is_empty()
        && bulk_id.len() <= MAX_BULK_ID_BYTES
        && bulk_id.bytes().all(|b| b.is_ascii_graphic());
    if valid {
        Ok(())
    } else {
        Err(ScimError::InvalidValue(format!(
            "Operations[{index}].bulkId must be 1 to {MAX_BULK_ID_BYTES} visible ASCII \
             characters"
        )))
    }
}

/// Checks a PATCH `path`, `sortBy` or attribute name before it is parsed.
pub fn check_path(what: &str, path: &str) -> Result<(), ScimError> {
    if path.len() > MAX_PATH_BYTES {
        return Err(ScimError::InvalidPath(format!(
            "{what} is {} bytes long; the limit is {MAX_PATH_BYTES} bytes",
            path.len()
        )));
    }
    if path
        .chars()
        .any(|c| !is_storable_char(c) || c == '\n' || c == '\r' || c == '\t')
    {
        return Err(ScimError::InvalidPath(format!(
            "{what} contains a control character"
        )));
    }
    Ok(())
}

/// Checks an `attributes`/`excludedAttributes` list.
pub fn check_attribute_list(parameter: &str, names: &[String]) -> Result<(), ScimError> {
    if names.len() > MAX_SELECTED_ATTRIBUTES {
        return Err(ScimError::TooMany(format!(
            "{parameter} names {} attributes; the limit is {MAX_SELECTED_ATTRIBUTES}",
            names.len()
        )));
    }
    names
        .iter()
        .try_for_each(|name| check_path(&format!("an entry of {parameter}"), name))
}

/// At most the first 32 characters of client text, quoted and escaped, for error details:
/// a detail must never echo a megabyte or a control character back (or into the log).
pub fn quoted_prefix(text: &str) -> String {
    const SHOWN: usize = 32;
    let mut shown: String = text.chars().take(SHOWN).collect();
    if text.chars().nth(SHOWN).is_some() {
        shown.push('…');
    }
    format!("{shown:?}")
}

/// Client-supplied text made storable for the provisioning log: control characters replaced
/// by U+FFFD and at most `max_bytes` kept (on a character boundary). Used for what a rejected
/// request carried (its path, a target id, an error detail), which must be recorded even when
/// it is exactly what made the request invalid.
pub fn storable_prefix(text: &str, max_bytes: usize) -> String {
    let mut out = String::with_capacity(text.len().min(max_bytes));
    for c in text.chars() {
        let c = if is_storable_char(c) { c } else { '\u{fffd}' };
        if out.len() + c.len_utf8() > max_bytes {
            break;
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn nul_and_other_controls_are_refused_with_the_attribute_named() {
        let error = check_resource(&json!({"userName": "a", "title": "x\u{0}y"})).unwrap_err();
        assert_eq!(error.scim_type(), Some("invalidValue"));
        assert!(error.detail().contains("'title'"), "{error}");
        assert!(error.detail().contains("U+0000"), "{error}");
        let error = check_resource(&json!({"emails": [{"value": "a\u{1b}@x"}]})).unwrap_err();
        assert!(error.detail().contains("'emails.value'"), "{error}");
        assert!(check_resource(&json!({"title": "line\nbreak\ttab\r"})).is_ok());
    }

    #[test]
    fn indexed_attributes_have_the_smaller_limit() {
        let long = "a".repeat(MAX_INDEXED_STRING_BYTES + 1);
        let error = check_resource(&json!({ "userName": long })).unwrap_err();
        assert!(error.detail().contains("'userName'"), "{error}");
        assert!(error.detail().contains("1024 bytes"), "{error}");
        assert!(check_resource(&json!({ "title": long })).is_ok());
        let error = check_resource(&json!({"emails": [{"value": long}]})).unwrap_err();
        assert!(error.detail().contains("'emails.value'"));
        let error = check_resource(&json!({
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {
                "manager": {"value": "m".repeat(MAX_STRING_BYTES + 1)}
            }
        }))
        .unwrap_err();
        assert!(error.detail().contains("'manager.value'"), "{error}");
    }

    #[test]
    fn user_names_are_measured_as_their_key() {
        // 300 bytes as sent, 3300 once NFKC expands each U+FDFA into 18 letters.
        let error = check_user_name_key(&"\u{fdfa}".repeat(100)).unwrap_err();
        assert!(error.detail().contains("'userName'"), "{error}");
        assert!(error.detail().contains("3300 bytes"), "{error}");
        assert!(check_user_name_key(&"\u{fdfa}".repeat(31)).is_ok());
        assert!(check_user_name_key(&"A".repeat(MAX_INDEXED_STRING_BYTES)).is_ok());
    }

    #[test]
    fn element_counts_and_total_size_are_bounded() {
        let many: Vec<Value> = (0..=MAX_MULTI_VALUED_ELEMENTS)
            .map(|i| json!({"value": format!("+1 555 {i}")}))
            .collect();
        let error = check_resource(&json!({ "phoneNumbers": many })).unwrap_err();
        assert!(error.detail().contains("'phoneNumbers'"), "{error}");
        let big: Vec<Value> = (0..10)
            .map(|_| json!({"value": "x".repeat(MAX_STRING_BYTES - 10)}))
            .collect();
        let error = check_resource(&json!({ "x509Certificates": big })).unwrap_err();
        assert!(error.detail().contains("the resource is"), "{error}");
    }

    #[test]
    fn nesting_deeper_than_a_resource_is_refused_not_walked() {
        let mut shallow = json!("leaf");
        for _ in 0..8 {
            shallow = json!({ "a": shallow });
        }
        assert!(check_resource(&shallow).is_err());
    }

    #[test]
    fn ids_and_bulk_ids() {
        assert!(is_valid_id("0190c3c4-6b3e-7d4a-9f0e-2d1c5b7a8e90"));
        for bad in ["", "a.b", "a*", ">", "a b", "ü", &"a".repeat(65)] {
            assert!(!is_valid_id(bad), "{bad:?}");
        }
        assert!(
            check_member_id("x\u{0}")
                .unwrap_err()
                .detail()
                .contains("\"x\\0\"")
        );
        assert!(check_bulk_id(0, "qwerty").is_ok());
        assert!(
            check_bulk_id(3, "a b")
                .unwrap_err()
                .detail()
                .contains("Operations[3]")
        );
        assert!(check_member_count(MAX_MEMBERS_PER_REQUEST + 1).is_err());
    }

    #[test]
    fn rejected_text_is_made_storable() {
        assert_eq!(storable_prefix("a\u{0}b", 64), "a\u{fffd}b");
        assert_eq!(storable_prefix("ééé", 5), "éé");
        assert_eq!(quoted_prefix(&"x".repeat(100)).chars().count(), 35);
    }
}
