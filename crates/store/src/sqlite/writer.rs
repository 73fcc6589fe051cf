//! The one SQLite writer: a thread of its own that owns the write connection and commits
//! the writes that queue up while it works together.
//!
//! SQLite has one write lock per database. Writes from many tasks would otherwise queue for
//! it one commit at a time (and with `synchronous = FULL` one fsync each). Here every write is
//! a job sent to this thread; it takes whatever has queued (up to [`MAX_BATCH`]), runs each
//! job in **one** `BEGIN IMMEDIATE … COMMIT`, and answers every job after that COMMIT has
//! returned. A lone job is written at once, so nothing waits for company: batches form only
//! while the writer is busy anyway.
//!
//! Each job stays atomic on its own: a single-statement job is undone by SQLite itself when
//! its statement fails (the transaction goes on); a job of several statements runs inside a
//! `SAVEPOINT`, rolled back alone when it returns an error. If the COMMIT fails, every job of
//! the batch gets the error. A job is never answered with a success that was not committed.

use oauth_toolkit_core::store::StoreError;
use rusqlite::Connection;
use tokio::sync::{mpsc, oneshot};

use super::connection::control;

/// Most jobs written by one commit.
const MAX_BATCH: usize = 256;
/// Jobs that may wait for the writer before callers wait to enqueue.
const QUEUE: usize = 4096;

/// How a job uses the connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Shape {
    /// One statement: atomic by itself.
    One,
    /// Several statements, made atomic together by a transaction or a savepoint.
    Many,
    /// Runs alone, outside any batch, and manages its own transactions (migrations).
    Own,
}

/// Answers a job's caller, given the batch's COMMIT error if there was one.
type Answer = Box<dyn FnOnce(Option<&StoreError>) + Send>;

/// What a job left to do once its batch is committed (or not): answer its caller.
struct Ran {
    ok: bool,
    answer: Answer,
}

trait Job: Send {
    fn shape(&self) -> Shape;
    fn run(self: Box<Self>, conn: &Connection) -> Ran;
    fn fail(self: Box<Self>, error: &StoreError);
}

struct Pending<F, T> {
    shape: Shape,
    work: F,
    reply: oneshot::Sender<Result<T, StoreError>>,
}

impl<F, T> Job for Pending<F, T>
where
    F: FnOnce(&Connection) -> Result<T, StoreError> + Send + 'static,
    T: Send + 'static,
{
    fn shape(&self) -> Shape {
        self.shape
    }

    fn run(self: Box<Self>, conn: &Connection) -> Ran {
        let Pending { work, reply, .. } = *self;
        let result = work(conn);
        Ran {
            ok: result.is_ok(),
            answer: Box::new(move |commit_error| {
                let answer = match (result, commit_error) {
                    (Ok(_), Some(e)) => Err(copy_error(e)),
                    (result, _) => result,
                };
                let _ = reply.send(answer);
            }),
        }
    }

    fn fail(self: Box<Self>, error: &StoreError) {
        let _ = self.reply.send(Err(copy_error(error)));
    }
}

enum Message {
    Job(Box<dyn Job>),
    Close(oneshot::Sender<()>),
}

/// The sending side, held by every clone of the store.
#[derive(Clone)]
pub(crate) struct Writer {
    jobs: mpsc::Sender<Message>,
}

impl std::fmt::Debug for Writer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Writer").finish_non_exhaustive()
    }
}

impl Writer {
    /// Start the writer thread on `conn`.
    pub(crate) fn start(conn: Connection) -> Result<Self, StoreError> {
        let (jobs, rx) = mpsc::channel(QUEUE);
        std::thread::Builder::new()
            .name("sqlite-writer".into())
            .spawn(move || run(conn, rx))
            .map_err(|e| StoreError::Unavailable(Box::new(e)))?;
        Ok(Self { jobs })
    }

    /// Run `work` on the write connection; answered once committed.
    pub(crate) async fn write<T, F>(&self, shape: Shape, work: F) -> Result<T, StoreError>
    where
        F: FnOnce(&Connection) -> Result<T, StoreError> + Send + 'static,
        T: Send + 'static,
    {
        let (reply, answer) = oneshot::channel();
        let job = Box::new(Pending { shape, work, reply });
        self.jobs
            .send(Message::Job(job))
            .await
            .map_err(|_| stopped())?;
        answer.await.map_err(|_| stopped())?
    }

    /// Finish the queued jobs, then close the connection.
    pub(crate) async fn close(&self) {
        let (done, closed) = oneshot::channel();
        if self.jobs.send(Message::Close(done)).await.is_ok() {
            let _ = closed.await;
        }
    }
}

fn stopped() -> StoreError {
    StoreError::Unavailable("the SQLite writer has stopped".into())
}

fn run(conn: Connection, mut rx: mpsc::Receiver<Message>) {
    let mut batch: Vec<Box<dyn Job>> = Vec::with_capacity(MAX_BATCH);
    let mut held: Option<Message> = None;
    loop {
        let first = match held.take() {
            Some(m) => m,
            None => match rx.blocking_recv() {
                Some(m) => m,
                None => return,
            },
        };
        match first {
            Message::Close(done) => return close(conn, done),
            Message::Job(job) if job.shape() == Shape::Own => {
                let ran = job.run(&conn);
                (ran.answer)(None);
                continue;
            }
            Message::Job(job) => batch.push(job),
        }
        while batch.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(Message::Job(job)) if job.shape() != Shape::Own => batch.push(job),
                Ok(other) => {
                    held = Some(other);
                    break;
                }
                Err(_) => break,
            }
        }
        commit(&conn, &mut batch);
    }
}

fn close(conn: Connection, done: oneshot::Sender<()>) {
    if let Err((_, e)) = conn.close() {
        tracing::warn!("closing the SQLite writer: {e}");
    }
    let _ = done.send(());
}

/// Run every job of `batch` and commit them together, then answer them.
fn commit(conn: &Connection, batch: &mut Vec<Box<dyn Job>>) {
    // How many writes each commit carries (group commit at work), for `/metrics`.
    metrics::histogram!("oauth_store_commit_batch_size").record(batch.len() as f64);
    if batch.len() == 1 && batch[0].shape() == Shape::One {
        // Alone and atomic by itself: no BEGIN/COMMIT around it.
        for job in batch.drain(..) {
            let ran = job.run(conn);
            (ran.answer)(None);
        }
        return;
    }
    if let Err(e) = control(conn, "BEGIN IMMEDIATE") {
        for job in batch.drain(..) {
            job.fail(&e);
        }
        return;
    }
    let alone = batch.len() == 1;
    let size = batch.len();
    let mut ran = Vec::with_capacity(size);
    let mut broken: Option<StoreError> = None;
    for job in batch.drain(..) {
        if broken.is_some() {
            // The transaction is unusable: the COMMIT below fails them all.
            ran.push(never_run(job));
            continue;
        }
        let savepoint = !alone && job.shape() == Shape::Many;
        if savepoint {
            if let Err(e) = control(conn, "SAVEPOINT job") {
                job.fail(&e);
                broken = Some(e);
                continue;
            }
        }
        let done = job.run(conn);
        if savepoint {
            let undo = if done.ok {
                control(conn, "RELEASE job")
            } else {
                control(conn, "ROLLBACK TO job").and_then(|_| control(conn, "RELEASE job"))
            };
            if let Err(e) = undo {
                broken = Some(e);
            }
        } else if alone && !done.ok {
            // The only job failed: nothing of it may stay.
            rollback(conn);
            (done.answer)(None);
            return;
        }
        ran.push(done);
    }
    let outcome = match broken {
        Some(e) => Err(e),
        None => control(conn, "COMMIT"),
    };
    match outcome {
        Ok(()) => {
            tracing::trace!(size, "SQLite writes committed together");
            for done in ran {
                (done.answer)(None);
            }
        }
        Err(e) => {
            rollback(conn);
            tracing::warn!("group commit of {size} SQLite writes failed: {e}");
            for done in ran {
                (done.answer)(Some(&e));
            }
        }
    }
}

fn rollback(conn: &Connection) {
    if !conn.is_autocommit() {
        if let Err(e) = control(conn, "ROLLBACK") {
            tracing::warn!("SQLite ROLLBACK failed: {e}");
        }
    }
}

/// A job of a batch that is already lost: answered with the batch's error, never run.
fn never_run(job: Box<dyn Job>) -> Ran {
    Ran {
        ok: false,
        answer: Box::new(move |error| {
            let fallback = StoreError::Backend("the batch was rolled back".into());
            job.fail(error.unwrap_or(&fallback));
        }),
    }
}

/// The same failure for every job (StoreError is not Clone: rebuild it from its text).
pub(crate) fn copy_error(e: &StoreError) -> StoreError {
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
