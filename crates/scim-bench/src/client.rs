//! SCIM calls over one shared HTTP client. Every call waits for a slot of the global
//! concurrency limit, is timed from the moment it has one until its body is read, and is
//! recorded under its operation name.

use std::sync::Arc;
use std::time::Instant;

use anyhow::{Context as _, bail};
use reqwest::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE, HeaderMap, HeaderValue};
use reqwest::{Method, StatusCode};
use serde_json::Value;
use tokio::sync::Semaphore;

use crate::stats::{ErrorSample, Recorder};

const SCIM_JSON: &str = "application/scim+json";

/// A request that failed (non-2xx that was not tolerated, or a transport error). It has
/// already been counted and, if among the first, sampled.
#[derive(Debug, Clone)]
pub struct Failed {
    pub status: Option<u16>,
}

/// A successful (or tolerated) response.
#[derive(Debug, Clone)]
pub struct Reply {
    pub status: StatusCode,
    pub body: Value,
}

/// One page of `GET /Users` or `GET /Groups`.
#[derive(Debug, Clone, Default)]
pub struct Page {
    pub total_results: u64,
    pub resources: Vec<Value>,
}

#[derive(Clone)]
pub struct Scim {
    http: reqwest::Client,
    base: Arc<str>,
    slots: Arc<Semaphore>,
    recorder: Arc<Recorder>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resource {
    Users,
    Groups,
}

impl Resource {
    fn path(self) -> &'static str {
        match self {
            Resource::Users => "Users",
            Resource::Groups => "Groups",
        }
    }
}

/// Query of a list request.
#[derive(Debug, Clone, Default)]
pub struct ListQuery<'a> {
    pub filter: Option<&'a str>,
    pub start_index: Option<usize>,
    pub count: Option<usize>,
    pub attributes: Option<&'a str>,
    pub excluded_attributes: Option<&'a str>,
}

impl ListQuery<'_> {
    fn pairs(&self) -> Vec<(&'static str, String)> {
        let mut q = Vec::new();
        if let Some(f) = self.filter {
            q.push(("filter", f.to_owned()));
        }
        if let Some(s) = self.start_index {
            q.push(("startIndex", s.to_string()));
        }
        if let Some(c) = self.count {
            q.push(("count", c.to_string()));
        }
        if let Some(a) = self.attributes {
            q.push(("attributes", a.to_owned()));
        }
        if let Some(a) = self.excluded_attributes {
            q.push(("excludedAttributes", a.to_owned()));
        }
        q
    }
}

impl Scim {
    pub fn new(
        base_url: &str,
        token: &str,
        concurrency: usize,
        timeout: std::time::Duration,
        recorder: Arc<Recorder>,
    ) -> anyhow::Result<Self> {
        let mut headers = HeaderMap::new();
        let mut auth = HeaderValue::from_str(&format!("Bearer {token}"))
            .context("the token is not a valid header value")?;
        auth.set_sensitive(true);
        headers.insert(AUTHORIZATION, auth);
        headers.insert(ACCEPT, HeaderValue::from_static(SCIM_JSON));
        let http = reqwest::Client::builder()
            .default_headers(headers)
            .timeout(timeout)
            .pool_max_idle_per_host(concurrency)
            .tcp_nodelay(true)
            .build()
            .context("building the HTTP client")?;
        Ok(Self {
            http,
            base: base_url.trim_end_matches('/').into(),
            slots: Arc::new(Semaphore::new(concurrency.max(1))),
            recorder,
        })
    }

    pub fn recorder(&self) -> &Recorder {
        &self.recorder
    }

    fn url(&self, path: &str) -> String {
        format!("{}/{path}", self.base)
    }

    /// Checks, before the run and without recording anything, that the base URL answers and
    /// the token is accepted.
    pub async fn preflight(&self) -> anyhow::Result<()> {
        let response = self
            .http
            .get(self.url("Users"))
            .query(&[("count", "1")])
            .send()
            .await
            .with_context(|| format!("cannot reach {}", self.base))?;
        let status = response.status();
        if status.is_success() {
            return Ok(());
        }
        let body = response.text().await.unwrap_or_default();
        match status {
            StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN => {
                bail!("the token was rejected ({status}): {}", body.trim())
            }
            StatusCode::NOT_FOUND => bail!(
                "{}/Users answers 404: is the base URL the SCIM root (…/scim/v2)?",
                self.base
            ),
            _ => bail!("{}/Users answers {status}: {}", self.base, body.trim()),
        }
    }

    /// Sends one request and records it as `op`. Statuses in `tolerated` count as success.
    async fn call(
        &self,
        op: &str,
        method: Method,
        path: &str,
        query: &[(&'static str, String)],
        body: Option<&Value>,
        tolerated: &[StatusCode],
    ) -> Result<Reply, Failed> {
        let mut request = self.http.request(method, self.url(path));
        if !query.is_empty() {
            request = request.query(query);
        }
        if let Some(body) = body {
            // serde_json cannot fail to serialize a `Value`.
            let bytes = serde_json::to_vec(body).unwrap_or_default();
            request = request.header(CONTENT_TYPE, SCIM_JSON).body(bytes);
        }
        let Ok(slot) = self.slots.acquire().await else {
            return Err(Failed { status: None });
        };
        let start = Instant::now();
        let result = match request.send().await {
            Ok(response) => {
                let status = response.status();
                response.bytes().await.map(|bytes| (status, bytes))
            }
            Err(error) => Err(error),
        };
        let end = Instant::now();
        drop(slot);
        match result {
            Ok((status, bytes)) => {
                let ok = status.is_success() || tolerated.contains(&status);
                self.recorder.record(op, start, end, ok);
                if ok {
                    let body = if bytes.is_empty() {
                        Value::Null
                    } else {
                        serde_json::from_slice(&bytes).unwrap_or(Value::Null)
                    };
                    Ok(Reply { status, body })
                } else {
                    self.recorder.sample_error(ErrorSample::new(
                        op,
                        Some(status.as_u16()),
                        &String::from_utf8_lossy(&bytes),
                    ));
                    Err(Failed {
                        status: Some(status.as_u16()),
                    })
                }
            }
            Err(error) => {
                self.recorder.record(op, start, end, false);
                self.recorder
                    .sample_error(ErrorSample::new(op, None, &error_chain(&error)));
                Err(Failed { status: None })
            }
        }
    }

    /// Records a request that answered 2xx but not what the run needed (e.g. a lookup that
    /// found nothing, a create without an id).
    pub fn unexpected(&self, op: &str, detail: &str) {
        self.recorder.mark_error(op);
        self.recorder
            .sample_error(ErrorSample::new(op, None, &format!("unexpected: {detail}")));
    }

    pub async fn list(
        &self,
        op: &str,
        resource: Resource,
        query: &ListQuery<'_>,
    ) -> Result<Page, Failed> {
        let reply = self
            .call(op, Method::GET, resource.path(), &query.pairs(), None, &[])
            .await?;
        Ok(page(reply.body))
    }

    /// The first resource matching `filter`, the way IdPs match before creating.
    pub async fn find_one(
        &self,
        op: &str,
        resource: Resource,
        filter: &str,
        excluded_attributes: Option<&str>,
    ) -> Result<Option<Value>, Failed> {
        let query = ListQuery {
            filter: Some(filter),
            excluded_attributes,
            ..ListQuery::default()
        };
        let page = self.list(op, resource, &query).await?;
        Ok(page.resources.into_iter().next())
    }

    /// `POST`; 409 (already exists) is tolerated and answered with `Ok(None)`.
    pub async fn create(
        &self,
        op: &str,
        resource: Resource,
        body: &Value,
    ) -> Result<Option<String>, Failed> {
        let reply = self
            .call(
                op,
                Method::POST,
                resource.path(),
                &[],
                Some(body),
                &[StatusCode::CONFLICT],
            )
            .await?;
        if reply.status == StatusCode::CONFLICT {
            return Ok(None);
        }
        match resource_id(&reply.body) {
            Some(id) => Ok(Some(id)),
            None => {
                self.unexpected(op, "a created resource without an id");
                Err(Failed {
                    status: Some(reply.status.as_u16()),
                })
            }
        }
    }

    pub async fn patch(
        &self,
        op: &str,
        resource: Resource,
        id: &str,
        body: &Value,
    ) -> Result<Reply, Failed> {
        let path = format!("{}/{id}", resource.path());
        self.call(op, Method::PATCH, &path, &[], Some(body), &[])
            .await
    }
}

/// `id` of a resource.
pub fn resource_id(resource: &Value) -> Option<String> {
    resource
        .get("id")
        .and_then(Value::as_str)
        .map(str::to_owned)
}

/// A ListResponse body as a page; anything else is an empty page.
fn page(body: Value) -> Page {
    let total_results = body
        .get("totalResults")
        .and_then(Value::as_u64)
        .unwrap_or(0);
    let resources = match body {
        Value::Object(mut map) => match map.remove("Resources") {
            Some(Value::Array(items)) => items,
            _ => Vec::new(),
        },
        _ => Vec::new(),
    };
    Page {
        total_results,
        resources,
    }
}

fn error_chain(error: &reqwest::Error) -> String {
    let mut text = error.to_string();
    let mut source = std::error::Error::source(error);
    while let Some(inner) = source {
        text.push_str(": ");
        text.push_str(&inner.to_string());
        source = inner.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn list_query_pairs_only_carry_what_is_set() {
        let q = ListQuery {
            filter: Some(r#"userName sw "r1.""#),
            start_index: Some(201),
            count: Some(200),
            attributes: Some("id,userName"),
            excluded_attributes: None,
        };
        assert_eq!(
            q.pairs(),
            vec![
                ("filter", r#"userName sw "r1.""#.to_owned()),
                ("startIndex", "201".to_owned()),
                ("count", "200".to_owned()),
                ("attributes", "id,userName".to_owned()),
            ]
        );
        assert!(ListQuery::default().pairs().is_empty());
    }

    #[test]
    fn pages_from_list_responses() {
        let p = page(json!({"totalResults": 3, "Resources": [{"id": "a"}, {"id": "b"}]}));
        assert_eq!(p.total_results, 3);
        assert_eq!(resource_id(&p.resources[1]).as_deref(), Some("b"));
        let empty = page(json!({"totalResults": 0}));
        assert!(empty.resources.is_empty());
        assert!(page(Value::Null).resources.is_empty());
    }
}
