//! The provisioning log as an admin searches it: filters, a page of records newest first,
//! a detail view per record, and exports of the current filter.

use std::collections::HashMap;

use maud::{Markup, html};
use scim_rpc::audit::AuditRecord;
use serde::{Deserialize, Serialize};

use super::{Chrome, page, when};

/// Operations an admin can filter on: (value sent to the audit service, label).
pub const OPERATIONS: [(&str, &str); 10] = [
    ("", "Any operation"),
    ("create", "Create"),
    ("update", "Update (PUT or PATCH)"),
    ("delete", "Delete"),
    ("reject", "Rejected request"),
    ("license.assign", "License assigned"),
    ("license.release", "License released"),
    ("license.deny", "License denied"),
    ("admin.", "Account center actions"),
    ("quarantine", "Set aside (quarantined)"),
];

/// The log's filters, as the form and the export links carry them.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct LogFilterForm {
    /// `YYYY-MM-DDTHH:MM` (a datetime-local field, UTC) or RFC 3339.
    pub from: String,
    pub to: String,
    /// userName, displayName or resource id.
    pub user: String,
    pub operation: String,
    /// "success", "failure" or empty.
    pub outcome: String,
    /// Opaque cursor of the next page.
    pub page: String,
}

impl LogFilterForm {
    /// The filters as a query string, without the page cursor.
    pub fn query_string(&self) -> String {
        let filters = Self {
            page: String::new(),
            ..self.clone()
        };
        serde_urlencoded::to_string(&filters).unwrap_or_default()
    }
}

pub struct LogPage<'a> {
    pub chrome: Chrome<'a>,
    pub filter: LogFilterForm,
    pub records: Vec<AuditRecord>,
    /// Token id → the prefix the tokens table shows, so the two can be matched.
    pub token_prefixes: &'a HashMap<String, String>,
    pub next_page: String,
}

pub fn log_page(view: &LogPage<'_>) -> Markup {
    let filter = &view.filter;
    let query = filter.query_string();
    page(
        "Provisioning log",
        Some(&view.chrome),
        html! {
            div.page-head {
                div {
                    h1 { "Provisioning log" }
                    p.lead { "Every action your identity provider took, accepted or rejected, and every change made in the account center." }
                }
                div {
                    a.button.secondary href={ "/log/export.csv?" (query) } id="export-csv" { "Export CSV" }
                    " "
                    a.button.secondary href={ "/log/export.jsonl?" (query) } id="export-jsonl" { "Export JSON lines" }
                }
            }
            div.card {
                form method="get" action="/log" {
                    div.row {
                        div.field { label for="from" { "From (UTC)" } input type="datetime-local" id="from" name="from" value=(filter.from); }
                        div.field { label for="to" { "To (UTC)" } input type="datetime-local" id="to" name="to" value=(filter.to); }
                        div.field { label for="user" { "User (userName, group name or id)" } input type="text" id="user" name="user" value=(filter.user); }
                        div.field {
                            label for="operation" { "Operation" }
                            select id="operation" name="operation" {
                                @for (value, label) in OPERATIONS { option value=(value) selected[filter.operation == value] { (label) } }
                            }
                        }
                        div.field {
                            label for="outcome" { "Outcome" }
                            select id="outcome" name="outcome" {
                                option value="" selected[filter.outcome.is_empty()] { "Any outcome" }
                                option value="success" selected[filter.outcome == "success"] { "Success" }
                                option value="failure" selected[filter.outcome == "failure"] { "Failure" }
                            }
                        }
                        div.field { button type="submit" id="apply-filter" { "Apply" } }
                    }
                }
            }
            div.card {
                @if view.records.is_empty() {
                    p.empty id="no-records" { "No provisioning action matches these filters." }
                } @else {
                    div.table-wrap { table id="log" {
                        thead { tr { th { "Time" } th { "Operation" } th { "Target" } th { "Outcome" } th { "Detail" } th { "By" } } }
                        tbody { @for record in &view.records {
                            tr {
                                td { a href={ "/log/" (record.sequence) } { (when(&record.occurred_at)) } }
                                td { (record.operation) }
                                td { (record.target_name) @if record.target_name.is_empty() { span.mono.muted { (record.target_id) } } }
                                td { @if record.outcome == "success" { span.badge.ok { "success" } } @else { span.badge.bad { "failure" @if record.status != 0 { " " (record.status) } } } }
                                td { (record.detail) }
                                td { (actor(record, view.token_prefixes)) }
                            }
                        } }
                    } }
                }
                div.pager {
                    a href={ "/log?" (query) } { "Newest" }
                    @if !view.next_page.is_empty() {
                        a.button.secondary href={ "/log?" (query) "&page=" (view.next_page) } id="next-page" { "Older →" }
                    }
                }
            }
        },
    )
}

/// Who acted, as a person reads it.
fn actor(record: &AuditRecord, token_prefixes: &HashMap<String, String>) -> Markup {
    html! {
        @if !record.actor_admin.is_empty() {
            (admin_label(&record.actor_admin))
        } @else if !record.actor_token_id.is_empty() {
            "IdP, token " span.mono { (token_label(&record.actor_token_id, token_prefixes)) }
        } @else {
            span.muted { "system" }
        }
    }
}

/// `admin:<id>:<email>` shows as the e-mail.
fn admin_label(actor: &str) -> &str {
    actor
        .strip_prefix("admin:")
        .and_then(|rest| rest.split_once(':'))
        .map_or(actor, |(_, email)| email)
}

/// The token's prefix as the tokens table shows it; for a token no longer listed (its
/// configuration deleted), the end of its id (the random part of a UUIDv7).
fn token_label(token_id: &str, token_prefixes: &HashMap<String, String>) -> String {
    match token_prefixes.get(token_id) {
        Some(prefix) => format!("{prefix}…"),
        None => format!(
            "…{}",
            token_id
                .get(token_id.len().saturating_sub(8)..)
                .unwrap_or(token_id)
        ),
    }
}

pub fn record_page(
    chrome: &Chrome<'_>,
    record: &AuditRecord,
    token_prefixes: &HashMap<String, String>,
) -> Markup {
    let event = serde_json::from_str::<serde_json::Value>(&record.event_json)
        .and_then(|value| serde_json::to_string_pretty(&value))
        .unwrap_or_else(|_| record.event_json.clone());
    page(
        "Provisioning record",
        Some(chrome),
        html! {
            p { a href="/log" { "← Provisioning log" } }
            h1 { (record.operation) " · " (record.target_name) }
            div.card {
                dl.kv id="record" {
                    dt { "Time" } dd { (when(&record.occurred_at)) }
                    dt { "Operation" } dd { (record.operation) }
                    dt { "Outcome" } dd { (record.outcome) @if record.status != 0 { " (HTTP " (record.status) ")" } }
                    dt { "Resource" } dd { (record.resource_type) " " span.mono { (record.target_id) } }
                    dt { "Name" } dd { (record.target_name) }
                    dt { "Detail" } dd { (record.detail) }
                    dt { "By" } dd { (actor(record, token_prefixes)) }
                    dt { "Configuration" } dd.mono { (record.actor_config_id) }
                    dt { "Token" } dd.mono { (record.actor_token_id) }
                    dt { "Correlation id" } dd.mono { (record.correlation_id) }
                    dt { "Sequence" } dd.mono { (record.sequence) }
                }
                h3 { "Event" }
                pre { (event) }
            }
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_show_as_the_prefix_the_tokens_table_shows() {
        let prefixes = HashMap::from([("tok-1".to_owned(), "scimtok_ab12".to_owned())]);
        assert_eq!(token_label("tok-1", &prefixes), "scimtok_ab12…");
        assert_eq!(
            token_label("01a237e9-d368-7300-9945-2656dae70354", &prefixes),
            "…dae70354"
        );
    }

    #[test]
    fn admins_show_as_their_email() {
        assert_eq!(admin_label("admin:a1:ada@example.com"), "ada@example.com");
        assert_eq!(admin_label("operator"), "operator");
    }

    #[test]
    fn the_query_string_keeps_filters_and_drops_the_cursor() {
        let filter = LogFilterForm {
            user: "ada@example.com".into(),
            outcome: "failure".into(),
            page: "abc".into(),
            ..LogFilterForm::default()
        };
        let query = filter.query_string();
        assert!(query.contains("user=ada%40example.com"), "{query}");
        assert!(query.contains("outcome=failure"));
        assert!(!query.contains("abc"));
    }
}
