//! Exports of the provisioning log (CSV and JSON lines), streamed page by page so an export
//! of any size holds one page in memory.

use axum::body::{Body, Bytes};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use futures::{StreamExt as _, TryStreamExt as _};
use scim_rpc::audit::{AuditQueryRequest, AuditRecord};
use serde_json::json;

use crate::backend::{Backend, Scope};
use crate::error::AppError;

/// Records fetched per round trip to the audit service.
const EXPORT_PAGE_SIZE: u32 = 1000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Csv,
    JsonLines,
}

impl Format {
    fn content_type(self) -> &'static str {
        match self {
            Self::Csv => "text/csv; charset=utf-8",
            Self::JsonLines => "application/x-ndjson",
        }
    }

    fn file_name(self) -> &'static str {
        match self {
            Self::Csv => "provisioning-log.csv",
            Self::JsonLines => "provisioning-log.jsonl",
        }
    }
}

pub const CSV_HEADER: &str = "time,operation,outcome,status,resource_type,target_id,target_name,detail,actor_admin,config_id,token_id,correlation_id,sequence\r\n";

/// One CSV line (RFC 4180 quoting). A cell that a spreadsheet would run as a formula
/// (`=`, `+`, `-`, `@` first) is prefixed with `'`: userNames come from the IdP.
pub fn csv_row(record: &AuditRecord) -> String {
    let status = if record.status == 0 {
        String::new()
    } else {
        record.status.to_string()
    };
    let sequence = record.sequence.to_string();
    let cells = [
        record.occurred_at.as_str(),
        &record.operation,
        &record.outcome,
        &status,
        &record.resource_type,
        &record.target_id,
        &record.target_name,
        &record.detail,
        &record.actor_admin,
        &record.actor_config_id,
        &record.actor_token_id,
        &record.correlation_id,
        &sequence,
    ];
    let mut line = cells
        .iter()
        .map(|cell| csv_cell(cell))
        .collect::<Vec<_>>()
        .join(",");
    line.push_str("\r\n");
    line
}

fn csv_cell(value: &str) -> String {
    let guarded = if value.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{value}")
    } else {
        value.to_owned()
    };
    if guarded.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", guarded.replace('"', "\"\""))
    } else {
        guarded
    }
}

/// One record as a JSON object on one line, with the event embedded as JSON.
pub fn json_line(record: &AuditRecord) -> String {
    let event = serde_json::from_str::<serde_json::Value>(&record.event_json)
        .unwrap_or(serde_json::Value::Null);
    let mut line = record_json(record, event).to_string();
    line.push('\n');
    line
}

/// A record as the API and the JSON-lines export show it.
pub fn record_json(record: &AuditRecord, event: serde_json::Value) -> serde_json::Value {
    json!({
        "sequence": record.sequence,
        "time": record.occurred_at,
        "operation": record.operation,
        "outcome": record.outcome,
        "status": (record.status != 0).then_some(record.status),
        "resource_type": record.resource_type,
        "target_id": record.target_id,
        "target_name": record.target_name,
        "detail": record.detail,
        "actor_admin": record.actor_admin,
        "config_id": record.actor_config_id,
        "token_id": record.actor_token_id,
        "correlation_id": record.correlation_id,
        "event": event,
    })
}

/// Streams every record `query` selects (newest first) in `format`.
pub fn export(
    backend: Backend,
    scope: Scope,
    query: AuditQueryRequest,
    format: Format,
) -> Response {
    let first = AuditQueryRequest {
        page_size: EXPORT_PAGE_SIZE,
        newest_first: true,
        page_token: String::new(),
        ..query
    };
    // State: the next request, or None once the last page is out.
    let pages = futures::stream::try_unfold(Some(first), move |next| {
        let backend = backend.clone();
        let scope = scope.clone();
        async move {
            let Some(request) = next else {
                return Ok::<_, AppError>(None);
            };
            let response = backend.log(&scope, request.clone()).await?;
            let chunk: String = response
                .records
                .iter()
                .map(|record| match format {
                    Format::Csv => csv_row(record),
                    Format::JsonLines => json_line(record),
                })
                .collect();
            let following = (!response.next_page_token.is_empty()).then_some(AuditQueryRequest {
                page_token: response.next_page_token,
                ..request
            });
            Ok(Some((Bytes::from(chunk), following)))
        }
    });
    let header_line = match format {
        Format::Csv => CSV_HEADER,
        Format::JsonLines => "",
    };
    let body = futures::stream::once(async move { Ok(Bytes::from_static(header_line.as_bytes())) })
        .chain(pages)
        .map_err(|error: AppError| std::io::Error::other(error.public_message()));
    let disposition = format!("attachment; filename=\"{}\"", format.file_name());
    let mut response = Body::from_stream(body).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(format.content_type()),
    );
    if let Ok(value) = HeaderValue::from_str(&disposition) {
        headers.insert(header::CONTENT_DISPOSITION, value);
    }
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record() -> AuditRecord {
        AuditRecord {
            sequence: 7,
            occurred_at: "2026-12-02T17:00:00Z".into(),
            operation: "create".into(),
            outcome: "failure".into(),
            status: 409,
            target_name: "=HYPERLINK(\"x\")".into(),
            detail: "userName \"ada\" exists, already".into(),
            event_json: r#"{"type":"RequestRejected"}"#.into(),
            ..AuditRecord::default()
        }
    }

    #[test]
    fn csv_rows_quote_and_defuse_formulas() {
        let row = csv_row(&record());
        assert!(
            row.starts_with("2026-12-02T17:00:00Z,create,failure,409,"),
            "{row}"
        );
        assert!(row.contains(r#""'=HYPERLINK(""x"")""#), "{row}");
        assert!(
            row.contains(r#""userName ""ada"" exists, already""#),
            "{row}"
        );
        assert!(row.ends_with(",7\r\n"));
        assert_eq!(
            row.matches(',').count() - 1,
            CSV_HEADER.matches(',').count(),
            "the detail's quoted comma aside, one cell per column"
        );
    }

    #[test]
    fn json_lines_embed_the_event() {
        let line = json_line(&record());
        assert!(line.ends_with('\n') && !line.trim_end().contains('\n'));
        let value: serde_json::Value = serde_json::from_str(&line).unwrap_or_default();
        assert_eq!(value["event"]["type"], "RequestRejected");
        assert_eq!(value["status"], 409);
        assert_eq!(value["sequence"], 7);
    }
}
