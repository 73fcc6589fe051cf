//! Idle connections, slow clients, body size, the connection cap, and the limits' settings.

use std::io::{ErrorKind, Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use crate::common::*;
use crate::support::*;

/// 500 idle connections (half silent, half stuck in the middle of a request line) do not
/// slow a normal token request down: it is answered within a second.
#[test]
fn idle_connections_do_not_starve_a_token_request() {
    let _heavy = HEAVY.blocking_lock();
    let env = Env::sqlite();
    let (id, secret) = env.create_app("confidential", "client-credentials", &[]);
    // A long header timeout so that the idle connections surely stay open while we measure.
    let server = Server::start(
        &env,
        &[("OAUTH_TOOLKIT_HEADER_READ_TIMEOUT_SECONDS", "120")],
    );
    let addr = addr(&server);
    // Warm up (first database connections), then open the idle crowd.
    assert_token(&exchange(&addr, &client_credentials_request(&id, &secret)).unwrap());

    let mut idle = Vec::new();
    for i in 0..500 {
        let mut s = connect(&addr);
        if i % 2 == 1 {
            s.write_all(b"POST /o/token/ HTT").unwrap();
        }
        idle.push(s);
    }
    std::thread::sleep(Duration::from_millis(300));

    let mut times = Vec::new();
    for _ in 0..5 {
        let started = Instant::now();
        let r = exchange(&addr, &client_credentials_request(&id, &secret)).unwrap();
        times.push(started.elapsed());
        assert_token(&r);
    }
    println!("token request latency with 500 idle connections open: {times:?}");
    let mut sorted = times.clone();
    sorted.sort();
    // Starvation slows every request; one outlier on a busy 2-core machine is noise.
    assert!(
        sorted[2] < Duration::from_secs(1),
        "median token request took {:?} with 500 idle connections: {times:?}",
        sorted[2]
    );
    assert!(sorted[4] < Duration::from_secs(5), "{times:?}");

    // The server really held them: none was closed or answered.
    let still_open = idle.iter_mut().map(closed_by_server).filter(|c| !c).count();
    assert_eq!(still_open, 500, "the server dropped idle connections");
    drop(idle);
    assert_healthy(&server);
    assert!(server.terminate().success());
}

/// A client that sends its headers one byte at a time, each byte well inside any per-read
/// timeout, is still cut off once the header timeout (1 s here) has passed.
#[test]
fn slowloris_headers_are_cut_off() {
    let env = Env::sqlite();
    let server = Server::start(&env, &[("OAUTH_TOOLKIT_HEADER_READ_TIMEOUT_SECONDS", "1")]);
    let addr = addr(&server);
    let started = Instant::now();
    let mut s = connect(&addr);
    s.set_read_timeout(Some(Duration::from_millis(200)))
        .unwrap();
    let head = format!(
        "POST /o/token/ HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: {}",
        "a".repeat(200)
    )
    .into_bytes();
    let mut sent = 0;
    let mut closed_after = None;
    // Bounded: one byte per ~200 ms for at most 20 s.
    while started.elapsed() < Duration::from_secs(20) {
        if s.write_all(&head[sent % head.len()..][..1]).is_err() {
            closed_after = Some(started.elapsed());
            break;
        }
        sent += 1;
        let mut buf = [0u8; 512];
        match s.read(&mut buf) {
            Ok(_) => {
                // Closed (0) or answered (an error response, then the close).
                closed_after = Some(started.elapsed());
                break;
            }
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
            Err(_) => {
                closed_after = Some(started.elapsed());
                break;
            }
        }
    }
    let closed_after = closed_after.expect("slowloris connection still open after 20 s");
    println!("slowloris connection closed after {closed_after:?} ({sent} bytes sent)");
    assert!(
        closed_after >= Duration::from_millis(900),
        "{closed_after:?}"
    );
    assert!(closed_after < Duration::from_secs(10), "{closed_after:?}");
    // A normal request on the same server is unaffected.
    assert_healthy(&server);
    assert!(server.terminate().success());
}

/// A body trickled slower than the request timeout (2 s here) gets a 408 or a closed
/// connection, never a request that hangs.
#[test]
fn trickled_body_times_out() {
    let env = Env::sqlite();
    let (id, secret) = env.create_app("confidential", "client-credentials", &[]);
    let server = Server::start(&env, &[("OAUTH_TOOLKIT_REQUEST_TIMEOUT_SECONDS", "2")]);
    let addr = addr(&server);
    let body = b"grant_type=client_credentials&scope=read";
    let mut s = connect(&addr);
    s.set_read_timeout(Some(Duration::from_millis(250)))
        .unwrap();
    let head = format!(
        "POST /o/token/ HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: {}\r\n\
         Content-Type: {FORM}\r\nContent-Length: {}\r\n\r\n",
        basic(&id, &secret),
        body.len()
    );
    let started = Instant::now();
    s.write_all(head.as_bytes()).unwrap();
    let mut answer = Vec::new();
    let mut ended = None;
    // One body byte per ~250 ms: the whole body would take 10 s.
    for byte in body.iter() {
        if s.write_all(&[*byte]).is_err() {
            ended = Some(started.elapsed());
            break;
        }
        let mut buf = [0u8; 1024];
        match s.read(&mut buf) {
            Ok(0) => {
                ended = Some(started.elapsed());
                break;
            }
            Ok(n) => {
                answer.extend_from_slice(&buf[..n]);
                ended = Some(started.elapsed());
                s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
                if let Ok(rest) = read_to_close(&mut s) {
                    answer.extend(rest);
                }
                break;
            }
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
            Err(_) => {
                ended = Some(started.elapsed());
                break;
            }
        }
    }
    let ended = ended.expect("the trickled request was neither answered nor closed");
    let status = parse_response(&answer).map(|r| r.status);
    println!("trickled body ended after {ended:?} with {status:?}");
    assert!(matches!(status, None | Some(408)), "{status:?}");
    assert!(ended >= Duration::from_millis(1500), "{ended:?}");
    assert!(ended < Duration::from_secs(9), "{ended:?}");
    // The same request sent at once succeeds.
    let r = exchange(
        &addr,
        &request(
            "POST",
            "/o/token/",
            &[
                ("Authorization", &basic(&id, &secret)),
                ("Content-Type", FORM),
            ],
            body,
        ),
    )
    .unwrap();
    assert_token(&r);
    assert!(server.terminate().success());
}

/// Bodies past `max_body_bytes` get 413 however their size is announced; a body exactly at
/// the limit is read; framing tricks get 4xx, never 5xx.
#[test]
fn oversized_bodies_get_413() {
    let env = Env::sqlite();
    let (id, secret) = env.create_app("confidential", "client-credentials", &[]);
    let server = Server::start(&env, &[("OAUTH_TOOLKIT_MAX_BODY_BYTES", "4096")]);
    let addr = addr(&server);
    let auth = basic(&id, &secret);
    let form_of_size = |n: usize| {
        let mut b = b"grant_type=client_credentials&pad=".to_vec();
        b.resize(n, b'a');
        b
    };
    let post = |body: &[u8]| {
        request(
            "POST",
            "/o/token/",
            &[("Authorization", &auth), ("Content-Type", FORM)],
            body,
        )
    };

    // At the limit: read and answered.
    assert_token(&exchange(&addr, &post(&form_of_size(4096))).unwrap());
    // One byte over, announced honestly.
    let r = exchange(&addr, &post(&form_of_size(4097))).unwrap();
    assert_eq!(r.status, 413, "{}", r.head);
    // The body was not read, so the connection cannot be reused: the server says so.
    assert!(
        r.head.to_ascii_lowercase().contains("connection: close"),
        "{}",
        r.head
    );
    // Far over (200 KB), honestly announced: answered 413 without reading it all.
    let r = exchange(&addr, &post(&form_of_size(200_000))).unwrap();
    assert_eq!(r.status, 413, "{}", r.head);

    // A lying Content-Length far above the limit with a small body: 413 at once.
    let lying = format!(
        "POST /o/token/ HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: {auth}\r\n\
         Content-Type: {FORM}\r\nContent-Length: 1000000000000\r\n\r\n\
         grant_type=client_credentials"
    );
    let r = exchange(&addr, lying.as_bytes()).unwrap();
    assert_eq!(r.status, 413, "{}", r.head);

    // Chunked, no length announced: 413 once the chunks pass the limit.
    let mut chunked = format!(
        "POST /o/token/ HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\
         Authorization: {auth}\r\nContent-Type: {FORM}\r\nTransfer-Encoding: chunked\r\n\r\n"
    )
    .into_bytes();
    let first = b"grant_type=client_credentials&pad=";
    chunked.extend(format!("{:x}\r\n", first.len()).as_bytes());
    chunked.extend(first);
    chunked.extend(b"\r\n");
    for _ in 0..20 {
        chunked.extend(b"400\r\n");
        chunked.extend([b'a'; 0x400]);
        chunked.extend(b"\r\n");
    }
    chunked.extend(b"0\r\n\r\n");
    let r = exchange(&addr, &chunked).unwrap();
    assert_eq!(r.status, 413, "{}", r.head);

    // Chunked and small: read normally.
    let small = format!(
        "POST /o/token/ HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\
         Authorization: {auth}\r\nContent-Type: {FORM}\r\nTransfer-Encoding: chunked\r\n\r\n\
         a\r\ngrant_type\r\n13\r\n=client_credentials\r\n0\r\n\r\n"
    );
    assert_token(&exchange(&addr, small.as_bytes()).unwrap());

    // Framing tricks: a Content-Length shorter than the body sent (the rest is read as a
    // second, garbage request), two different lengths, an overflowing length, a bad chunk.
    let mut short = format!(
        "POST /o/token/ HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: {auth}\r\n\
         Content-Type: {FORM}\r\nContent-Length: 29\r\n\r\n"
    )
    .into_bytes();
    short.extend(form_of_size(100_000));
    let two = format!(
        "POST /o/token/ HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: {FORM}\r\n\
         Content-Length: 5\r\nContent-Length: 50000\r\n\r\nhello"
    );
    let overflow = format!(
        "POST /o/token/ HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: {FORM}\r\n\
         Content-Length: 99999999999999999999999999\r\n\r\nhello"
    );
    let bad_chunk = format!(
        "POST /o/token/ HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: {FORM}\r\n\
         Transfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n"
    );
    let negative = format!(
        "POST /o/token/ HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: {FORM}\r\n\
         Content-Length: -1\r\n\r\nhello"
    );
    for (name, req) in [
        ("short length", short),
        ("two lengths", two.into_bytes()),
        ("overflowing length", overflow.into_bytes()),
        ("bad chunk size", bad_chunk.into_bytes()),
        ("negative length", negative.into_bytes()),
    ] {
        let mut s = connect(&addr);
        let _ = s.write_all(&req);
        let bytes = read_to_close(&mut s).unwrap_or_else(|e| panic!("{name}: {e}"));
        let text = String::from_utf8_lossy(&bytes);
        let statuses: Vec<&str> = text
            .match_indices("HTTP/1.1 ")
            .filter_map(|(i, _)| text.get(i + 9..i + 12))
            .collect();
        println!("{name}: {statuses:?}");
        assert!(
            statuses.iter().all(|s| s.starts_with('4') || *s == "200"),
            "{name}: {text}"
        );
        assert!(
            !statuses.is_empty() || bytes.is_empty(),
            "{name}: garbage answer {text}"
        );
    }

    // Headers past 64 KiB: 431 from the HTTP layer, before any endpoint.
    let big_header = "b".repeat(100 * 1024);
    let r = exchange(
        &addr,
        &request("GET", "/health", &[("X-Big", &big_header)], b""),
    )
    .unwrap();
    assert_eq!(r.status, 431, "{}", r.head);
    assert_healthy(&server);
    assert!(server.terminate().success());
}

/// Connections beyond `max_connections` are answered 503 and closed; the slots come back
/// when connections close.
#[test]
fn connections_beyond_the_cap_get_503() {
    let env = Env::sqlite();
    let server = Server::start(&env, &[("OAUTH_TOOLKIT_MAX_CONNECTIONS", "20")]);
    let addr = addr(&server);
    let idle: Vec<TcpStream> = (0..20).map(|_| connect(&addr)).collect();
    std::thread::sleep(Duration::from_millis(300));
    let r = exchange(&addr, &request("GET", "/health", &[], b"")).unwrap();
    assert_eq!(r.status, 503, "{}", r.head);
    assert!(
        r.head.to_ascii_lowercase().contains("retry-after"),
        "{}",
        r.head
    );
    drop(idle);
    let mut last = String::new();
    wait_for(
        "a free connection slot",
        Duration::from_secs(10),
        || match exchange(&addr, &request("GET", "/health", &[], b"")) {
            Ok(r) if r.status == 200 => true,
            other => {
                last = format!("{other:?}");
                false
            }
        },
    );
    assert!(log_of(&server).contains("connection limit reached"));
    assert!(server.terminate().success(), "{last}");
}

/// The limits are settings; nonsense values stop `serve` at start, naming the key.
#[test]
fn limit_settings_are_validated() {
    let env = Env::sqlite();
    for (var, value, key) in [
        ("OAUTH_TOOLKIT_MAX_CONNECTIONS", "0", "max_connections"),
        (
            "OAUTH_TOOLKIT_HEADER_READ_TIMEOUT_SECONDS",
            "0",
            "header_read_timeout_seconds",
        ),
        (
            "OAUTH_TOOLKIT_REQUEST_TIMEOUT_SECONDS",
            "100000",
            "request_timeout_seconds",
        ),
        (
            "OAUTH_TOOLKIT_SHUTDOWN_TIMEOUT_SECONDS",
            "soon",
            "shutdown_timeout_seconds",
        ),
    ] {
        let out = env
            .cmd()
            .args(["serve", "--bind", "127.0.0.1:0"])
            .env(var, value)
            .output()
            .unwrap();
        assert!(!out.status.success(), "{var}={value} was accepted");
        let line = error_line(&out);
        assert!(
            line.contains(&format!("`{key}`")) && line.contains(var),
            "{line}"
        );
    }
}
