//! The server under slow, idle, oversized and hostile clients, over real TCP on loopback
//! against the real binary: idle connections do not starve requests, slow headers
//! and slow bodies are cut off, bodies have a size limit, the connection cap answers 503,
//! shutdown drains requests in flight within a bound, random hostile forms never get a 5xx,
//! and a sustained mixed load has no failures.
//!
//! Raw requests go through a small blocking HTTP/1.1 client on `std::net` (so that the tests
//! can send what no HTTP library would: lying lengths, trickled bytes, non-UTF-8); the mixed
//! load uses reqwest. The tests that measure time or load the machine take the `HEAVY` lock so
//! that they do not run at the same time as each other.

#[path = "../common/mod.rs"]
#[macro_use]
mod common;
mod support;

mod fuzz;
mod fuzz_input;
mod limits;
mod load;
mod shutdown;
