//! Group commit of token issuance on SQLite.
//!
//! SQLite has one writer, and with `synchronous=FULL` every commit waits for an fsync, so one
//! INSERT per commit caps issuance at the disk's fsync rate (~1–1.5k/s here) however fast
//! everything else is. Issuances that arrive while a commit is in flight wait in a queue; the
//! committer takes them all, writes them in **one** transaction and commits once, then answers
//! each. Nothing is answered before the COMMIT that makes its token durable has returned, and
//! no delay is added: a lone request is written at once, as before; batches form only while
//! the writer is busy anyway.
//!
//! Each issuance in a batch stays atomic on its own: a lone access token is one statement
//! (SQLite undoes a failing statement by itself and the transaction goes on); an access +
//! refresh pair is wrapped in a SAVEPOINT, rolled back alone if either INSERT fails. If the
//! COMMIT fails, every issuance of the batch gets the error.
//!
//! PostgreSQL does not need this: its WAL writer already flushes concurrent commits together.

use oauth_toolkit_core::store::{IssuedTokens, NewTokenPair, StoreError};
use sqlx::{Acquire, Sqlite, SqlitePool, Transaction};
use time::OffsetDateTime;
use tokio::sync::{mpsc, oneshot};

use crate::error::map_err;
use crate::stats::counted;
use crate::SqliteStore;

/// Most issuances written by one commit.
const MAX_BATCH: usize = 256;
/// Issuances that may wait for the committer before callers wait to enqueue.
const QUEUE: usize = 4096;

struct Job {
    pair: NewTokenPair,
    now: OffsetDateTime,
    reply: oneshot::Sender<Result<IssuedTokens, StoreError>>,
}

/// The sending side, held by every clone of the store; the committer task ends when the last
/// clone is dropped.
#[derive(Clone)]
pub(crate) struct IssueQueue {
    jobs: mpsc::Sender<Job>,
}

impl std::fmt::Debug for IssueQueue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IssueQueue").finish_non_exhaustive()
    }
}

impl IssueQueue {
    /// Start the committer on `write` (the single-connection writer pool).
    pub(crate) fn start(write: SqlitePool) -> Self {
        let (jobs, rx) = mpsc::channel(QUEUE);
        tokio::spawn(run(write, rx));
        Self { jobs }
    }

    /// Write `pair` and answer once it is durable.
    pub(crate) async fn issue(
        &self,
        pair: NewTokenPair,
        now: OffsetDateTime,
    ) -> Result<IssuedTokens, StoreError> {
        let (reply, answer) = oneshot::channel();
        self.jobs
            .send(Job { pair, now, reply })
            .await
            .map_err(|_| stopped())?;
        answer.await.map_err(|_| stopped())?
    }
}

fn stopped() -> StoreError {
    StoreError::Unavailable("the SQLite token writer has stopped".into())
}

async fn run(write: SqlitePool, mut rx: mpsc::Receiver<Job>) {
    let mut batch = Vec::with_capacity(MAX_BATCH);
    while rx.recv_many(&mut batch, MAX_BATCH).await > 0 {
        if batch.len() == 1 {
            // Alone: write it as before (no BEGIN/COMMIT for a lone access token).
            for job in batch.drain(..) {
                let result = SqliteStore::issue_now(&write, job.pair, job.now).await;
                let _ = job.reply.send(result);
            }
            continue;
        }
        commit_batch(&write, &mut batch).await;
    }
}

/// Write every job of `batch` in one transaction, then answer them all.
async fn commit_batch(write: &SqlitePool, batch: &mut Vec<Job>) {
    let size = batch.len();
    let (work, replies): (Vec<_>, Vec<_>) = batch
        .drain(..)
        .map(|job| ((job.pair, job.now), job.reply))
        .unzip();
    let mut tx = match counted(write).begin().await {
        Ok(tx) => tx,
        Err(e) => return fail_all(replies, &map_err(e)),
    };
    let mut results = Vec::with_capacity(size);
    for (pair, now) in work {
        results.push(write_one(&mut tx, pair, now).await);
    }
    if let Err(e) = counted(tx).commit().await {
        return fail_all(replies, &map_err(e));
    }
    tracing::trace!(size, "token issuances committed together");
    for (reply, result) in replies.into_iter().zip(results) {
        let _ = reply.send(result);
    }
}

async fn write_one(
    tx: &mut Transaction<'static, Sqlite>,
    pair: NewTokenPair,
    now: OffsetDateTime,
) -> Result<IssuedTokens, StoreError> {
    let Some(refresh) = pair.refresh else {
        // One statement: atomic by itself inside the transaction.
        let at = SqliteStore::insert_access_token(&mut **tx, pair.access, now).await?;
        return Ok((at, None));
    };
    // Two statements: all or nothing through a savepoint.
    let mut sp = counted(&mut **tx).begin().await.map_err(map_err)?;
    let written = async {
        let at = SqliteStore::insert_access_token(&mut *sp, pair.access, now).await?;
        let rt = SqliteStore::insert_refresh_token(&mut *sp, refresh, Some(at.id), now).await?;
        Ok::<_, StoreError>((at, Some(rt)))
    }
    .await;
    match written {
        Ok(issued) => {
            counted(sp).commit().await.map_err(map_err)?;
            Ok(issued)
        }
        Err(e) => {
            counted(sp).rollback().await.map_err(map_err)?;
            Err(e)
        }
    }
}

/// The same failure for every job (StoreError is not Clone: rebuild it from its text).
fn fail_all(replies: Vec<oneshot::Sender<Result<IssuedTokens, StoreError>>>, error: &StoreError) {
    tracing::warn!(
        "group commit of {} token issuances failed: {error}",
        replies.len()
    );
    for reply in replies {
        let _ = reply.send(Err(copy_error(error)));
    }
}

fn copy_error(e: &StoreError) -> StoreError {
    let cause = || -> Box<dyn std::error::Error + Send + Sync> {
        let text = std::error::Error::source(e)
            .map(|s| s.to_string())
            .unwrap_or_else(|| e.to_string());
        text.into()
    };
    match e {
        StoreError::Conflict(s) => StoreError::Conflict(s.clone()),
        StoreError::MissingReference(s) => StoreError::MissingReference(s.clone()),
        StoreError::Invalid(s) => StoreError::Invalid(s.clone()),
        StoreError::Unavailable(_) => StoreError::Unavailable(cause()),
        StoreError::Backend(_) => StoreError::Backend(cause()),
    }
}
