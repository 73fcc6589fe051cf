//! Graceful shutdown.

use std::io::Write;
use std::net::TcpStream;
use std::time::{Duration, Instant};

use crate::common::*;
use crate::support::*;

/// A request in flight when SIGTERM arrives is finished and answered; new connections are
/// refused; the process exits 0.
#[test]
fn shutdown_finishes_a_request_in_flight() {
    let env = Env::sqlite();
    let (id, secret) = env.create_app("confidential", "client-credentials", &[]);
    let server = Server::start(&env, &[]);
    let addr = addr(&server);
    let body = b"grant_type=client_credentials";
    let mut s = connect(&addr);
    let head = format!(
        "POST /o/token/ HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: {}\r\n\
         Content-Type: {FORM}\r\nContent-Length: {}\r\n\r\n",
        basic(&id, &secret),
        body.len()
    );
    s.write_all(head.as_bytes()).unwrap();
    s.write_all(&body[..10]).unwrap();
    std::thread::sleep(Duration::from_millis(300));

    sigterm(&server);
    wait_for("the shutdown log line", Duration::from_secs(10), || {
        log_of(&server).contains("SIGTERM received, shutting down")
    });
    wait_for("the listener to close", Duration::from_secs(10), || {
        TcpStream::connect(&addr).is_err()
    });

    // The rest of the body, half a second into the shutdown.
    std::thread::sleep(Duration::from_millis(500));
    s.write_all(&body[10..]).unwrap();
    let answer = read_to_close(&mut s).unwrap();
    let r = parse_response(&answer).expect("no answer to the request in flight");
    assert_token(&r);
    let status = server.terminate();
    assert!(status.success(), "{status:?}");
}

/// A client that never finishes its request does not hold the shutdown for longer than
/// `shutdown_timeout_seconds` (1 s here; the request timeout is the default 30 s).
#[test]
fn shutdown_drain_is_bounded() {
    let env = Env::sqlite();
    let mut server = Server::start(&env, &[("OAUTH_TOOLKIT_SHUTDOWN_TIMEOUT_SECONDS", "1")]);
    let addr = addr(&server);
    let mut s = connect(&addr);
    s.write_all(
        format!(
            "POST /o/token/ HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: {FORM}\r\n\
             Content-Length: 100\r\n\r\ngrant_type="
        )
        .as_bytes(),
    )
    .unwrap();
    std::thread::sleep(Duration::from_millis(300));
    let started = Instant::now();
    sigterm(&server);
    let status = loop {
        if let Some(status) = server.child.try_wait().unwrap() {
            break status;
        }
        assert!(
            started.elapsed() < Duration::from_secs(15),
            "the server waited for a stuck client past the drain time"
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    let took = started.elapsed();
    println!("shutdown with a stuck request took {took:?}");
    assert!(status.success(), "{status:?}");
    assert!(
        took >= Duration::from_millis(900),
        "did not wait for the drain: {took:?}"
    );
    assert!(took < Duration::from_secs(10), "{took:?}");
    assert!(
        log_of(&server).contains("closing them"),
        "{}",
        log_of(&server)
    );
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    read_to_close(&mut s).expect("the stuck connection was not closed");
}
