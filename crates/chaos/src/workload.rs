//! An IdP-shaped initial sync and what the IdP was told.
//!
//! The client behaves like Microsoft Entra ID's provisioning service: it probes by
//! `userName` before creating, sets managers and group members with PATCH afterwards, turns
//! leavers off with `active: false`, and sends the *same request again* on a 5xx, a 429 (after
//! `Retry-After`), a timeout or a refused connection. It spreads requests over the gateway
//! replicas as a load balancer would. Every 2xx it receives is written to the [`Ledger`]: the
//! state the client has been promised, which the checks compare with what is stored.

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures::StreamExt as _;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

const USER_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
const GROUP_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";
const ENTERPRISE: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
const PATCH_OP: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";

/// How long one request is retried before the client gives up on it (the change is then
/// "unacknowledged": the checks accept its old or its new state).
const ATTEMPT_BUDGET: Duration = Duration::from_secs(180);
/// One attempt's timeout, like an IdP's HTTP client.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(20);
/// Members added per PATCH.
const MEMBERS_PER_PATCH: usize = 20;

/// The size of the sync.
#[derive(Debug, Clone, Copy)]
pub struct SyncPlan {
    pub users: usize,
    pub groups: usize,
    pub group_size: usize,
    /// Every n-th user leaves (is set `active: false`) at the end of the sync.
    pub leaver_every: usize,
    pub concurrency: usize,
}

impl SyncPlan {
    /// Requests the sync sends when nothing fails (retries not counted): what fault triggers
    /// measure progress against.
    pub fn requests(&self) -> u64 {
        let users = self.users as u64;
        let with_manager = users.saturating_sub(1);
        let groups = self.groups as u64;
        let member_patches = groups * (self.group_size.div_ceil(MEMBERS_PER_PATCH)) as u64;
        let leavers = users.saturating_sub(1) / self.leaver_every.max(1) as u64;
        2 * users + with_manager + 2 * groups + member_patches + leavers
    }

    fn user_name(&self, index: usize) -> String {
        format!("user{index:05}@chaos.example.com")
    }

    fn manager_of(&self, index: usize) -> Option<usize> {
        (index > 0).then(|| (index - 1) / 10)
    }

    fn is_leaver(&self, index: usize) -> bool {
        index > 0 && index.is_multiple_of(self.leaver_every.max(1))
    }

    fn members_of(&self, group: usize) -> Vec<usize> {
        (0..self.group_size.min(self.users))
            .map(|offset| (group * self.group_size + offset) % self.users)
            .collect()
    }
}

/// What the client was told about one user.
#[derive(Debug, Clone, Default)]
pub struct UserPromise {
    pub user_name: String,
    pub id: Option<String>,
    /// The create was answered 201 (not only found again after a lost answer).
    pub create_acknowledged: bool,
    pub active: bool,
    pub manager: Option<String>,
    /// A change to this user was never answered: its outcome is unknown.
    pub unresolved: bool,
}

#[derive(Debug, Clone, Default)]
pub struct GroupPromise {
    pub display_name: String,
    pub id: Option<String>,
    /// Members whose addition was answered 2xx.
    pub members: BTreeSet<String>,
    pub unresolved: bool,
}

/// One write answered 2xx: the resource and the version the answer carried.
#[derive(Debug, Clone)]
pub struct Acknowledged {
    pub resource_id: String,
    pub version: u64,
    /// When the attempt that was answered was sent, and when the answer came.
    pub sent: Instant,
    pub at: Instant,
}

#[derive(Debug, Default)]
pub struct Ledger {
    pub users: Vec<UserPromise>,
    pub groups: Vec<GroupPromise>,
    pub acknowledged: Vec<Acknowledged>,
}

/// Counters of what the client saw.
#[derive(Debug, Default)]
pub struct ClientStats {
    /// Requests sent once each (retries not counted), for progress.
    pub done: AtomicU64,
    pub retries: AtomicU64,
    pub server_errors: AtomicU64,
    pub throttled: AtomicU64,
    pub transport_errors: AtomicU64,
    /// Requests given up after [`ATTEMPT_BUDGET`].
    pub abandoned: AtomicU64,
    /// Unexpected final answers (4xx other than the tolerated ones).
    pub refused: AtomicU64,
    pub samples: Mutex<Vec<String>>,
}

impl ClientStats {
    fn sample(&self, line: String) {
        if let Ok(mut samples) = self.samples.lock()
            && samples.len() < 10
        {
            samples.push(line);
        }
    }
}

struct Answer {
    status: StatusCode,
    body: Value,
    /// When the attempt that got this answer was sent.
    sent: Instant,
}

/// A SCIM client that retries like Entra ID, over several gateway replicas.
pub struct Idp {
    http: reqwest::Client,
    gateways: Vec<String>,
    next: AtomicUsize,
    token: String,
    pub stats: Arc<ClientStats>,
}

impl Idp {
    pub fn new(gateways: Vec<String>, token: String, concurrency: usize) -> anyhow::Result<Self> {
        let http = reqwest::Client::builder()
            .timeout(REQUEST_TIMEOUT)
            .pool_max_idle_per_host(concurrency)
            .build()?;
        Ok(Self {
            http,
            gateways,
            next: AtomicUsize::new(0),
            token,
            stats: Arc::default(),
        })
    }

    /// Sends `method path` until an answer other than 5xx/429 arrives, or the budget is spent.
    async fn call(&self, method: Method, path: &str, body: Option<&Value>) -> Option<Answer> {
        let started = Instant::now();
        let mut attempt: u32 = 0;
        loop {
            let gateway =
                &self.gateways[self.next.fetch_add(1, Ordering::Relaxed) % self.gateways.len()];
            let mut request = self
                .http
                .request(method.clone(), format!("{gateway}{path}"))
                .bearer_auth(&self.token)
                .header("Accept", "application/scim+json");
            if let Some(body) = body {
                request = request
                    .header("Content-Type", "application/scim+json")
                    .body(body.to_string());
            }
            let mut pause = backoff(attempt);
            let sent = Instant::now();
            match request.send().await {
                Ok(response) => {
                    let status = response.status();
                    let retry_after = response
                        .headers()
                        .get("retry-after")
                        .and_then(|value| value.to_str().ok())
                        .and_then(|value| value.parse::<u64>().ok());
                    let text = response.text().await.unwrap_or_default();
                    if status == StatusCode::TOO_MANY_REQUESTS {
                        self.stats.throttled.fetch_add(1, Ordering::Relaxed);
                        pause = Duration::from_secs(retry_after.unwrap_or(1).min(5));
                    } else if status.is_server_error() {
                        self.stats.server_errors.fetch_add(1, Ordering::Relaxed);
                        self.stats
                            .sample(format!("{method} {path} → {status}: {}", truncate(&text)));
                    } else {
                        self.stats.done.fetch_add(1, Ordering::Relaxed);
                        let body = serde_json::from_str(&text).unwrap_or(Value::Null);
                        return Some(Answer { status, body, sent });
                    }
                }
                Err(error) => {
                    self.stats.transport_errors.fetch_add(1, Ordering::Relaxed);
                    if error.is_timeout() {
                        self.stats.sample(format!("{method} {path} → timeout"));
                    }
                }
            }
            if started.elapsed() > ATTEMPT_BUDGET {
                self.stats.abandoned.fetch_add(1, Ordering::Relaxed);
                self.stats.done.fetch_add(1, Ordering::Relaxed);
                self.stats
                    .sample(format!("{method} {path}: gave up after {ATTEMPT_BUDGET:?}"));
                return None;
            }
            self.stats.retries.fetch_add(1, Ordering::Relaxed);
            attempt += 1;
            tokio::time::sleep(pause).await;
        }
    }

    fn refused(&self, what: &str, answer: &Answer) {
        self.stats.refused.fetch_add(1, Ordering::Relaxed);
        self.stats.sample(format!(
            "{what} → {}: {}",
            answer.status,
            truncate(&answer.body.to_string())
        ));
    }

    /// The id of the user with `user_name`, if one exists.
    async fn find_user(&self, user_name: &str) -> Option<Option<(String, u64)>> {
        let filter = urlencode(&format!("userName eq \"{user_name}\""));
        let answer = self
            .call(Method::GET, &format!("/Users?filter={filter}"), None)
            .await?;
        if !answer.status.is_success() {
            self.refused("lookup", &answer);
            return None;
        }
        Some(first_resource(&answer.body))
    }

    async fn find_group(&self, display_name: &str) -> Option<Option<(String, u64)>> {
        let filter = urlencode(&format!("displayName eq \"{display_name}\""));
        let answer = self
            .call(
                Method::GET,
                &format!("/Groups?excludedAttributes=members&filter={filter}"),
                None,
            )
            .await?;
        if !answer.status.is_success() {
            self.refused("group lookup", &answer);
            return None;
        }
        Some(first_resource(&answer.body))
    }
}

/// Runs the whole sync; the ledger and the client's counters say what happened.
pub async fn run_sync(idp: Arc<Idp>, plan: SyncPlan, ledger: Arc<Mutex<Ledger>>) {
    {
        let mut ledger = lock(&ledger);
        ledger.users = (0..plan.users)
            .map(|index| UserPromise {
                user_name: plan.user_name(index),
                ..UserPromise::default()
            })
            .collect();
        ledger.groups = (0..plan.groups)
            .map(|index| GroupPromise {
                display_name: format!("Chaos group {index:03}"),
                ..GroupPromise::default()
            })
            .collect();
    }
    let concurrency = plan.concurrency.max(1);
    futures::stream::iter(0..plan.users)
        .for_each_concurrent(concurrency, |index| {
            provision_user(&idp, &plan, &ledger, index)
        })
        .await;
    futures::stream::iter(1..plan.users)
        .for_each_concurrent(concurrency, |index| {
            set_manager(&idp, &plan, &ledger, index)
        })
        .await;
    futures::stream::iter(0..plan.groups)
        .for_each_concurrent(concurrency, |index| {
            provision_group(&idp, &plan, &ledger, index)
        })
        .await;
    futures::stream::iter((0..plan.users).filter(|index| plan.is_leaver(*index)))
        .for_each_concurrent(concurrency, |index| deactivate(&idp, &ledger, index))
        .await;
}

async fn provision_user(idp: &Idp, plan: &SyncPlan, ledger: &Mutex<Ledger>, index: usize) {
    let user_name = plan.user_name(index);
    let Some(found) = idp.find_user(&user_name).await else {
        lock(ledger).users[index].unresolved = true;
        return;
    };
    if let Some((id, _)) = found {
        let mut ledger = lock(ledger);
        ledger.users[index].id = Some(id);
        ledger.users[index].active = true;
        return;
    }
    let body = json!({
        "schemas": [USER_SCHEMA, ENTERPRISE],
        "externalId": format!("ext-{index:05}"),
        "userName": user_name,
        "active": true,
        "displayName": format!("Chaos User {index}"),
        "name": {"givenName": "Chaos", "familyName": format!("User {index}")},
        "emails": [{"primary": true, "type": "work", "value": user_name}],
        ENTERPRISE: {"employeeNumber": index.to_string(), "department": format!("Dept {}", index % 7)},
    });
    let started = Instant::now();
    loop {
        let Some(answer) = idp.call(Method::POST, "/Users", Some(&body)).await else {
            lock(ledger).users[index].unresolved = true;
            return;
        };
        if answer.status == StatusCode::CREATED {
            let Some((id, version)) = identity(&answer.body) else {
                idp.refused("create (no id)", &answer);
                lock(ledger).users[index].unresolved = true;
                return;
            };
            let mut ledger = lock(ledger);
            ledger.users[index].id = Some(id.clone());
            ledger.users[index].create_acknowledged = true;
            ledger.users[index].active = true;
            acknowledge(&mut ledger, id, version, answer.sent);
            return;
        }
        if answer.status == StatusCode::CONFLICT {
            // An earlier attempt whose answer was lost may have stored the user: Entra matches
            // it by userName. A claim left by a crash between claim and append has no user
            // behind it; the IdP tries again later, and the claim is taken over.
            match idp.find_user(&user_name).await {
                Some(Some((id, _))) => {
                    let mut ledger = lock(ledger);
                    ledger.users[index].id = Some(id);
                    ledger.users[index].active = true;
                    return;
                }
                Some(None) if started.elapsed() < ATTEMPT_BUDGET => {
                    tokio::time::sleep(Duration::from_secs(2)).await;
                    continue;
                }
                _ => {}
            }
        }
        idp.refused("create", &answer);
        lock(ledger).users[index].unresolved = true;
        return;
    }
}

async fn set_manager(idp: &Idp, plan: &SyncPlan, ledger: &Mutex<Ledger>, index: usize) {
    let Some(manager) = plan.manager_of(index) else {
        return;
    };
    let (id, manager_id) = {
        let ledger = lock(ledger);
        (
            ledger.users[index].id.clone(),
            ledger.users[manager].id.clone(),
        )
    };
    let (Some(id), Some(manager_id)) = (id, manager_id) else {
        idp.stats.done.fetch_add(1, Ordering::Relaxed);
        return;
    };
    let body = patch(json!([{
        "op": "Add",
        "path": format!("{ENTERPRISE}:manager"),
        "value": manager_id,
    }]));
    let answer = idp
        .call(Method::PATCH, &format!("/Users/{id}"), Some(&body))
        .await;
    let mut ledger = lock(ledger);
    match answer {
        Some(answer) if answer.status.is_success() => {
            ledger.users[index].manager = Some(manager_id);
            if let Some((_, version)) = identity(&answer.body) {
                acknowledge(&mut ledger, id, version, answer.sent);
            }
        }
        Some(answer) => {
            idp.refused("manager", &answer);
            ledger.users[index].unresolved = true;
        }
        None => ledger.users[index].unresolved = true,
    }
}

async fn provision_group(idp: &Idp, plan: &SyncPlan, ledger: &Mutex<Ledger>, index: usize) {
    let display_name = lock(ledger).groups[index].display_name.clone();
    let Some(found) = idp.find_group(&display_name).await else {
        lock(ledger).groups[index].unresolved = true;
        return;
    };
    let id = match found {
        Some((id, _)) => id,
        None => {
            let body = json!({
                "schemas": [GROUP_SCHEMA],
                "externalId": format!("grp-{index:03}"),
                "displayName": display_name,
            });
            match idp.call(Method::POST, "/Groups", Some(&body)).await {
                Some(answer) if answer.status == StatusCode::CREATED => {
                    let Some((id, version)) = identity(&answer.body) else {
                        lock(ledger).groups[index].unresolved = true;
                        return;
                    };
                    acknowledge(&mut lock(ledger), id.clone(), version, answer.sent);
                    id
                }
                Some(answer) if answer.status == StatusCode::CONFLICT => {
                    match idp.find_group(&display_name).await {
                        Some(Some((id, _))) => id,
                        _ => {
                            lock(ledger).groups[index].unresolved = true;
                            return;
                        }
                    }
                }
                Some(answer) => {
                    idp.refused("group create", &answer);
                    lock(ledger).groups[index].unresolved = true;
                    return;
                }
                None => {
                    lock(ledger).groups[index].unresolved = true;
                    return;
                }
            }
        }
    };
    lock(ledger).groups[index].id = Some(id.clone());
    let member_ids: Vec<String> = {
        let ledger = lock(ledger);
        plan.members_of(index)
            .into_iter()
            .filter_map(|member| ledger.users[member].id.clone())
            .collect()
    };
    for chunk in member_ids.chunks(MEMBERS_PER_PATCH) {
        let values: Vec<Value> = chunk.iter().map(|id| json!({"value": id})).collect();
        let body = patch(json!([{"op": "Add", "path": "members", "value": values}]));
        let answer = idp
            .call(Method::PATCH, &format!("/Groups/{id}"), Some(&body))
            .await;
        let mut ledger = lock(ledger);
        match answer {
            Some(answer) if answer.status.is_success() => {
                ledger.groups[index].members.extend(chunk.iter().cloned());
                if let Some((_, version)) = identity(&answer.body) {
                    acknowledge(&mut ledger, id.clone(), version, answer.sent);
                }
            }
            Some(answer) => {
                idp.refused("members", &answer);
                ledger.groups[index].unresolved = true;
            }
            None => ledger.groups[index].unresolved = true,
        }
    }
}

async fn deactivate(idp: &Idp, ledger: &Mutex<Ledger>, index: usize) {
    let Some(id) = lock(ledger).users[index].id.clone() else {
        idp.stats.done.fetch_add(1, Ordering::Relaxed);
        return;
    };
    // Entra's form: a Replace of `active` with the string "False".
    let body = patch(json!([{"op": "Replace", "path": "active", "value": "False"}]));
    let answer = idp
        .call(Method::PATCH, &format!("/Users/{id}"), Some(&body))
        .await;
    let mut ledger = lock(ledger);
    match answer {
        Some(answer) if answer.status.is_success() => {
            ledger.users[index].active = false;
            if let Some((_, version)) = identity(&answer.body) {
                acknowledge(&mut ledger, id, version, answer.sent);
            }
        }
        Some(answer) => {
            idp.refused("deactivate", &answer);
            ledger.users[index].unresolved = true;
        }
        None => ledger.users[index].unresolved = true,
    }
}

fn acknowledge(ledger: &mut Ledger, resource_id: String, version: u64, sent: Instant) {
    ledger.acknowledged.push(Acknowledged {
        resource_id,
        version,
        sent,
        at: Instant::now(),
    });
}

fn patch(operations: Value) -> Value {
    json!({"schemas": [PATCH_OP], "Operations": operations})
}

/// `id` and the version of `meta.version` (`W/"<n>"`).
fn identity(resource: &Value) -> Option<(String, u64)> {
    let id = resource.get("id")?.as_str()?.to_owned();
    let version = resource
        .pointer("/meta/version")?
        .as_str()?
        .trim_start_matches("W/")
        .trim_matches('"')
        .parse()
        .ok()?;
    Some((id, version))
}

fn first_resource(list: &Value) -> Option<(String, u64)> {
    list.get("Resources")?
        .as_array()?
        .first()
        .and_then(identity)
}

/// Exponential backoff from 100 ms, capped at 2 s.
fn backoff(attempt: u32) -> Duration {
    Duration::from_millis(100u64.saturating_mul(1 << attempt.min(5)).min(2_000))
}

fn urlencode(text: &str) -> String {
    text.bytes()
        .map(|byte| match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (byte as char).to_string()
            }
            _ => format!("%{byte:02X}"),
        })
        .collect()
}

fn truncate(text: &str) -> String {
    text.chars().take(300).collect()
}

/// The ledger's lock; a panic while holding it cannot leave it half-written in a way that
/// matters here, so a poisoned lock is used as it is.
pub fn lock(ledger: &Mutex<Ledger>) -> std::sync::MutexGuard<'_, Ledger> {
    ledger
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_are_read_from_weak_etags() {
        let user = json!({"id": "abc", "meta": {"version": "W/\"42\""}});
        assert_eq!(identity(&user), Some(("abc".to_owned(), 42)));
        assert_eq!(identity(&json!({"id": "abc"})), None);
    }

    #[test]
    fn the_plan_counts_every_request_once() {
        let plan = SyncPlan {
            users: 100,
            groups: 2,
            group_size: 30,
            leaver_every: 10,
            concurrency: 4,
        };
        // 200 probes and creates, 99 managers, 2 probes and 2 creates, 2 × 2 member patches,
        // 9 leavers (users 10, 20, …, 90).
        assert_eq!(plan.requests(), 200 + 99 + 4 + 4 + 9);
        assert_eq!(plan.members_of(1).len(), 30);
        assert_eq!(plan.manager_of(11), Some(1));
    }

    #[test]
    fn backoff_grows_and_is_capped() {
        assert_eq!(backoff(0), Duration::from_millis(100));
        assert_eq!(backoff(3), Duration::from_millis(800));
        assert_eq!(backoff(30), Duration::from_secs(2));
    }
}
