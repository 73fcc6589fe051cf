//! Memory under concurrent password checks: the slow hash gate runs at most one argon2 hash
//! per core, on pooled buffers, so 64 concurrent logins cost about `cores` × 19 MiB, not 64 ×.
//!
//! Its own test binary (and, under nextest, its own process), so no other test's allocations
//! show in the peak. Linux only (reads `VmHWM` from /proc/self/status).

use oauth_toolkit_core::password::{hash_password, verify_password_async, PasswordCheck};
use oauth_toolkit_core::slow_hash::SlowHashGate;

const MIB: u64 = 1024 * 1024;

/// Peak resident memory of this process, in bytes.
fn peak_rss() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

#[test]
fn concurrent_checks_keep_memory_flat() {
    let Some(_) = peak_rss() else {
        eprintln!("no /proc/self/status: skipped");
        return;
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .build()
        .expect("runtime");
    // Made before the measurement (on a buffer that then stays in the pool: counted once).
    let stored = hash_password("correct horse").expect("hash");
    // Start the measurement from now: reset the peak if the kernel lets us, else use the
    // current peak (which then includes the one hash above, making the check stricter).
    let _ = std::fs::write("/proc/self/clear_refs", "5");
    let before = peak_rss().unwrap_or(0);

    let checks = runtime.block_on(async {
        let tasks: Vec<_> = (0..64)
            .map(|i| {
                let stored = stored.clone();
                tokio::spawn(async move {
                    let password = if i % 2 == 0 { "correct horse" } else { "wrong" };
                    verify_password_async(password, &stored).await
                })
            })
            .collect();
        let mut checks = Vec::new();
        for task in tasks {
            checks.push(task.await.expect("task"));
        }
        checks
    });
    for (i, check) in checks.iter().enumerate() {
        assert_eq!(check.is_valid(), i % 2 == 0, "{i}: {check:?}");
    }
    assert_ne!(checks[0], PasswordCheck::Invalid);

    let gate = SlowHashGate::global();
    assert!(gate.high_water_mark() <= gate.limit());
    let grown = peak_rss().unwrap_or(0).saturating_sub(before);
    // One 19 MiB buffer per concurrent hash, plus slack for threads and the allocator.
    let allowed = (gate.limit() as u64 + 2) * 20 * MIB;
    eprintln!(
        "peak RSS grew by {} MiB with {} hashes at once",
        grown / MIB,
        gate.high_water_mark()
    );
    assert!(
        grown < allowed,
        "peak RSS grew by {} MiB (limit {} hashes at once, allowed {} MiB)",
        grown / MIB,
        gate.limit(),
        allowed / MIB
    );
}
