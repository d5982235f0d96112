//! The gateway-facing read API.

use std::time::Duration;

use futures::StreamExt as _;
use scim_rpc::directory::directory_read_server::DirectoryRead;
use scim_rpc::directory::{
    AppliedProgress, AuthenticateRequest, AuthenticateResponse, AwaitAppliedRequest,
    AwaitAppliedResponse, ExistingUserIdsRequest, ExistingUserIdsResponse, GetResourceRequest,
    GroupMemberIdsRequest, GroupMemberIdsResponse, ListResourcesRequest, ListResourcesResponse,
    Resource, ResourceKind, WatchAppliedRequest,
};
use sqlx::PgPool;
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;
use tonic::{Request, Response, Status};

use crate::accounts::AccountStore;
use crate::error::DirectoryError;
use crate::projection::Applied;
use crate::read::{DirectoryReader, Kind, ListQuery, MemberSelection, ResourceRow};
use service_kit::quarantine;

/// Most resources one list call returns.
const MAX_LIST_COUNT: u64 = 1000;
/// Most bytes of resources one list response carries: a page ends early rather than exceed
/// it (the client pages on from `itemsPerPage`), well inside gRPC's 4 MiB message limit.
const MAX_LIST_RESPONSE_BYTES: usize = 3 * 1024 * 1024;

/// The resources, in order, that fit [`MAX_LIST_RESPONSE_BYTES`]; at least the first.
fn within_budget(resources: impl Iterator<Item = Resource>) -> Vec<Resource> {
    let mut used = 0;
    let mut page = Vec::new();
    for resource in resources {
        used += resource.json.len();
        if used > MAX_LIST_RESPONSE_BYTES && !page.is_empty() {
            break;
        }
        page.push(resource);
    }
    page
}

/// Upper bound on how long a gateway may block waiting for the projection.
const MAX_AWAIT: Duration = Duration::from_secs(10);
/// How often a `WatchApplied` stream repeats an unchanged view; the gateway gives up on a
/// stream silent for three of these (`scim-gateway/src/directory.rs`).
const PROGRESS_HEARTBEAT: Duration = Duration::from_secs(1);
/// Replicas that are not the active consumer learn progress from the
/// database; this is how often a waiting call looks.
const FOLLOWER_POLL: Duration = Duration::from_millis(10);

pub struct DirectoryReadService {
    reader: DirectoryReader,
    accounts: AccountStore,
    pool: PgPool,
    applied: watch::Receiver<Applied>,
    checkpoint_name: String,
    /// Ends the progress streams ([`DirectoryRead::watch_applied`]) when the service stops, so
    /// that the server's graceful shutdown does not wait for them.
    stop: CancellationToken,
}

impl DirectoryReadService {
    pub fn new(
        pool: PgPool,
        accounts: AccountStore,
        applied: watch::Receiver<Applied>,
        checkpoint_name: String,
        stop: CancellationToken,
    ) -> Self {
        Self {
            reader: DirectoryReader::new(pool.clone()),
            accounts,
            pool,
            applied,
            checkpoint_name,
            stop,
        }
    }

    fn progress(&self) -> Progress {
        Progress {
            applied: self.applied.clone(),
            local_open: true,
            pool: self.pool.clone(),
            checkpoint_name: self.checkpoint_name.clone(),
        }
    }

    /// Waits until the projection has applied `sequence`. A quarantined sequence answers at
    /// once.
    async fn await_applied(&self, sequence: u64, timeout: Duration) -> Result<u64, DirectoryError> {
        let deadline = tokio::time::Instant::now() + timeout.min(MAX_AWAIT);
        let mut progress = self.progress();
        let mut view = progress.current();
        loop {
            if view.sequence >= sequence {
                return self.settled(sequence, view).await;
            }
            view = tokio::select! {
                view = progress.next() => view,
                () = tokio::time::sleep_until(deadline) => {
                    return Err(DirectoryError::NotYetApplied(sequence));
                }
            };
        }
    }

    /// `sequence` is at or below the checkpoint: applied, unless it was quarantined.
    async fn settled(&self, sequence: u64, applied: Applied) -> Result<u64, DirectoryError> {
        if sequence <= applied.highest_quarantined
            && quarantine::contains(&self.pool, &self.checkpoint_name, sequence).await?
        {
            return Err(DirectoryError::Quarantined(sequence));
        }
        Ok(applied.sequence)
    }
}

/// Where the projection stands, as this replica can tell: from its in-process watch while it
/// runs the projection, else (another replica runs it, or this one's projection stopped) from
/// the checkpoint in the database.
struct Progress {
    applied: watch::Receiver<Applied>,
    local_open: bool,
    pool: PgPool,
    checkpoint_name: String,
}

impl Progress {
    fn current(&mut self) -> Applied {
        *self.applied.borrow_and_update()
    }

    /// The next view: when the watch moves on the replica that runs the projection (no query
    /// needed), else after [`FOLLOWER_POLL`] from the database. A failed read is logged and
    /// answered with the local view; the next poll tries again.
    async fn next(&mut self) -> Applied {
        let local = *self.applied.borrow();
        if self.local_open && local.leading {
            self.local_open = self.applied.changed().await.is_ok();
            return self.current();
        }
        tokio::select! {
            changed = self.applied.changed(), if self.local_open => {
                self.local_open = changed.is_ok();
                self.current()
            }
            () = tokio::time::sleep(FOLLOWER_POLL) => {
                match Applied::read(&self.pool, &self.checkpoint_name).await {
                    Ok(stored) if stored.sequence >= local.sequence => stored,
                    Ok(_) => local,
                    Err(error) => {
                        tracing::warn!(%error, "reading the projection's checkpoint");
                        local
                    }
                }
            }
        }
    }

    /// Every view that moved on from the last one sent (a higher sequence or another
    /// quarantined one), the current one first, and the last one again after
    /// [`PROGRESS_HEARTBEAT`] without a change, so that a follower can tell a quiet projection
    /// from a replica that stopped answering.
    fn into_stream(mut self) -> impl futures::Stream<Item = AppliedProgress> + Send {
        let first = self.current();
        let changes = futures::stream::unfold((self, first), |(mut progress, last)| async move {
            let heartbeat = tokio::time::sleep(PROGRESS_HEARTBEAT);
            tokio::pin!(heartbeat);
            loop {
                let view = tokio::select! {
                    view = progress.next() => view,
                    () = &mut heartbeat => return Some((wire(last), (progress, last))),
                };
                if view.sequence > last.sequence
                    || view.highest_quarantined != last.highest_quarantined
                {
                    return Some((wire(view), (progress, view)));
                }
            }
        });
        futures::stream::once(std::future::ready(wire(first))).chain(changes)
    }
}

fn wire(view: Applied) -> AppliedProgress {
    AppliedProgress {
        applied_sequence: view.sequence,
        highest_quarantined: view.highest_quarantined,
    }
}

fn kind_of(kind: i32) -> Result<Kind, DirectoryError> {
    match ResourceKind::try_from(kind) {
        Ok(ResourceKind::User) => Ok(Kind::User),
        Ok(ResourceKind::Group) => Ok(Kind::Group),
        _ => Err(DirectoryError::InvalidArgument(
            "resource kind must be USER or GROUP".into(),
        )),
    }
}

fn to_proto(kind: Kind, row: ResourceRow) -> Resource {
    Resource {
        kind: match kind {
            Kind::User => ResourceKind::User as i32,
            Kind::Group => ResourceKind::Group as i32,
        },
        id: row.id,
        version: row.version,
        json: row.json.into_text(),
        members_omitted: row.members_omitted,
    }
}

fn require_tenant(tenant_id: &str) -> Result<(), DirectoryError> {
    if tenant_id.is_empty() {
        return Err(DirectoryError::InvalidArgument(
            "tenant_id is required".into(),
        ));
    }
    Ok(())
}

#[tonic::async_trait]
impl DirectoryRead for DirectoryReadService {
    async fn get_resource(
        &self,
        request: Request<GetResourceRequest>,
    ) -> Result<Response<Resource>, Status> {
        let request = request.into_inner();
        require_tenant(&request.tenant_id)?;
        let kind = kind_of(request.kind)?;
        let row = self
            .reader
            .get(
                &request.tenant_id,
                kind,
                &request.id,
                MemberSelection::from_request(request.exclude_members, request.max_members),
            )
            .await?;
        Ok(Response::new(to_proto(kind, row)))
    }

    async fn list_resources(
        &self,
        request: Request<ListResourcesRequest>,
    ) -> Result<Response<ListResourcesResponse>, Status> {
        let request = request.into_inner();
        require_tenant(&request.tenant_id)?;
        let kind = kind_of(request.kind)?;
        if request.start_index > scim_model::limits::MAX_START_INDEX {
            return Err(DirectoryError::InvalidArgument(format!(
                "start_index must be at most {}",
                scim_model::limits::MAX_START_INDEX
            ))
            .into());
        }
        let query = ListQuery {
            filter: Some(request.filter),
            start_index: request.start_index,
            // The gateway asks for at most its page size; a direct caller gets no more.
            count: request.count.min(MAX_LIST_COUNT),
            sort_by: Some(request.sort_by),
            descending: request.sort_descending,
            exclude_members: request.exclude_members,
        };
        let (total, rows) = self.reader.list(&request.tenant_id, kind, &query).await?;
        Ok(Response::new(ListResourcesResponse {
            total_results: total,
            resources: within_budget(rows.into_iter().map(|row| to_proto(kind, row))),
        }))
    }

    async fn await_applied(
        &self,
        request: Request<AwaitAppliedRequest>,
    ) -> Result<Response<AwaitAppliedResponse>, Status> {
        let request = request.into_inner();
        let timeout = Duration::from_millis(u64::from(request.timeout_ms.max(1)));
        let applied = self.await_applied(request.sequence, timeout).await?;
        Ok(Response::new(AwaitAppliedResponse {
            applied_sequence: applied,
        }))
    }

    type WatchAppliedStream =
        std::pin::Pin<Box<dyn futures::Stream<Item = Result<AppliedProgress, Status>> + Send>>;

    async fn watch_applied(
        &self,
        _request: Request<WatchAppliedRequest>,
    ) -> Result<Response<Self::WatchAppliedStream>, Status> {
        let stream = self
            .progress()
            .into_stream()
            .map(Ok)
            .take_until(self.stop.clone().cancelled_owned());
        Ok(Response::new(Box::pin(stream)))
    }

    async fn existing_user_ids(
        &self,
        request: Request<ExistingUserIdsRequest>,
    ) -> Result<Response<ExistingUserIdsResponse>, Status> {
        let request = request.into_inner();
        require_tenant(&request.tenant_id)?;
        let ids = self
            .reader
            .existing_user_ids(&request.tenant_id, &request.ids)
            .await?;
        Ok(Response::new(ExistingUserIdsResponse { ids }))
    }

    async fn group_member_ids(
        &self,
        request: Request<GroupMemberIdsRequest>,
    ) -> Result<Response<GroupMemberIdsResponse>, Status> {
        let request = request.into_inner();
        require_tenant(&request.tenant_id)?;
        let member_ids = self
            .reader
            .group_member_ids(&request.tenant_id, &request.group_id)
            .await?;
        Ok(Response::new(GroupMemberIdsResponse { member_ids }))
    }

    async fn authenticate(
        &self,
        request: Request<AuthenticateRequest>,
    ) -> Result<Response<AuthenticateResponse>, Status> {
        let token = self
            .accounts
            .authenticate(&request.into_inner().token)
            .await
            .map_err(DirectoryError::from)?;
        Ok(Response::new(AuthenticateResponse::from(token)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn resource(bytes: usize) -> Resource {
        Resource {
            json: "x".repeat(bytes),
            ..Resource::default()
        }
    }

    #[test]
    fn a_page_ends_before_its_byte_budget_but_never_empty() {
        let page = within_budget((0..10).map(|_| resource(MAX_LIST_RESPONSE_BYTES / 4)));
        assert_eq!(page.len(), 4);
        let page = within_budget(std::iter::once(resource(MAX_LIST_RESPONSE_BYTES * 2)));
        assert_eq!(page.len(), 1);
    }
}
