//! Signing in with a one-time link, and the page after signing out.

use maud::{Markup, html};

use super::page;

/// The page a sign-in link opens. Opening spends nothing (mail scanners open links); the
/// button does.
pub fn sign_in_prompt(secret: &str, usable: bool) -> Markup {
    page(
        "Sign in",
        None,
        html! {
            div.card style="max-width: 520px; margin: 40px auto;" {
                h1 { "Sign in to the Account Center" }
                @if usable {
                    p.lead { "This one-time link signs you in as an administrator of your organisation's SCIM provisioning. It works once." }
                    form method="post" action="/signin" {
                        input type="hidden" name="link" value=(secret);
                        button type="submit" id="sign-in" { "Sign in" }
                    }
                } @else {
                    div.notice.bad { "This sign-in link has already been used or has expired." }
                    p { "Ask your vendor's operator for a new link." }
                }
            }
        },
    )
}

pub fn signed_out_page() -> Markup {
    page(
        "Signed out",
        None,
        html! {
            div.card style="max-width: 520px; margin: 40px auto;" {
                h1 { "You are signed out" }
                p { "Your session has ended. To sign in again, open a new sign-in link from your vendor's operator." }
            }
        },
    )
}
