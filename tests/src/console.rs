//! The account center as its tests drive it over HTTP: the operator (bearer credential) and
//! signed-in admins (session cookie and CSRF token), with redirects left for the test to see.

use anyhow::Context as _;
use reqwest::header::{COOKIE, SET_COOKIE};
use serde_json::{Value, json};

use crate::ADMIN_TOKEN;

fn client() -> anyhow::Result<reqwest::Client> {
    Ok(reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()?)
}

/// The operator's view of the console API.
pub struct Operator {
    http: reqwest::Client,
    base_url: String,
}

/// A signed-in admin.
#[derive(Clone)]
pub struct AdminSession {
    http: reqwest::Client,
    pub base_url: String,
    /// `name=value` of the session cookie.
    pub cookie: String,
    pub csrf: String,
    pub tenant_id: String,
}

/// An answer: status, headers and body (JSON when it parses).
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub text: String,
}

impl Answer {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.text).unwrap_or(Value::Null)
    }

    pub fn location(&self) -> Option<&str> {
        self.headers
            .get(reqwest::header::LOCATION)
            .and_then(|value| value.to_str().ok())
    }

    async fn read(response: reqwest::Response) -> anyhow::Result<Self> {
        Ok(Self {
            status: response.status().as_u16(),
            headers: response.headers().clone(),
            text: response.text().await?,
        })
    }
}

impl Operator {
    pub fn new(base_url: &str) -> anyhow::Result<Self> {
        Ok(Self {
            http: client()?,
            base_url: base_url.to_owned(),
        })
    }

    pub async fn send(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> anyhow::Result<Answer> {
        let mut request = self
            .http
            .request(method, format!("{}{path}", self.base_url))
            .bearer_auth(ADMIN_TOKEN);
        if let Some(body) = body {
            request = request.json(&body);
        }
        Answer::read(request.send().await?).await
    }

    /// A one-time sign-in link for an admin of `tenant_id`.
    pub async fn invite(&self, tenant_id: &str) -> anyhow::Result<String> {
        let answer = self
            .send(
                reqwest::Method::POST,
                "/api/v1/invites",
                Some(json!({ "tenant_id": tenant_id })),
            )
            .await?;
        anyhow::ensure!(answer.status == 201, "invite: {answer:?}");
        answer.json()["url"]
            .as_str()
            .map(str::to_owned)
            .context("invite without a url")
    }

    /// Invites and signs in an admin of `tenant_id`.
    pub async fn admin_of(&self, tenant_id: &str) -> anyhow::Result<AdminSession> {
        let link = self.invite(tenant_id).await?;
        AdminSession::sign_in(&self.base_url, &link).await
    }
}

/// The secret of a sign-in link (`…/signin/<secret>`).
pub fn link_secret(link: &str) -> &str {
    link.rsplit('/').next().unwrap_or_default()
}

impl AdminSession {
    /// Spends a sign-in link as the console's button does.
    pub async fn sign_in(base_url: &str, link: &str) -> anyhow::Result<Self> {
        let http = client()?;
        let answer = Answer::read(
            http.post(format!("{base_url}/signin"))
                .form(&[("link", link_secret(link))])
                .send()
                .await?,
        )
        .await?;
        anyhow::ensure!(answer.status == 303, "sign-in: {answer:?}");
        let cookie = answer
            .headers
            .get(SET_COOKIE)
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.split(';').next())
            .context("no session cookie")?
            .to_owned();
        let mut session = Self {
            http,
            base_url: base_url.to_owned(),
            cookie,
            csrf: String::new(),
            tenant_id: String::new(),
        };
        let who = session.get("/api/v1/session").await?;
        anyhow::ensure!(who.status == 200, "session: {who:?}");
        let who = who.json();
        session.csrf = who["csrf_token"].as_str().unwrap_or_default().to_owned();
        session.tenant_id = who["tenant_id"].as_str().unwrap_or_default().to_owned();
        Ok(session)
    }

    pub async fn get(&self, path: &str) -> anyhow::Result<Answer> {
        Answer::read(
            self.http
                .get(format!("{}{path}", self.base_url))
                .header(COOKIE, &self.cookie)
                .send()
                .await?,
        )
        .await
    }

    /// A JSON API call; changes carry the CSRF header unless `csrf` is false.
    pub async fn api(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
        csrf: bool,
    ) -> anyhow::Result<Answer> {
        let mut request = self
            .http
            .request(method, format!("{}{path}", self.base_url))
            .header(COOKIE, &self.cookie);
        if csrf {
            request = request.header("x-csrf-token", &self.csrf);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        Answer::read(request.send().await?).await
    }

    /// A page form post, with the session's CSRF token unless `csrf` is false.
    pub async fn post_form(
        &self,
        path: &str,
        fields: &[(&str, &str)],
        csrf: bool,
    ) -> anyhow::Result<Answer> {
        let mut fields: Vec<(&str, &str)> = fields.to_vec();
        if csrf {
            fields.push(("csrf", &self.csrf));
        }
        Answer::read(
            self.http
                .post(format!("{}{path}", self.base_url))
                .header(COOKIE, &self.cookie)
                .form(&fields)
                .send()
                .await?,
        )
        .await
    }

    /// `/api/v1/tenants/<own tenant><rest>`.
    pub fn tenant_path(&self, rest: &str) -> String {
        format!("/api/v1/tenants/{}{rest}", self.tenant_id)
    }
}
