//! The console's HTML: pure functions from data to markup (maud escapes every value), so
//! pages are tested without a server and handlers only gather data.

mod config;
mod log;
mod overview;
mod sign_in;

use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use maud::{DOCTYPE, Markup, html};

pub use config::{
    ConfigPage, DeleteConfirmation, LicenseSection, NewTokenPage, TokenRow, config_page,
    delete_confirmation, new_config_page, new_token_page, parse_offering_value,
};
pub use log::{LogFilterForm, LogPage, log_page, record_page};
pub use overview::{ConfigCard, OverviewPage, overview_page};
pub use sign_in::{sign_in_prompt, signed_out_page};

use crate::session::CSRF_FIELD;

/// The signed-in frame around a page.
pub struct Chrome<'a> {
    pub tenant_name: &'a str,
    pub admin_email: &'a str,
    pub csrf: &'a str,
    pub active: Nav,
}

#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Nav {
    Overview,
    Log,
}

pub fn page(title: &str, chrome: Option<&Chrome<'_>>, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " · Account Center" }
                link rel="stylesheet" href="/assets/style.css";
                script src="/assets/app.js" defer {}
            }
            body {
                header.top {
                    div.bar {
                        a.brand href="/" { span.mark { "S" } "Account Center" }
                        @if let Some(chrome) = chrome {
                            nav.main aria-label="Main" {
                                a.active[chrome.active == Nav::Overview] href="/" { "SCIM configurations" }
                                a.active[chrome.active == Nav::Log] href="/log" { "Provisioning log" }
                            }
                            div.who {
                                span { (chrome.admin_email) " · " strong { (chrome.tenant_name) } }
                                form.inline method="post" action="/signout" {
                                    (csrf_field(chrome.csrf))
                                    button.secondary.small type="submit" { "Sign out" }
                                }
                            }
                        }
                    }
                }
                main { (body) }
                footer { "SCIM 2.0 provisioning · Microsoft Entra ID, Okta and other identity providers" }
            }
        }
    }
}

pub fn error_page(status: StatusCode, message: &str) -> Markup {
    let title = status.canonical_reason().unwrap_or("Error");
    page(
        title,
        None,
        html! {
            div.card {
                h1 { (title) }
                p { (message) }
                p { a href="/" { "Back to the account center" } }
            }
        },
    )
}

pub fn csrf_field(token: &str) -> Markup {
    html! { input type="hidden" name=(CSRF_FIELD) value=(token); }
}

/// A read-only field with a copy button.
pub fn copy_field(id: &str, label: &str, value: &str) -> Markup {
    html! {
        div.field {
            label for=(id) { (label) }
            div.copy {
                input type="text" id=(id) name=(id) value=(value) readonly;
                button.secondary type="button" data-copy=(id) { "Copy" }
            }
        }
    }
}

/// An RFC 3339 time as people read it; empty stays empty.
pub fn when(rfc3339: &str) -> String {
    DateTime::parse_from_rfc3339(rfc3339)
        .map(|time| {
            time.with_timezone(&Utc)
                .format("%Y-%m-%d %H:%M:%S UTC")
                .to_string()
        })
        .unwrap_or_else(|_| rfc3339.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_escaped() {
        let markup = error_page(StatusCode::NOT_FOUND, "<script>alert(1)</script>").into_string();
        assert!(!markup.contains("<script>alert"), "{markup}");
        assert!(markup.contains("&lt;script&gt;"));
    }

    #[test]
    fn times_are_shown_in_utc() {
        assert_eq!(when("2026-12-02T18:30:00+01:00"), "2026-12-02 17:30:00 UTC");
        assert_eq!(when(""), "");
    }
}
