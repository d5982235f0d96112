//! Bulk requests (RFC 7644 §3.7): parsing, limits and `bulkId` resolution.
//!
//! The gateway executes operations one at a time; this module decides *which*
//! operation may run next. An operation that refers to `bulkId:x` waits until
//! the operation that declares `x` has created its resource, so forward
//! references (a group listed before the users it contains) work. References
//! that can never be resolved — undeclared, declared by a failed operation, or
//! circular — fail that operation with 409, as §3.7.3 allows.

use std::collections::{BTreeSet, HashMap, HashSet};

use serde_json::{Map, Value};

use crate::error::ScimError;
use crate::urn::BULK_REQUEST_SCHEMA;

const BULK_ID_PREFIX: &str = "bulkId:";

#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
pub enum BulkError {
    /// More operations than `maxOperations` (answered 413).
    #[error("the bulk request has {count} operations; the maximum is {max}")]
    TooManyOperations { count: usize, max: usize },
    #[error(transparent)]
    Invalid(#[from] ScimError),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BulkMethod {
    Post,
    Put,
    Patch,
    Delete,
}

impl BulkMethod {
    pub fn as_str(self) -> &'static str {
        match self {
            BulkMethod::Post => "POST",
            BulkMethod::Put => "PUT",
            BulkMethod::Patch => "PATCH",
            BulkMethod::Delete => "DELETE",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BulkEndpoint {
    Users,
    Groups,
}

impl BulkEndpoint {
    pub fn path(self) -> &'static str {
        match self {
            BulkEndpoint::Users => "/Users",
            BulkEndpoint::Groups => "/Groups",
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct BulkOperation {
    pub method: BulkMethod,
    pub bulk_id: Option<String>,
    /// The ETag the client expects (`If-Match` semantics), as sent.
    pub version: Option<String>,
    /// The path as sent, echoed in errors.
    pub path: String,
    pub endpoint: BulkEndpoint,
    /// The resource id from the path, possibly a `bulkId:` reference.
    pub target: Option<String>,
    pub data: Option<Value>,
}

impl BulkOperation {
    /// The `bulkId`s this operation refers to, in its path or its data.
    pub fn references(&self) -> BTreeSet<String> {
        let mut found = BTreeSet::new();
        if let Some(reference) = self.target.as_deref().and_then(bulk_reference) {
            found.insert(reference.to_owned());
        }
        if let Some(data) = &self.data {
            collect_references(data, &mut found);
        }
        found
    }

    /// The operation with every `bulkId:` reference replaced by the id it
    /// resolved to. Callers only resolve once all references are known.
    pub fn resolved(&self, ids: &HashMap<String, String>) -> BulkOperation {
        let mut operation = self.clone();
        if let Some(target) = operation.target.as_mut() {
            substitute(target, ids);
        }
        if let Some(data) = operation.data.as_mut() {
            substitute_in(data, ids);
        }
        operation
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct BulkRequest {
    /// Stop after this many failed operations (`failOnErrors`); `None` runs all.
    pub fail_on_errors: Option<usize>,
    pub operations: Vec<BulkOperation>,
}

/// Parses a BulkRequest body. Structural problems fail the whole request
/// (400); exceeding `max_operations` is reported separately (413).
pub fn parse_bulk_request(body: &Value, max_operations: usize) -> Result<BulkRequest, BulkError> {
    let object = body
        .as_object()
        .ok_or_else(|| ScimError::InvalidSyntax("a BulkRequest must be a JSON object".into()))?;
    let declares_schema = field(object, "schemas")
        .and_then(Value::as_array)
        .is_some_and(|schemas| {
            schemas.iter().any(|s| {
                s.as_str()
                    .is_some_and(|s| s.eq_ignore_ascii_case(BULK_REQUEST_SCHEMA))
            })
        });
    if !declares_schema {
        return Err(ScimError::InvalidSyntax(format!(
            "a BulkRequest must list the schema {BULK_REQUEST_SCHEMA}"
        ))
        .into());
    }
    let fail_on_errors = match field(object, "failOnErrors") {
        None | Some(Value::Null) => None,
        Some(value) => Some(
            value
                .as_u64()
                .filter(|n| *n >= 1)
                .and_then(|n| usize::try_from(n).ok())
                .ok_or_else(|| {
                    ScimError::InvalidValue("failOnErrors must be a positive integer".into())
                })?,
        ),
    };
    let raw = field(object, "Operations")
        .and_then(Value::as_array)
        .ok_or_else(|| {
            ScimError::InvalidSyntax("a BulkRequest needs an Operations array".into())
        })?;
    if raw.len() > max_operations {
        return Err(BulkError::TooManyOperations {
            count: raw.len(),
            max: max_operations,
        });
    }
    let operations = raw
        .iter()
        .enumerate()
        .map(|(index, operation)| parse_operation(index, operation))
        .collect::<Result<Vec<_>, _>>()?;
    let mut declared = HashSet::new();
    for operation in &operations {
        if let Some(bulk_id) = &operation.bulk_id
            && !declared.insert(bulk_id.as_str())
        {
            return Err(ScimError::InvalidValue(format!(
                "bulkId {bulk_id:?} is declared by more than one operation"
            ))
            .into());
        }
    }
    Ok(BulkRequest {
        fail_on_errors,
        operations,
    })
}

fn parse_operation(index: usize, value: &Value) -> Result<BulkOperation, ScimError> {
    let invalid = |detail: &str| ScimError::InvalidSyntax(format!("Operations[{index}]: {detail}"));
    let object = value
        .as_object()
        .ok_or_else(|| invalid("an operation must be a JSON object"))?;
    let method_text = field(object, "method")
        .and_then(Value::as_str)
        .ok_or_else(|| invalid("method is required"))?;
    let method = match method_text.to_ascii_uppercase().as_str() {
        "POST" => BulkMethod::Post,
        "PUT" => BulkMethod::Put,
        "PATCH" => BulkMethod::Patch,
        "DELETE" => BulkMethod::Delete,
        _ => {
            return Err(invalid(&format!(
                "method {method_text:?} is not one of POST, PUT, PATCH, DELETE"
            )));
        }
    };
    let text = |name: &str| -> Result<Option<String>, ScimError> {
        match field(object, name) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(text)) => Ok(Some(text.clone())),
            Some(_) => Err(invalid(&format!("{name} must be a string"))),
        }
    };
    let bulk_id = text("bulkId")?;
    if let Some(bulk_id) = &bulk_id {
        crate::limits::check_bulk_id(index, bulk_id)?;
    }
    if method == BulkMethod::Post && bulk_id.is_none() {
        return Err(invalid("bulkId is required for POST"));
    }
    let version = text("version")?;
    let path = text("path")?.ok_or_else(|| invalid("path is required"))?;
    crate::limits::check_path(&format!("Operations[{index}].path"), &path)?;
    let (endpoint, target) = parse_path(&path).ok_or_else(|| {
        ScimError::InvalidPath(format!(
            "Operations[{index}]: path {} must be /Users, /Groups, /Users/<id> or /Groups/<id>",
            crate::limits::quoted_prefix(&path)
        ))
    })?;
    if let Some(target) = &target {
        let valid = match bulk_reference(target) {
            Some(reference) => crate::limits::check_bulk_id(index, reference).is_ok(),
            None => crate::limits::is_valid_id(target),
        };
        if !valid {
            return Err(ScimError::InvalidPath(format!(
                "Operations[{index}]: the id in path {} is not a resource id (1 to {} characters \
                 of A-Z, a-z, 0-9, '-' and '_') or a bulkId reference",
                crate::limits::quoted_prefix(&path),
                crate::limits::MAX_ID_BYTES
            )));
        }
    }
    match (method, &target) {
        (BulkMethod::Post, Some(_)) => return Err(invalid("POST takes a path without an id")),
        (BulkMethod::Put | BulkMethod::Patch | BulkMethod::Delete, None) => {
            return Err(invalid(
                "PUT, PATCH and DELETE need a path with a resource id",
            ));
        }
        _ => {}
    }
    let data = match field(object, "data") {
        None | Some(Value::Null) => None,
        Some(data @ Value::Object(_)) => Some(data.clone()),
        Some(_) => return Err(invalid("data must be a JSON object")),
    };
    if method != BulkMethod::Delete && data.is_none() {
        return Err(invalid(&format!("{} needs data", method.as_str())));
    }
    Ok(BulkOperation {
        method,
        bulk_id,
        version,
        path,
        endpoint,
        target,
        data,
    })
}

fn parse_path(path: &str) -> Option<(BulkEndpoint, Option<String>)> {
    let trimmed = path.trim().trim_end_matches('/');
    let mut segments = trimmed.strip_prefix('/')?.splitn(2, '/');
    let endpoint = match segments.next()? {
        "Users" => BulkEndpoint::Users,
        "Groups" => BulkEndpoint::Groups,
        _ => return None,
    };
    match segments.next() {
        None => Some((endpoint, None)),
        Some(id) if !id.is_empty() && !id.contains('/') => Some((endpoint, Some(id.to_owned()))),
        Some(_) => None,
    }
}

/// Bulk attribute names are case-insensitive like every SCIM attribute.
fn field<'a>(object: &'a Map<String, Value>, name: &str) -> Option<&'a Value> {
    object
        .iter()
        .find(|(key, _)| key.eq_ignore_ascii_case(name))
        .map(|(_, value)| value)
}

fn bulk_reference(text: &str) -> Option<&str> {
    text.strip_prefix(BULK_ID_PREFIX)
        .filter(|id| !id.is_empty())
}

fn collect_references(value: &Value, found: &mut BTreeSet<String>) {
    match value {
        Value::String(text) => {
            if let Some(reference) = bulk_reference(text) {
                found.insert(reference.to_owned());
            }
        }
        Value::Array(items) => items
            .iter()
            .for_each(|item| collect_references(item, found)),
        Value::Object(map) => map
            .values()
            .for_each(|item| collect_references(item, found)),
        _ => {}
    }
}

fn substitute(text: &mut String, ids: &HashMap<String, String>) {
    if let Some(id) = bulk_reference(text).and_then(|reference| ids.get(reference)) {
        *text = id.clone();
    }
}

fn substitute_in(value: &mut Value, ids: &HashMap<String, String>) {
    match value {
        Value::String(text) => substitute(text, ids),
        Value::Array(items) => items.iter_mut().for_each(|item| substitute_in(item, ids)),
        Value::Object(map) => map.values_mut().for_each(|item| substitute_in(item, ids)),
        _ => {}
    }
}

/// What the executor should do next.
#[derive(Debug, Clone, PartialEq)]
pub enum BulkStep {
    /// Run operation `index`, with its references resolved.
    Execute {
        index: usize,
        operation: BulkOperation,
    },
    /// Operation `index` cannot run: a reference it needs will never resolve.
    Unresolvable { index: usize, detail: String },
}

/// Orders a bulk request's operations so that every `bulkId` reference is
/// resolved before it is used. Feed back each outcome with [`Self::completed`].
#[derive(Debug)]
pub struct BulkScheduler {
    operations: Vec<BulkOperation>,
    references: Vec<BTreeSet<String>>,
    pending: Vec<usize>,
    declared: HashMap<String, usize>,
    resolved: HashMap<String, String>,
    failed: HashSet<String>,
}

impl BulkScheduler {
    pub fn new(request: &BulkRequest) -> Self {
        let operations = request.operations.clone();
        let references = operations.iter().map(BulkOperation::references).collect();
        let declared = operations
            .iter()
            .enumerate()
            .filter_map(|(index, op)| op.bulk_id.clone().map(|id| (id, index)))
            .collect();
        Self {
            pending: (0..operations.len()).collect(),
            operations,
            references,
            declared,
            resolved: HashMap::new(),
            failed: HashSet::new(),
        }
    }

    /// The next step, in request order wherever references allow; `None` when done.
    pub fn next_step(&mut self) -> Option<BulkStep> {
        if self.pending.is_empty() {
            return None;
        }
        for position in 0..self.pending.len() {
            let index = self.pending[position];
            if let Some(detail) = self.dead_reference(index) {
                self.pending.remove(position);
                return Some(BulkStep::Unresolvable { index, detail });
            }
            if self.references[index]
                .iter()
                .all(|reference| self.resolved.contains_key(reference))
            {
                self.pending.remove(position);
                return Some(BulkStep::Execute {
                    index,
                    operation: self.operations[index].resolved(&self.resolved),
                });
            }
        }
        // Everything left waits on something else that is left: a cycle.
        let index = self.pending.remove(0);
        Some(BulkStep::Unresolvable {
            index,
            detail: "its bulkId references form a cycle that cannot be resolved".into(),
        })
    }

    /// Records the outcome of operation `index`: the id it created, if any.
    /// A failed or id-less outcome makes its `bulkId` unresolvable.
    pub fn completed(&mut self, index: usize, created_id: Option<String>) {
        let Some(bulk_id) = self.operations.get(index).and_then(|op| op.bulk_id.clone()) else {
            return;
        };
        match created_id {
            Some(id) => {
                self.resolved.insert(bulk_id, id);
            }
            None => {
                self.failed.insert(bulk_id);
            }
        }
    }

    fn dead_reference(&self, index: usize) -> Option<String> {
        self.references[index].iter().find_map(|reference| {
            if self.resolved.contains_key(reference) {
                None
            } else if self.failed.contains(reference) {
                Some(format!(
                    "bulkId {reference:?} refers to an operation that failed"
                ))
            } else if !self.declared.contains_key(reference) {
                Some(format!(
                    "bulkId {reference:?} is not declared by any operation in this request"
                ))
            } else if self.declared.get(reference) == Some(&index) {
                Some(format!("bulkId {reference:?} refers to its own operation"))
            } else {
                None
            }
        })
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic)]
mod tests {
    use serde_json::json;

    use super::*;

    /// RFC 7644 §3.7.2: a group created before the users it contains.
    fn rfc_forward_reference() -> Value {
        json!({
          "schemas": ["urn:ietf:params:scim:api:messages:2.0:BulkRequest"],
          "Operations": [
            {"method": "POST", "path": "/Groups", "bulkId": "qwerty",
             "data": {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
                      "displayName": "Group A",
                      "members": [{"type": "User", "value": "bulkId:ytrewq"}]}},
            {"method": "POST", "path": "/Users", "bulkId": "ytrewq",
             "data": {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
                      "userName": "Alice"}}
          ]
        })
    }

    fn run(request: &BulkRequest, fail: &[usize]) -> Vec<(usize, bool)> {
        let mut scheduler = BulkScheduler::new(request);
        let mut order = Vec::new();
        while let Some(step) = scheduler.next_step() {
            match step {
                BulkStep::Execute { index, .. } => {
                    let ok = !fail.contains(&index);
                    scheduler.completed(index, ok.then(|| format!("id-{index}")));
                    order.push((index, ok));
                }
                BulkStep::Unresolvable { index, .. } => {
                    scheduler.completed(index, None);
                    order.push((index, false));
                }
            }
        }
        order
    }

    #[test]
    fn parses_the_rfc_example_operations() {
        let request = parse_bulk_request(&rfc_forward_reference(), 10).unwrap();
        assert_eq!(request.fail_on_errors, None);
        assert_eq!(request.operations.len(), 2);
        let group = &request.operations[0];
        assert_eq!(group.method, BulkMethod::Post);
        assert_eq!(group.endpoint, BulkEndpoint::Groups);
        assert_eq!(group.references(), BTreeSet::from(["ytrewq".to_owned()]));
    }

    #[test]
    fn forward_references_wait_for_their_target() {
        let request = parse_bulk_request(&rfc_forward_reference(), 10).unwrap();
        let mut scheduler = BulkScheduler::new(&request);
        let Some(BulkStep::Execute { index: 1, .. }) = scheduler.next_step() else {
            panic!("the user must be created first");
        };
        scheduler.completed(1, Some("u-1".into()));
        let Some(BulkStep::Execute {
            index: 0,
            operation,
        }) = scheduler.next_step()
        else {
            panic!("then the group");
        };
        assert_eq!(operation.data.unwrap()["members"][0]["value"], "u-1");
        assert_eq!(scheduler.next_step(), None);
    }

    #[test]
    fn references_in_paths_are_resolved() {
        let body = json!({
          "schemas": [BULK_REQUEST_SCHEMA],
          "Operations": [
            {"method": "POST", "path": "/Users", "bulkId": "a", "data": {"userName": "a"}},
            {"method": "PATCH", "path": "/Users/bulkId:a",
             "data": {"Operations": [{"op": "replace", "path": "active", "value": false}]}}
          ]
        });
        let request = parse_bulk_request(&body, 10).unwrap();
        let mut scheduler = BulkScheduler::new(&request);
        assert!(matches!(
            scheduler.next_step(),
            Some(BulkStep::Execute { index: 0, .. })
        ));
        scheduler.completed(0, Some("id-a".into()));
        let Some(BulkStep::Execute { operation, .. }) = scheduler.next_step() else {
            panic!("the patch runs once its target exists");
        };
        assert_eq!(operation.target.as_deref(), Some("id-a"));
    }

    #[test]
    fn cycles_failed_and_undeclared_references_are_unresolvable() {
        let body = json!({
          "schemas": [BULK_REQUEST_SCHEMA],
          "Operations": [
            {"method": "POST", "path": "/Groups", "bulkId": "g1",
             "data": {"displayName": "1", "members": [{"value": "bulkId:g2"}]}},
            {"method": "POST", "path": "/Groups", "bulkId": "g2",
             "data": {"displayName": "2", "members": [{"value": "bulkId:g1"}]}},
            {"method": "POST", "path": "/Users", "bulkId": "u", "data": {"userName": "u"}},
            {"method": "POST", "path": "/Groups", "bulkId": "g3",
             "data": {"displayName": "3", "members": [{"value": "bulkId:u"}]}},
            {"method": "POST", "path": "/Groups", "bulkId": "g4",
             "data": {"displayName": "4", "members": [{"value": "bulkId:nobody"}]}}
          ]
        });
        let request = parse_bulk_request(&body, 10).unwrap();
        let order = run(&request, &[2]);
        // The user (2) fails, so the group needing it (3) cannot run; 4 names
        // an undeclared id; 0 and 1 wait on each other.
        assert_eq!(
            order,
            vec![(2, false), (3, false), (4, false), (0, false), (1, false)]
        );
    }

    #[test]
    fn limits_and_structure_are_checked() {
        let too_many = json!({"schemas": [BULK_REQUEST_SCHEMA], "Operations": [
            {"method": "DELETE", "path": "/Users/1"}, {"method": "DELETE", "path": "/Users/2"}]});
        assert_eq!(
            parse_bulk_request(&too_many, 1),
            Err(BulkError::TooManyOperations { count: 2, max: 1 })
        );
        let cases = [
            json!({"Operations": []}),
            json!({"schemas": [BULK_REQUEST_SCHEMA]}),
            json!({"schemas": [BULK_REQUEST_SCHEMA], "failOnErrors": 0, "Operations": []}),
            json!({"schemas": [BULK_REQUEST_SCHEMA], "Operations": [{"method": "GET", "path": "/Users"}]}),
            json!({"schemas": [BULK_REQUEST_SCHEMA], "Operations": [{"method": "POST", "path": "/Users", "data": {}}]}),
            json!({"schemas": [BULK_REQUEST_SCHEMA], "Operations": [{"method": "POST", "bulkId": "x", "path": "/Widgets", "data": {}}]}),
            json!({"schemas": [BULK_REQUEST_SCHEMA], "Operations": [{"method": "PATCH", "path": "/Users"}]}),
            json!({"schemas": [BULK_REQUEST_SCHEMA], "Operations": [{"method": "PUT", "path": "/Users/1"}]}),
            json!({"schemas": [BULK_REQUEST_SCHEMA], "Operations": [
                {"method": "POST", "bulkId": "x", "path": "/Users", "data": {}},
                {"method": "POST", "bulkId": "x", "path": "/Users", "data": {}}]}),
        ];
        for case in cases {
            assert!(
                matches!(parse_bulk_request(&case, 10), Err(BulkError::Invalid(_))),
                "{case} must be rejected"
            );
        }
        let ok = json!({"schemas": [BULK_REQUEST_SCHEMA], "failOnErrors": 2, "Operations": [
            {"method": "delete", "path": "/Groups/abc"}]});
        let request = parse_bulk_request(&ok, 10).unwrap();
        assert_eq!(request.fail_on_errors, Some(2));
        assert_eq!(request.operations[0].target.as_deref(), Some("abc"));
    }
}
