//! `scimctl admin invite`: a one-time sign-in link to the account center for a tenant's
//! administrator, made through the account center's API with the operator credential.

use anyhow::{Context as _, Result, bail};
use serde_json::{Value, json};

use crate::cli::Cli;
use crate::render::Rendered;

pub async fn invite(cli: &Cli, tenant: &str, email: Option<&str>) -> Result<Rendered> {
    let url = format!(
        "{}/api/v1/invites",
        cli.account_center_url.trim_end_matches('/')
    );
    let mut body = json!({ "tenant_id": tenant });
    if let Some(email) = email {
        body["email"] = json!(email);
    }
    let response = reqwest::Client::builder()
        .timeout(std::time::Duration::from_secs(cli.timeout_secs))
        .build()?
        .post(&url)
        .bearer_auth(&cli.admin_token)
        .json(&body)
        .send()
        .await
        .with_context(|| {
            format!("cannot reach the account center at {url} (--account-center-url / SCIMCTL_ACCOUNT_CENTER_URL)")
        })?;
    let status = response.status();
    let answer: Value = response.json().await.unwrap_or(Value::Null);
    if !status.is_success() {
        let message = answer["error"].as_str().unwrap_or("no error message");
        bail!("the account center refused the invitation ({status}): {message}");
    }
    let link = answer["url"].as_str().unwrap_or_default();
    let expires_at = answer["expires_at"].as_str().unwrap_or_default();
    Ok(Rendered {
        text: format!(
            "one-time sign-in link for {} of tenant {tenant} (valid once, until {expires_at}):\n{link}\n",
            answer["email"].as_str().unwrap_or("the admin"),
        ),
        json: json!({ "url": link, "expires_at": expires_at }),
    })
}
