//! The slow hash gate: password hashes (argon2id, PBKDF2) run on threads of their own, off the
//! async workers, at most one per core at once, and argon2 reuses a small pool of memory
//! buffers. No async runtime is assumed: a job is a plain thread and its answer a oneshot
//! channel, which any executor can await (a thread costs ~20 µs next to a ~20 ms hash).
//!
//! An argon2id hash with the default cost takes ~20 ms of CPU and 19 MiB of memory. Run inline
//! on the async workers, 32 concurrent logins stall every other request and allocate 32 buffers
//! at once (which glibc then keeps). The work is CPU-bound, so running more hashes than there
//! are cores gains nothing: callers wait (asynchronously) for a slot instead.
//!
//! Waiting is fair between callers, not first come first served: each caller (the client
//! address the web layer registers, see below) has its own queue and free slots go to the
//! queues in turn. A flood of wrong passwords from one address then delays a sign-in from
//! another by at most one hash per core, however many requests the flood has queued; and one
//! caller cannot queue more than [`MAX_WAITING_PER_CALLER`] checks (the rest fail at once).
//!
//! Who the caller is comes from the web layer (a task-local of its runtime), registered once
//! with [`set_caller_source`]; without one every check is one shared caller.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use argon2::{Block, Params};
use futures_channel::oneshot;

/// At most this many slow hashes run at once through a gate, and at most this many argon2
/// buffers are kept for reuse: the number of cores (at least 1).
pub fn default_limit() -> usize {
    static LIMIT: OnceLock<usize> = OnceLock::new();
    *LIMIT.get_or_init(|| {
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1)
            .max(1)
    })
}

/// Checks one caller may have waiting at once; more are refused (treated as "not valid").
pub const MAX_WAITING_PER_CALLER: usize = 64;

static CALLER_SOURCE: OnceLock<fn() -> u64> = OnceLock::new();

/// Where [`SlowHashGate::run`] learns the current caller (e.g. a digest of the client address
/// the web layer keeps in a task-local). The first registration wins.
pub fn set_caller_source(source: fn() -> u64) {
    let _ = CALLER_SOURCE.set(source);
}

fn current_caller() -> u64 {
    CALLER_SOURCE.get().map_or(0, |source| source())
}

/// Bounds how many slow hashes run at once and runs them off the async workers.
#[derive(Debug)]
pub struct SlowHashGate {
    inner: Arc<Inner>,
    limit: usize,
}

#[derive(Debug)]
struct Inner {
    limit: usize,
    queue: Mutex<FairQueue>,
    stats: GateStats,
}

/// Who waits for a slot: a queue per caller, and the callers with waiters in turn order.
#[derive(Debug, Default)]
struct FairQueue {
    running: usize,
    waiting: HashMap<u64, VecDeque<oneshot::Sender<Slot>>>,
    turns: VecDeque<u64>,
}

#[derive(Debug, Default)]
struct GateStats {
    running: AtomicUsize,
    high_water: AtomicUsize,
}

/// A slot of the gate; dropping it hands the slot to the next caller in turn. A slot sent to a
/// waiter that has gone away comes back through its drop, so no slot is ever lost.
#[derive(Debug)]
struct Slot {
    inner: Arc<Inner>,
    armed: bool,
}

impl Drop for Slot {
    fn drop(&mut self) {
        if self.armed {
            Inner::release(&self.inner);
        }
    }
}

impl Inner {
    /// A slot now, or a place in `caller`'s queue; `None` when that queue is full.
    fn acquire(self: &Arc<Self>, caller: u64) -> Option<Result<Slot, oneshot::Receiver<Slot>>> {
        let mut q = self.queue.lock().ok()?;
        if q.running < self.limit && q.turns.is_empty() {
            q.running += 1;
            return Some(Ok(Slot {
                inner: Arc::clone(self),
                armed: true,
            }));
        }
        let waiting = q.waiting.entry(caller).or_default();
        if waiting.len() >= MAX_WAITING_PER_CALLER {
            return None;
        }
        let (tx, rx) = oneshot::channel();
        waiting.push_back(tx);
        if waiting.len() == 1 {
            q.turns.push_back(caller);
        }
        Some(Err(rx))
    }

    /// A slot came free: give it to the first waiter of the next caller in turn.
    fn release(self: &Arc<Self>) {
        let Ok(mut q) = self.queue.lock() else {
            return;
        };
        while let Some(caller) = q.turns.pop_front() {
            let Some(waiting) = q.waiting.get_mut(&caller) else {
                continue;
            };
            let next = waiting.pop_front();
            if waiting.is_empty() {
                q.waiting.remove(&caller);
            } else {
                q.turns.push_back(caller);
            }
            let Some(tx) = next else {
                continue;
            };
            let slot = Slot {
                inner: Arc::clone(self),
                armed: true,
            };
            match tx.send(slot) {
                Ok(()) => return,
                // That waiter went away: disarm (the lock is held) and try the next one.
                Err(mut slot) => slot.armed = false,
            }
        }
        q.running = q.running.saturating_sub(1);
    }
}

/// Counts one running job; the count drops even if the job panics.
struct Running<'a>(&'a GateStats);

impl<'a> Running<'a> {
    fn enter(stats: &'a GateStats) -> Self {
        let now = stats.running.fetch_add(1, Ordering::SeqCst) + 1;
        stats.high_water.fetch_max(now, Ordering::SeqCst);
        Running(stats)
    }
}

impl Drop for Running<'_> {
    fn drop(&mut self) {
        self.0.running.fetch_sub(1, Ordering::SeqCst);
    }
}

impl SlowHashGate {
    /// A gate letting `limit` (at least 1) jobs run at once.
    pub fn new(limit: usize) -> Self {
        let limit = limit.max(1);
        SlowHashGate {
            inner: Arc::new(Inner {
                limit,
                queue: Mutex::new(FairQueue::default()),
                stats: GateStats::default(),
            }),
            limit,
        }
    }

    /// The process-wide gate that password and client-secret checks go through.
    pub fn global() -> &'static SlowHashGate {
        static GATE: OnceLock<SlowHashGate> = OnceLock::new();
        GATE.get_or_init(|| SlowHashGate::new(default_limit()))
    }

    /// How many slow hashes may run at once.
    pub fn limit(&self) -> usize {
        self.limit
    }

    /// The most jobs that have run at the same time through this gate.
    pub fn high_water_mark(&self) -> usize {
        self.inner.stats.high_water.load(Ordering::SeqCst)
    }

    /// Run `job` on a thread of its own once a slot is free for the current caller (see
    /// [`set_caller_source`]). `None` when the job panicked, could not run, or the caller
    /// already has [`MAX_WAITING_PER_CALLER`] jobs waiting; callers treat that as "not valid".
    pub async fn run<T, F>(&self, job: F) -> Option<T>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        self.run_as(current_caller(), job).await
    }

    /// [`SlowHashGate::run`] queued as `caller`.
    pub async fn run_as<T, F>(&self, caller: u64, job: F) -> Option<T>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        let slot = match self.inner.acquire(caller) {
            None => {
                tracing::warn!("slow hash refused: too many checks waiting for one caller");
                return None;
            }
            Some(Ok(slot)) => slot,
            Some(Err(rx)) => rx.await.ok()?,
        };
        let inner = Arc::clone(&self.inner);
        // The slot moves into the job: if the caller's future is dropped (the client went
        // away), the hash still holds its slot until it really finishes.
        let guarded = move || {
            let _slot = slot;
            let _running = Running::enter(&inner.stats);
            job()
        };
        let (tx, rx) = oneshot::channel();
        let spawned = std::thread::Builder::new()
            .name("slow-hash".into())
            .spawn(move || {
                let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(guarded));
                let _ = tx.send(outcome);
            });
        if let Err(e) = spawned {
            tracing::error!("cannot start a slow hash thread: {e}");
            return None;
        }
        match rx.await {
            Ok(Ok(value)) => Some(value),
            Ok(Err(_)) | Err(_) => {
                tracing::error!("slow hash job panicked");
                None
            }
        }
    }
}

/// Blocks for the default argon2 parameters (19 MiB): the size of a pooled buffer.
fn pooled_block_count() -> usize {
    Params::DEFAULT.block_count()
}

/// Reusable argon2 memory, at most [`default_limit`] buffers kept. Reusing them keeps the
/// process's memory flat: a freed 19 MiB buffer raises glibc's mmap threshold, after which such
/// buffers come from per-thread arenas and are rarely given back to the system.
fn pool() -> &'static Mutex<Vec<Vec<Block>>> {
    static POOL: OnceLock<Mutex<Vec<Vec<Block>>>> = OnceLock::new();
    POOL.get_or_init(|| Mutex::new(Vec::new()))
}

/// Run `f` with at least `blocks` argon2 blocks of scratch memory: a pooled buffer when the
/// default size suffices (allocated on first use, returned afterwards), else a one-off buffer.
pub fn with_argon2_memory<T>(blocks: usize, f: impl FnOnce(&mut [Block]) -> T) -> T {
    let size = pooled_block_count();
    if blocks > size {
        let mut one_off = vec![Block::default(); blocks];
        return f(&mut one_off);
    }
    let taken = pool().lock().ok().and_then(|mut p| p.pop());
    let mut buffer = taken.unwrap_or_else(|| vec![Block::default(); size]);
    let result = f(&mut buffer);
    // Its contents are argon2 state derived from the password; the next hash overwrites every
    // block it reads before reading it, so nothing leaks between hashes.
    if let Ok(mut p) = pool().lock() {
        if p.len() < default_limit() {
            p.push(buffer);
        }
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn at_most_limit_jobs_run_at_once() {
        let gate = Arc::new(SlowHashGate::new(default_limit()));
        let mut tasks = Vec::new();
        for i in 0..4 * gate.limit() {
            let gate = Arc::clone(&gate);
            tasks.push(tokio::spawn(async move {
                gate.run(move || {
                    std::thread::sleep(Duration::from_millis(20));
                    i
                })
                .await
            }));
        }
        for (i, task) in tasks.into_iter().enumerate() {
            assert_eq!(task.await.unwrap(), Some(i));
        }
        assert!(gate.high_water_mark() >= 1);
        assert!(
            gate.high_water_mark() <= gate.limit(),
            "{} > {}",
            gate.high_water_mark(),
            gate.limit()
        );
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_limit_of_one_serialises() {
        let gate = Arc::new(SlowHashGate::new(0));
        assert_eq!(gate.limit(), 1);
        let jobs = (0..6).map(|_| {
            let gate = Arc::clone(&gate);
            async move {
                gate.run(|| std::thread::sleep(Duration::from_millis(5)))
                    .await
            }
        });
        for r in futures_join_all(jobs).await {
            assert_eq!(r, Some(()));
        }
        assert_eq!(gate.high_water_mark(), 1);
    }

    async fn futures_join_all<F: std::future::Future + Send + 'static>(
        futures: impl Iterator<Item = F>,
    ) -> Vec<F::Output>
    where
        F::Output: Send + 'static,
    {
        let handles: Vec<_> = futures.map(tokio::spawn).collect();
        let mut out = Vec::new();
        for h in handles {
            out.push(h.await.unwrap());
        }
        out
    }

    #[tokio::test]
    async fn a_panicking_job_is_none_and_frees_its_permit() {
        let gate = SlowHashGate::new(1);
        let r: Option<bool> = gate.run(|| panic!("boom")).await;
        assert_eq!(r, None);
        // The permit came back: the next job runs.
        assert_eq!(gate.run(|| true).await, Some(true));
        assert_eq!(gate.inner.stats.running.load(Ordering::SeqCst), 0);
    }

    #[test]
    fn jobs_run_without_any_runtime() {
        let gate = SlowHashGate::new(1);
        assert_eq!(block_on(gate.run(|| 7)), Some(7));
        let panicking = gate.run(|| -> u8 { panic!("boom") });
        assert_eq!(block_on(panicking), None);
        assert_eq!(block_on(gate.run(|| 8)), Some(8));
    }

    /// A minimal executor with no tokio context: the gate needs no runtime.
    fn block_on<F: std::future::Future>(fut: F) -> F::Output {
        use std::task::{Context, Poll, Wake, Waker};
        struct Noop;
        impl Wake for Noop {
            fn wake(self: Arc<Self>) {}
        }
        let waker = Waker::from(Arc::new(Noop));
        let mut cx = Context::from_waker(&waker);
        let mut fut = std::pin::pin!(fut);
        loop {
            if let Poll::Ready(v) = fut.as_mut().poll(&mut cx) {
                return v;
            }
            std::thread::yield_now();
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_dropped_caller_keeps_the_slot_until_the_job_ends() {
        let gate = Arc::new(SlowHashGate::new(1));
        let started = Arc::new(std::sync::Barrier::new(2));
        let s = Arc::clone(&started);
        let g = Arc::clone(&gate);
        let first = tokio::spawn(async move {
            g.run(move || {
                s.wait();
                std::thread::sleep(Duration::from_millis(50));
            })
            .await
        });
        tokio::task::spawn_blocking(move || started.wait())
            .await
            .unwrap();
        first.abort();
        // The aborted caller's job still runs: the second one waits for it.
        let g = Arc::clone(&gate);
        let second = g.run(|| ()).await;
        assert_eq!(second, Some(()));
        assert_eq!(gate.high_water_mark(), 1);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_flooding_caller_does_not_delay_another_by_more_than_a_turn() {
        let gate = Arc::new(SlowHashGate::new(1));
        let order = Arc::new(Mutex::new(Vec::new()));
        // Hold the only slot while caller 1 queues 20 jobs and then caller 2 one.
        let release = Arc::new(std::sync::Barrier::new(2));
        let (g, r) = (Arc::clone(&gate), Arc::clone(&release));
        let blocker = tokio::spawn(async move {
            g.run_as(1, move || {
                r.wait();
            })
            .await
        });
        tokio::time::sleep(Duration::from_millis(20)).await;
        let mut tasks = Vec::new();
        for i in 0..20 {
            let (g, o) = (Arc::clone(&gate), Arc::clone(&order));
            tasks.push(tokio::spawn(async move {
                g.run_as(1, move || o.lock().unwrap().push(format!("flood{i}")))
                    .await
            }));
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
        let (g, o) = (Arc::clone(&gate), Arc::clone(&order));
        let victim = tokio::spawn(async move {
            g.run_as(2, move || o.lock().unwrap().push("victim".into()))
                .await
        });
        tokio::time::sleep(Duration::from_millis(20)).await;
        tokio::task::spawn_blocking(move || release.wait())
            .await
            .unwrap();
        assert_eq!(victim.await.unwrap(), Some(()));
        assert_eq!(blocker.await.unwrap(), Some(()));
        for t in tasks {
            assert_eq!(t.await.unwrap(), Some(()));
        }
        let order = order.lock().unwrap();
        let at = order.iter().position(|x| x == "victim").unwrap();
        // Served on the next turn after caller 1's first job, not after the whole flood.
        assert!(at <= 1, "victim served at position {at}: {order:?}");
        assert_eq!(order.len(), 21);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn one_caller_cannot_queue_without_bound() {
        let gate = Arc::new(SlowHashGate::new(1));
        let release = Arc::new(std::sync::Barrier::new(2));
        let r = Arc::clone(&release);
        let g = Arc::clone(&gate);
        let blocker = tokio::spawn(async move {
            g.run_as(1, move || {
                r.wait();
            })
            .await
        });
        tokio::time::sleep(Duration::from_millis(20)).await;
        let mut waiting = Vec::new();
        for _ in 0..MAX_WAITING_PER_CALLER {
            let g = Arc::clone(&gate);
            waiting.push(tokio::spawn(async move { g.run_as(1, || ()).await }));
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
        // The queue of caller 1 is full: one more is refused at once; caller 2 still queues.
        assert_eq!(gate.run_as(1, || ()).await, None);
        let g = Arc::clone(&gate);
        let other = tokio::spawn(async move { g.run_as(2, || 5).await });
        tokio::task::spawn_blocking(move || release.wait())
            .await
            .unwrap();
        assert_eq!(blocker.await.unwrap(), Some(()));
        assert_eq!(other.await.unwrap(), Some(5));
        for w in waiting {
            assert_eq!(w.await.unwrap(), Some(()));
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn abandoned_waiters_lose_no_slot() {
        let gate = Arc::new(SlowHashGate::new(1));
        let g = Arc::clone(&gate);
        let first = tokio::spawn(async move {
            g.run_as(1, || std::thread::sleep(Duration::from_millis(30)))
                .await
        });
        tokio::time::sleep(Duration::from_millis(5)).await;
        let mut dropped = Vec::new();
        for _ in 0..5 {
            let g = Arc::clone(&gate);
            dropped.push(tokio::spawn(async move { g.run_as(3, || ()).await }));
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
        for d in &dropped {
            d.abort();
        }
        assert_eq!(first.await.unwrap(), Some(()));
        // Every slot came back: jobs still run, one at a time.
        for _ in 0..3 {
            assert_eq!(gate.run_as(4, || 1).await, Some(1));
        }
        assert_eq!(gate.high_water_mark(), 1);
    }

    #[test]
    fn pooled_and_one_off_memory() {
        let small = with_argon2_memory(8, |m| m.len());
        assert!(small >= pooled_block_count());
        let big = with_argon2_memory(pooled_block_count() + 1, |m| m.len());
        assert_eq!(big, pooled_block_count() + 1);
        let kept = pool().lock().map(|p| p.len()).unwrap_or(0);
        assert!(kept <= default_limit(), "{kept}");
    }
}
