//! Readable error messages, in particular for gRPC statuses.

use tonic::{Code, Status};

/// Formats an error chain for the terminal. A gRPC status is shown as its
/// code name, number and message, with a hint for the common operator
/// mistakes (wrong admin token, service not running).
pub fn describe(error: &anyhow::Error) -> String {
    let Some(status) = error
        .chain()
        .find_map(|cause| cause.downcast_ref::<Status>())
    else {
        return format!("{error:#}");
    };
    // The outermost context says which call failed ("create tenant").
    let action = error.to_string();
    let mut message = format!("{action}: {}", status_text(status));
    if let Some(hint) = hint(status.code()) {
        message.push_str("\nhint: ");
        message.push_str(hint);
    }
    message
}

fn status_text(status: &Status) -> String {
    let code = status.code();
    let detail = status.message();
    if detail.is_empty() {
        format!("{code:?} (gRPC {}): {}", code as i32, code.description())
    } else {
        format!("{code:?} (gRPC {}): {detail}", code as i32)
    }
}

fn hint(code: Code) -> Option<&'static str> {
    match code {
        Code::Unauthenticated => Some(
            "the operator credential was refused: pass --admin-token or set ADMIN_TOKEN to the services' ADMIN_TOKEN",
        ),
        Code::Unavailable => {
            Some("the service is not reachable: check that it runs and the --*-url flags")
        }
        Code::DeadlineExceeded => Some("the call timed out: retry, or raise --timeout-secs"),
        _ => None,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use anyhow::Context;

    #[test]
    fn status_is_shown_with_code_and_message() {
        let result: Result<(), Status> = Err(Status::not_found("tenant t1 not found"));
        let error = result.context("create SCIM configuration").unwrap_err();
        assert_eq!(
            describe(&error),
            "create SCIM configuration: NotFound (gRPC 5): tenant t1 not found"
        );
    }

    #[test]
    fn unauthenticated_gets_a_hint() {
        let result: Result<(), Status> =
            Err(Status::unauthenticated("operator credential required"));
        let text = describe(&result.context("list tenants").unwrap_err());
        assert!(text.contains("Unauthenticated (gRPC 16)"), "{text}");
        assert!(text.contains("ADMIN_TOKEN"), "{text}");
    }

    #[test]
    fn other_errors_show_their_chain() {
        let error =
            anyhow::anyhow!("connection refused").context("cannot connect to audit-service");
        assert_eq!(
            describe(&error),
            "cannot connect to audit-service: connection refused"
        );
    }
}
