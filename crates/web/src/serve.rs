//! The accept loop: serve a [`Router`] on a TCP listener so that slow or idle clients cannot
//! starve the server.
//!
//! - **Header read timeout** (`header_read_timeout`, 10 s): hyper's HTTP/1 timer starts when
//!   the connection starts waiting for a request head — right after accept, and again after
//!   every response on a keep-alive connection — and closes the connection when the whole
//!   head has not arrived by then. That ends slowloris clients (headers trickled byte by
//!   byte: the deadline is not reset by progress) and idle connections alike.
//! - **Request timeout** (`request_timeout`, 30 s): the router's `TimeoutLayer` bounds the
//!   handler, which reads the body, so a body trickled forever gets a 408 and the connection
//!   is closed (hyper does not keep a connection alive whose request body was not read).
//! - **Connection cap** (`max_connections`, 4096): a semaphore permit per connection. A
//!   connection accepted beyond the cap is answered `503` with `Connection: close` and
//!   closed at once, without reading it. Rejecting fast is chosen over not accepting: a
//!   listener that stops accepting leaves new clients hanging in the kernel's backlog with no
//!   answer, while the idle connections that fill the cap are reclaimed by the header timeout
//!   within seconds anyway.
//! - **Head size**: at most 64 KiB of request line and headers are buffered per connection
//!   (431 beyond), so the connection cap also caps the memory idle clients can pin.
//! - **TCP_NODELAY** on every connection (small JSON responses go out at once).
//! - **Graceful shutdown**: when `shutdown` resolves, the listener is closed, idle
//!   connections are closed, requests in flight finish (their connections close after the
//!   response), for at most `shutdown_timeout` (30 s); what is still running then is aborted.
//!
//! Only HTTP/1.1 is served (as with axum's `http1` feature): there is no TLS here, and
//! browsers speak HTTP/2 only over TLS, which a reverse proxy terminates.

use std::convert::Infallible;
use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{Request, Response};
use axum::Router;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use oauth_toolkit_core::Settings;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;
use tokio::task::JoinSet;
use tower::Service;

use crate::ServerLimits;

/// Largest request head (request line and headers) buffered per connection; larger gets 431.
/// hyper's default (~400 KiB) times `max_connections` would let idle clients pin gigabytes.
const MAX_HEAD_BYTES: usize = 64 * 1024;

/// The answer to a connection beyond `max_connections`.
const BUSY_RESPONSE: &[u8] = b"HTTP/1.1 503 Service Unavailable\r\n\
content-type: text/plain; charset=utf-8\r\n\
retry-after: 1\r\n\
connection: close\r\n\
content-length: 20\r\n\
\r\n\
Too many connections";

impl ServerLimits {
    /// The limits configured by `request_timeout_seconds`, `header_read_timeout_seconds`,
    /// `max_connections` and `shutdown_timeout_seconds`.
    pub fn from_settings(settings: &Settings) -> Self {
        Self {
            request_timeout: Duration::from_secs(settings.server.request_timeout_seconds),
            header_read_timeout: Duration::from_secs(settings.server.header_read_timeout_seconds),
            max_connections: settings.server.max_connections.max(1),
            shutdown_timeout: Duration::from_secs(settings.server.shutdown_timeout_seconds),
        }
    }
}

/// Serve `app` on `listener` until `shutdown` resolves, then drain (see the module docs).
///
/// Requests carry `ConnectInfo<SocketAddr>` (axum's [`ConnectInfo`]) with the peer's
/// address. Returns once every connection has finished or the drain time is over; errors of
/// single connections are logged, never returned.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    limits: &ServerLimits,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout)
        .max_header_size(MAX_HEAD_BYTES)
        .max_buf_size(MAX_HEAD_BYTES)
        .keep_alive(true);
    let permits = Arc::new(Semaphore::new(limits.max_connections.max(1)));
    let graceful = GracefulShutdown::new();
    let mut tasks = JoinSet::new();
    let mut last_busy_warning: Option<Instant> = None;
    tokio::pin!(shutdown);

    loop {
        let (stream, remote) = tokio::select! {
            biased;
            () = &mut shutdown => break,
            Some(done) = tasks.join_next(), if !tasks.is_empty() => {
                if let Err(e) = done {
                    if e.is_panic() {
                        tracing::error!("a connection task panicked: {e}");
                    }
                }
                continue;
            }
            accepted = listener.accept() => match accepted {
                Ok(pair) => pair,
                Err(e) => {
                    accept_error(e).await;
                    continue;
                }
            },
        };
        let Ok(permit) = permits.clone().try_acquire_owned() else {
            refuse(stream);
            let now = Instant::now();
            if last_busy_warning.is_none_or(|t| now.duration_since(t) >= Duration::from_secs(10)) {
                last_busy_warning = Some(now);
                tracing::warn!(
                    "connection limit reached ({} open): refusing new connections with 503",
                    limits.max_connections
                );
            }
            continue;
        };
        if let Err(e) = stream.set_nodelay(true) {
            tracing::debug!(%remote, "cannot set TCP_NODELAY: {e}");
        }
        let app = app.clone();
        let service = hyper::service::service_fn(move |mut req: Request<Incoming>| {
            req.extensions_mut().insert(ConnectInfo(remote));
            let mut app = app.clone();
            async move {
                let resp: Result<Response<Body>, Infallible> = app.call(req.map(Body::new)).await;
                resp
            }
        });
        let conn = graceful.watch(http.serve_connection(TokioIo::new(stream), service));
        tasks.spawn(async move {
            if let Err(e) = conn.await {
                // Timeouts, resets and malformed requests: the client's problem, not ours.
                tracing::debug!(%remote, "connection closed: {e}");
            }
            drop(permit);
        });
    }

    drop(listener);
    let open = graceful.count();
    if open > 0 {
        tracing::info!("draining {open} connection(s)");
    }
    if tokio::time::timeout(limits.shutdown_timeout, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!(
            "connections still open after {:?}: closing them",
            limits.shutdown_timeout
        );
    }
    tasks.shutdown().await;
    Ok(())
}

/// Answer 503 without reading the request, and close. A non-blocking write to a fresh
/// socket fits its send buffer; if it does not, the client just sees the close.
fn refuse(stream: TcpStream) {
    let _ = stream.try_write(BUSY_RESPONSE);
    drop(stream);
}

/// Errors of `accept`: a connection that died in the backlog is skipped; anything else
/// (out of file descriptors, mostly) is logged and retried after a pause instead of spinning.
async fn accept_error(e: std::io::Error) {
    use std::io::ErrorKind::*;
    if matches!(
        e.kind(),
        ConnectionAborted | ConnectionReset | ConnectionRefused | Interrupted
    ) {
        return;
    }
    tracing::error!("accept failed: {e}");
    tokio::time::sleep(Duration::from_millis(100)).await;
}

#[cfg(test)]
mod tests {
    //! The loop on its own; the binary's black-box tests are in `crates/server/tests/hardening.rs`.
    use super::*;
    use axum::routing::get;
    use std::io::{Read, Write};
    use std::net::SocketAddr;

    async fn start(limits: ServerLimits) -> (SocketAddr, tokio::sync::oneshot::Sender<()>) {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let app = Router::new().route(
            "/",
            get(|ConnectInfo(peer): ConnectInfo<SocketAddr>| async move { peer.ip().to_string() }),
        );
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        tokio::spawn(async move {
            serve(listener, app, &limits, async {
                let _ = rx.await;
            })
            .await
            .unwrap();
        });
        (addr, tx)
    }

    /// Blocking socket work off the runtime's threads.
    async fn blocking<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
        tokio::task::spawn_blocking(f).await.unwrap()
    }

    fn connect(addr: SocketAddr) -> std::net::TcpStream {
        let s = std::net::TcpStream::connect(addr).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        s
    }

    /// Everything the server sends until it closes (or 10 s pass: then a panic).
    fn read_all(s: &mut std::net::TcpStream) -> String {
        let mut out = Vec::new();
        let mut buf = [0u8; 4096];
        loop {
            match s.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => out.extend_from_slice(&buf[..n]),
                Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => break,
                Err(e) => panic!("no answer, no close: {e}"),
            }
        }
        String::from_utf8_lossy(&out).into_owned()
    }

    fn get_root(addr: SocketAddr) -> String {
        let mut s = connect(addr);
        s.write_all(b"GET / HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n")
            .unwrap();
        read_all(&mut s)
    }

    #[tokio::test]
    async fn serves_with_connect_info() {
        let (addr, _stop) = start(ServerLimits::default()).await;
        let out = blocking(move || get_root(addr)).await;
        assert!(out.starts_with("HTTP/1.1 200"), "{out}");
        assert!(out.ends_with("127.0.0.1"), "{out}");
    }

    #[tokio::test]
    async fn connections_beyond_the_cap_get_503_until_one_closes() {
        let limits = ServerLimits {
            max_connections: 2,
            ..ServerLimits::default()
        };
        let (addr, _stop) = start(limits).await;
        blocking(move || {
            let idle = [connect(addr), connect(addr)];
            // Let the server accept both before the third arrives.
            std::thread::sleep(Duration::from_millis(300));
            let out = read_all(&mut connect(addr));
            assert!(out.starts_with("HTTP/1.1 503"), "{out}");
            drop(idle);
            let deadline = Instant::now() + Duration::from_secs(10);
            loop {
                let out = get_root(addr);
                if out.starts_with("HTTP/1.1 200") {
                    break;
                }
                assert!(Instant::now() < deadline, "permits never came back: {out}");
                std::thread::sleep(Duration::from_millis(50));
            }
        })
        .await;
    }

    #[tokio::test]
    async fn header_timeout_closes_silent_half_sent_and_kept_alive_connections() {
        let limits = ServerLimits {
            header_read_timeout: Duration::from_millis(300),
            ..ServerLimits::default()
        };
        let (addr, _stop) = start(limits).await;
        let waited = blocking(move || {
            let started = Instant::now();
            // Silent.
            let mut silent = connect(addr);
            assert_eq!(read_all(&mut silent), "");
            let silent_after = started.elapsed();
            // Half a request line.
            let started = Instant::now();
            let mut half = connect(addr);
            half.write_all(b"GET / HT").unwrap();
            assert_eq!(read_all(&mut half), "");
            let half_after = started.elapsed();
            // Keep-alive after one answered request: the timer restarts for the next head.
            let mut kept = connect(addr);
            kept.write_all(b"GET / HTTP/1.1\r\nhost: x\r\n\r\n")
                .unwrap();
            let started = Instant::now();
            let out = read_all(&mut kept);
            assert!(out.starts_with("HTTP/1.1 200"), "{out}");
            (silent_after, half_after, started.elapsed())
        })
        .await;
        for w in [waited.0, waited.1, waited.2] {
            assert!(w >= Duration::from_millis(250), "{waited:?}");
            assert!(w < Duration::from_secs(5), "{waited:?}");
        }
    }

    #[tokio::test]
    async fn shutdown_closes_idle_connections_and_returns() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let server = tokio::spawn(async move {
            serve(
                listener,
                Router::new().route("/", get(|| async { "ok" })),
                &ServerLimits::default(),
                async {
                    let _ = rx.await;
                },
            )
            .await
        });
        let mut idle = blocking(move || connect(addr)).await;
        tokio::time::sleep(Duration::from_millis(200)).await;
        tx.send(()).unwrap();
        tokio::time::timeout(Duration::from_secs(10), server)
            .await
            .expect("serve did not return after shutdown")
            .unwrap()
            .unwrap();
        let rest = blocking(move || read_all(&mut idle)).await;
        assert_eq!(rest, "", "idle connection answered instead of closed");
        let refused = blocking(move || std::net::TcpStream::connect(addr).is_err()).await;
        assert!(refused, "still accepting after shutdown");
    }
}
