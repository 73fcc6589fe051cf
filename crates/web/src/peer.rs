//! The address a request came from, as the throttles key on it: the TCP peer that `serve`
//! records (axum's `ConnectInfo`). A library user that serves the router without it gets
//! `None`, which the throttles treat as one shared address.

use std::net::{IpAddr, SocketAddr};

use axum::extract::ConnectInfo;
use axum::http::request::Parts;

/// The peer address of the request, when the server recorded it.
pub fn peer_addr(parts: &Parts) -> Option<IpAddr> {
    parts
        .extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(addr)| addr.ip())
}

/// Extractor for [`peer_addr`]: never rejects.
#[derive(Debug, Clone, Copy)]
pub struct Peer(pub Option<IpAddr>);

impl<S: Send + Sync> axum::extract::FromRequestParts<S> for Peer {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        Ok(Peer(peer_addr(parts)))
    }
}

/// Middleware: the request's password and secret checks wait in its address's own queue of
/// the slow hash gate, so a flood from one address cannot starve sign-ins from others.
pub async fn fair_slow_hashes(
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    let addr = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(addr)| addr.ip());
    CALLER.scope(caller_id(addr), next.run(request)).await
}

tokio::task_local! {
    /// The client address's digest, for the slow hash gate's fair queues.
    static CALLER: u64;
}

pub(crate) fn current_caller() -> u64 {
    CALLER.try_with(|c| *c).unwrap_or(0)
}

fn caller_id(addr: Option<IpAddr>) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    oauth_toolkit_core::throttle::address_part(addr).hash(&mut h);
    h.finish()
}
