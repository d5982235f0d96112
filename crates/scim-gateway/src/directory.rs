//! Typed client for the directory's read API, with trace propagation.

use scim_rpc::directory::directory_read_client::DirectoryReadClient;
use scim_rpc::directory::directory_read_server;
use scim_rpc::directory::{
    AuthenticateRequest, AwaitAppliedRequest, ExistingUserIdsRequest, GetResourceRequest,
    ListResourcesRequest, ResourceKind, WatchAppliedRequest,
};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use futures::StreamExt as _;
use serde_json::Value;
use service_kit::grpc_tls::{GrpcTls, TlsError};
use telemetry::propagation::TracePropagation;
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;
use tonic::service::interceptor::InterceptedService;
use tonic::transport::Channel;
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;

use crate::error::ApiError;

#[derive(Debug, Clone)]
pub struct TenantContext {
    pub tenant_id: String,
    pub config_id: String,
    pub token_id: String,
}

#[derive(Debug, Clone)]
pub struct FetchedResource {
    pub id: String,
    pub version: u64,
    pub json: Value,
}

/// Which group members a single read returns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Members {
    Exclude,
    All,
    /// All of them if there are at most this many, otherwise none.
    AtMost(u32),
}

#[derive(Debug, Clone, Default)]
pub struct ListParams {
    pub filter: String,
    pub start_index: u64,
    pub count: u64,
    pub sort_by: String,
    pub descending: bool,
    pub exclude_members: bool,
}

/// Largest directory answer accepted: a single group read returns all its members (about
/// 45 bytes each), so gRPC's default of 4 MiB would fail groups of ~90,000; lists are
/// bounded by the directory itself (3 MiB a page).
const MAX_DIRECTORY_MESSAGE_BYTES: usize = 64 * 1024 * 1024;

type ReadClient = DirectoryReadClient<InterceptedService<Channel, TracePropagation>>;

/// Pause before following the projection's progress again, on the next replica.
const PROGRESS_RETRY: std::time::Duration = std::time::Duration::from_millis(200);
/// A progress stream silent this long is given up: the directory repeats its view every
/// second (`PROGRESS_HEARTBEAT` there), so silence means a replica that hangs or a connection
/// that died without closing, and waits must not stall behind it.
const PROGRESS_SILENCE: std::time::Duration = std::time::Duration::from_secs(3);

/// The directory projection's progress as its `WatchApplied` stream last told it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct AppliedView {
    sequence: u64,
    highest_quarantined: u64,
}

/// What told a write that it is visible.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SettledBy {
    /// The followed `WatchApplied` stream: no call.
    Progress,
    /// An `AwaitApplied` call.
    Directory,
}

/// What the followed progress says of one sequence.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Visibility {
    Visible,
    NotYet,
    /// Not following, or the sequence may have been quarantined: ask the directory.
    Ask,
}

impl AppliedView {
    fn visibility(view: Option<Self>, sequence: u64) -> Visibility {
        match view {
            None => Visibility::Ask,
            Some(view) if view.sequence < sequence => Visibility::NotYet,
            Some(view) if sequence <= view.highest_quarantined => Visibility::Ask,
            Some(_) => Visibility::Visible,
        }
    }
}

/// The directory's replicas, called in turn. Every directory call is a read, so a call that
/// could not reach one replica (it died, it is restarting) is made again on the next one:
/// losing a replica costs its callers a retry, not an error.
#[derive(Clone)]
pub struct DirectoryClient {
    replicas: Arc<[ReadClient]>,
    /// The gRPC health service on each replica's channel, for readiness.
    health: Arc<[HealthClient<Channel>]>,
    next: Arc<AtomicUsize>,
    /// Followed by [`DirectoryClient::follow_progress`]; `None` while no stream is open.
    progress: Arc<watch::Sender<Option<AppliedView>>>,
}

impl DirectoryClient {
    /// `urls` is one directory URL, or several separated by commas (one per replica); the
    /// gateway presents its certificate (`tls`) to each.
    pub fn connect_lazy(urls: &str, tls: &GrpcTls) -> Result<Self, TlsError> {
        let channels = service_kit::grpc_tls::url_list(urls)
            .map(|url| Ok(tls.endpoint(url)?.connect_lazy()))
            .collect::<Result<Vec<Channel>, TlsError>>()?;
        let replicas = channels
            .iter()
            .map(|channel| {
                DirectoryReadClient::with_interceptor(channel.clone(), TracePropagation)
                    .max_decoding_message_size(MAX_DIRECTORY_MESSAGE_BYTES)
            })
            .collect::<Vec<_>>();
        let health = channels
            .into_iter()
            .map(HealthClient::new)
            .collect::<Vec<_>>();
        Ok(Self {
            replicas: replicas.into(),
            health: health.into(),
            next: Arc::new(AtomicUsize::new(0)),
            progress: Arc::new(watch::Sender::new(None)),
        })
    }

    /// Whether at least one replica reports its read service SERVING over the channels the
    /// calls use (a draining replica reports NOT_SERVING before it closes).
    pub async fn any_replica_serving(&self) -> bool {
        let request = || HealthCheckRequest {
            service: directory_read_server::SERVICE_NAME.to_owned(),
        };
        for client in self.health.iter() {
            if let Ok(response) = client.clone().check(request()).await
                && response.into_inner().status == ServingStatus::Serving as i32
            {
                return true;
            }
        }
        false
    }

    /// Makes one call, starting at the next replica in turn and moving on while a replica
    /// cannot be reached or closes the connection under the call (it is draining or died).
    /// Safe because every directory call is a read.
    async fn call<T, F, Fut>(&self, call: F) -> Result<T, tonic::Status>
    where
        F: Fn(ReadClient) -> Fut,
        Fut: std::future::Future<Output = Result<tonic::Response<T>, tonic::Status>>,
    {
        let count = self.replicas.len();
        let start = self.next.fetch_add(1, Ordering::Relaxed);
        let mut unreachable = None;
        for offset in 0..count {
            let Some(client) = self.replicas.get((start + offset) % count) else {
                continue;
            };
            match call(client.clone()).await {
                Err(status) if replica_went_away(&status) => {
                    unreachable = Some(status);
                }
                outcome => return outcome.map(tonic::Response::into_inner),
            }
        }
        Err(unreachable
            .unwrap_or_else(|| tonic::Status::unavailable("no directory replica is configured")))
    }

    /// The token's tenant and how much longer the token is valid.
    pub async fn authenticate(
        &self,
        token: &str,
    ) -> Result<(TenantContext, std::time::Duration), ApiError> {
        let response = self
            .call(|mut client| async move {
                client
                    .authenticate(AuthenticateRequest {
                        token: token.to_owned(),
                    })
                    .await
            })
            .await?;
        Ok((
            TenantContext {
                tenant_id: response.tenant_id,
                config_id: response.config_id,
                token_id: response.token_id,
            },
            std::time::Duration::from_millis(response.valid_for_ms),
        ))
    }

    pub async fn get(
        &self,
        tenant: &TenantContext,
        kind: ResourceKind,
        id: &str,
        members: Members,
    ) -> Result<FetchedResource, ApiError> {
        let request = GetResourceRequest {
            tenant_id: tenant.tenant_id.clone(),
            kind: kind as i32,
            id: id.to_owned(),
            exclude_members: members == Members::Exclude,
            max_members: match members {
                Members::AtMost(max) => max.max(1),
                Members::Exclude | Members::All => 0,
            },
        };
        let resource = self
            .call(|mut client| {
                let request = request.clone();
                async move { client.get_resource(request).await }
            })
            .await?;
        decode(resource)
    }

    pub async fn list(
        &self,
        tenant: &TenantContext,
        kind: ResourceKind,
        params: ListParams,
    ) -> Result<(u64, Vec<FetchedResource>), ApiError> {
        let request = ListResourcesRequest {
            tenant_id: tenant.tenant_id.clone(),
            kind: kind as i32,
            filter: params.filter,
            start_index: params.start_index,
            count: params.count,
            sort_by: params.sort_by,
            sort_descending: params.descending,
            exclude_members: params.exclude_members,
        };
        let response = self
            .call(|mut client| {
                let request = request.clone();
                async move { client.list_resources(request).await }
            })
            .await?;
        let resources = response
            .resources
            .into_iter()
            .map(decode)
            .collect::<Result<_, _>>()?;
        Ok((response.total_results, resources))
    }

    /// Blocks until the directory shows everything up to `sequence`: answered from the
    /// followed progress when it can, else (no stream open, or the sequence may have been
    /// quarantined) by the directory's `AwaitApplied` with what is left of the timeout.
    pub async fn await_applied(
        &self,
        sequence: u64,
        timeout_ms: u32,
    ) -> Result<SettledBy, ApiError> {
        let deadline =
            tokio::time::Instant::now() + std::time::Duration::from_millis(u64::from(timeout_ms));
        let mut progress = self.progress.subscribe();
        loop {
            match AppliedView::visibility(*progress.borrow_and_update(), sequence) {
                Visibility::Visible => return Ok(SettledBy::Progress),
                Visibility::Ask => break,
                Visibility::NotYet => {}
            }
            tokio::select! {
                changed = progress.changed() => {
                    if changed.is_err() {
                        break;
                    }
                }
                () = tokio::time::sleep_until(deadline) => break,
            }
        }
        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
        let timeout_ms = u32::try_from(left.as_millis()).unwrap_or(u32::MAX).max(1);
        self.call(|mut client| async move {
            client
                .await_applied(AwaitAppliedRequest {
                    sequence,
                    timeout_ms,
                })
                .await
        })
        .await
        .map_err(|status| match status.code() {
            tonic::Code::DeadlineExceeded => ApiError::Unavailable(
                "the change is stored but not yet visible; retry the read shortly".into(),
            ),
            _ => ApiError::from(status),
        })?;
        Ok(SettledBy::Directory)
    }

    /// Follows the projection's progress (`WatchApplied`) until `stop`, on one replica at a
    /// time, moving to the next when a stream fails or ends. While none is open, waits ask
    /// the directory instead.
    pub async fn follow_progress(&self, stop: CancellationToken) {
        let mut replica = 0;
        while !stop.is_cancelled() {
            let Some(client) = self.replicas.get(replica % self.replicas.len().max(1)) else {
                // No replica configured: every wait asks (and fails), as calls do.
                return stop.cancelled().await;
            };
            tokio::select! {
                () = stop.cancelled() => {}
                outcome = self.follow_one(client.clone()) => {
                    if let Err(status) = outcome {
                        tracing::debug!(%status, "following the directory's progress again");
                    }
                }
            }
            self.progress.send_replace(None);
            replica += 1;
            tokio::select! {
                () = stop.cancelled() => {}
                () = tokio::time::sleep(PROGRESS_RETRY) => {}
            }
        }
    }

    async fn follow_one(&self, mut client: ReadClient) -> Result<(), tonic::Status> {
        let opened = tokio::time::timeout(
            PROGRESS_SILENCE,
            client.watch_applied(WatchAppliedRequest {}),
        )
        .await
        .map_err(|_| {
            tonic::Status::deadline_exceeded("the directory did not open a progress stream")
        })?;
        let mut stream = opened?.into_inner();
        loop {
            let Ok(next) = tokio::time::timeout(PROGRESS_SILENCE, stream.next()).await else {
                return Err(tonic::Status::deadline_exceeded(
                    "the directory's progress stream went silent",
                ));
            };
            let Some(progress) = next else {
                return Ok(());
            };
            let progress = progress?;
            self.progress.send_replace(Some(AppliedView {
                sequence: progress.applied_sequence,
                highest_quarantined: progress.highest_quarantined,
            }));
        }
    }

    pub async fn existing_user_ids(
        &self,
        tenant: &TenantContext,
        ids: Vec<String>,
    ) -> Result<Vec<String>, ApiError> {
        if ids.is_empty() {
            return Ok(ids);
        }
        let request = ExistingUserIdsRequest {
            tenant_id: tenant.tenant_id.clone(),
            ids,
        };
        Ok(self
            .call(|mut client| {
                let request = request.clone();
                async move { client.existing_user_ids(request).await }
            })
            .await?
            .ids)
    }
}

fn decode(resource: scim_rpc::directory::Resource) -> Result<FetchedResource, ApiError> {
    let json = serde_json::from_str(&resource.json).map_err(ApiError::internal)?;
    Ok(FetchedResource {
        id: resource.id,
        version: resource.version,
        json,
    })
}

/// Whether a call failed because its replica could not be reached or went away during the
/// call, rather than for a reason of the request's own. A status the directory answered is
/// decoded from its trailers and has no source; one with a source was made here from a
/// connection's failure: a connection closed under the call (`Cancelled`), or a draining
/// replica's HTTP/2 GOAWAY (`Internal`, found by the chaos rolling-restart scenario). Every
/// directory call is a read, so the next replica may always be asked.
fn replica_went_away(status: &tonic::Status) -> bool {
    status.code() == tonic::Code::Unavailable || std::error::Error::source(status).is_some()
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::{AppliedView, Visibility, replica_went_away};

    #[test]
    fn followed_progress_settles_only_what_it_can() {
        let view = |sequence, highest_quarantined| {
            Some(AppliedView {
                sequence,
                highest_quarantined,
            })
        };
        assert_eq!(AppliedView::visibility(None, 5), Visibility::Ask);
        assert_eq!(AppliedView::visibility(view(4, 0), 5), Visibility::NotYet);
        assert_eq!(AppliedView::visibility(view(5, 0), 5), Visibility::Visible);
        assert_eq!(AppliedView::visibility(view(9, 3), 5), Visibility::Visible);
        // At or below a quarantined sequence only the directory can tell.
        assert_eq!(AppliedView::visibility(view(9, 5), 5), Visibility::Ask);
        assert_eq!(AppliedView::visibility(view(9, 7), 5), Visibility::Ask);
    }

    #[test]
    fn a_connection_closed_under_a_call_moves_it_to_the_next_replica() {
        let mut closed = tonic::Status::cancelled("operation was canceled");
        closed.set_source(Arc::new(std::io::Error::other("connection closed")));
        assert!(replica_went_away(&closed));
        let mut going_away = tonic::Status::internal("h2 protocol error: http2 error");
        going_away.set_source(Arc::new(std::io::Error::other("GoAway(NO_ERROR, Remote)")));
        assert!(replica_went_away(&going_away));
        assert!(replica_went_away(&tonic::Status::unavailable("refused")));
        // A status the directory itself answered is the request's: it is not retried.
        assert!(!replica_went_away(&tonic::Status::cancelled(
            "cancelled by the server"
        )));
        assert!(!replica_went_away(&tonic::Status::not_found(
            "no such user"
        )));
        assert!(!replica_went_away(&tonic::Status::internal("a bug")));
    }
}
