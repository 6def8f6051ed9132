//! The door of `/sync`: the invitation tokens in the query string
//! (`?token=a` or, for a device in several territories, `?token=a,b`) are
//! checked before the websocket upgrade (browsers cannot set headers on a
//! websocket), and failed attempts are counted per client address.
//!
//! Without `--open`, no valid token means HTTP 401; a wrong, revoked or
//! expired token is 401 in every mode.
//!
//! Demonstration territories (`essaim demo`) are readable by anyone: every
//! request that enters also holds a resident's grant on each of them
//! ([`Grant::demonstration`]), and a request without a token on a relay
//! that is not `--open` enters with only those, when there are any. Their
//! list is read from the territories table at most every
//! [`DEMONSTRATIONS_FRESH`]. An address with too many failures
//! in a window gets 429 until the window ends, whatever it sends.
//!
//! What the [`Pass`] a request entered with opens is decided per document
//! by [`access`], the one rule that the hub (per connection and document),
//! the chunk routes and the feeds all apply.
//!
//! The address is the client's ([`client_address`]): the peer's, or,
//! from a configured trusted reverse proxy, the last hop of its
//! `X-Forwarded-For`, so that one bad client behind the proxy does not
//! lock everyone else out.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::http::HeaderMap;

use sync_core::{Access, DocumentId};

use crate::invitations::{Grant, Invitations, Role, TokenError};
use crate::store::StoreError;

/// Most tokens one request may carry.
pub(crate) const MAX_TOKENS: usize = 32;
/// Failed attempts allowed per address and window.
pub(crate) const MAX_FAILURES: u32 = 10;
/// The window.
pub(crate) const FAILURE_WINDOW: Duration = Duration::from_secs(60);
/// How long the list of demonstration territories is kept before it is
/// read again (only `essaim demo` changes it).
pub(crate) const DEMONSTRATIONS_FRESH: Duration = Duration::from_secs(2);

/// What a request entered with: the grants of its tokens, and whether the
/// relay is `--open`. Both are kept: the grants for the per-invitation
/// limits and for closing the connection when one is revoked, the open mode
/// for [`access`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Pass {
    /// The relay is `--open`: every document is read-write, tokens or not.
    pub(crate) open: bool,
    /// What the request's tokens grant (none without a token).
    pub(crate) grants: Vec<Grant>,
}

impl Pass {
    /// What `grants` alone open, whatever the relay's mode (the feeds: open
    /// mode opens no private feed; a request without a token on a closed
    /// relay: the demonstration territories).
    pub(crate) fn granted(grants: Vec<Grant>) -> Pass {
        Pass { open: false, grants }
    }
}

/// What the door answers.
#[derive(Debug)]
pub(crate) enum Verdict {
    /// Upgrade, with this pass.
    Enter(Pass),
    /// 401.
    Unauthorized(Refusal),
    /// 429.
    TooManyAttempts,
    /// 503: the invitations table could not be read.
    Unavailable(StoreError),
}

/// Why the door refuses a request's tokens (401). The text is the
/// response's body; [`Refusal::code`], its `Essaim-Refusal` header.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub(crate) enum Refusal {
    /// No token, and the relay is not `--open`.
    #[error("an invitation token is required: ?token=…")]
    Required,
    /// More than [`MAX_TOKENS`].
    #[error("too many invitation tokens")]
    TooMany,
    /// [`TokenError::Unknown`].
    #[error("unknown invitation")]
    Unknown,
    /// [`TokenError::Revoked`].
    #[error("this invitation was revoked")]
    Revoked,
    /// [`TokenError::Expired`].
    #[error("this invitation has expired")]
    Expired,
}

impl Refusal {
    /// The value of the `Essaim-Refusal` header, for programs (the app
    /// tells its user which invitation no longer holds, and why).
    pub(crate) fn code(self) -> &'static str {
        match self {
            Refusal::Required => "required",
            Refusal::TooMany => "too-many",
            Refusal::Unknown => "unknown",
            Refusal::Revoked => "revoked",
            Refusal::Expired => "expired",
        }
    }
}

impl From<TokenError> for Refusal {
    fn from(error: TokenError) -> Refusal {
        match error {
            TokenError::Unknown => Refusal::Unknown,
            TokenError::Revoked => Refusal::Revoked,
            TokenError::Expired => Refusal::Expired,
        }
    }
}

/// What `pass` opens of `doc`: the one access rule of the relay.
/// On an `--open` relay, every document, read-write, whatever tokens the
/// request also carries (a device holding an invitation keeps syncing the
/// territories it created itself: issue 14, problem 2). Otherwise the
/// strongest of the grants for that territory (organiser: read-write,
/// resident: read-only), and any other document `Denied`, which every
/// caller answers exactly like a document that does not exist. The feeds
/// pass [`Pass::granted`] (a private territory's feed needs its token)
/// and also serve a public territory to anyone.
pub(crate) fn access(pass: &Pass, doc: &DocumentId) -> Access {
    if pass.open {
        return Access::ReadWrite;
    }
    let roles = pass.grants.iter().filter(|g| g.territory == *doc).map(|g| g.role);
    roles.fold(Access::Denied, |best, role| match (best, role) {
        (_, Role::Organisateur) | (Access::ReadWrite, _) => Access::ReadWrite,
        _ => Access::ReadOnly,
    })
}

/// The client a request comes from: `peer`'s address, except when `peer`
/// is one of `trusted_proxies`; then the last (rightmost) address of
/// `X-Forwarded-For`, the one that proxy appended, if it parses. Earlier
/// entries are the client's own claims and are never believed. Rate limits
/// and per-address caps count by this address.
pub(crate) fn client_address(peer: SocketAddr, headers: &HeaderMap, trusted_proxies: &[IpAddr]) -> IpAddr {
    let peer = peer.ip().to_canonical();
    if !trusted_proxies.contains(&peer) {
        return peer;
    }
    let last_hop = headers
        .get_all("x-forwarded-for")
        .iter()
        .next_back()
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.rsplit(',').next())
        .and_then(|hop| hop.trim().parse::<IpAddr>().ok());
    last_hop.map(|ip| ip.to_canonical()).unwrap_or(peer)
}

pub(crate) struct Gate {
    open: bool,
    invitations: Arc<Mutex<Invitations>>,
    failures: Mutex<HashMap<IpAddr, (Instant, u32)>>,
    trusted_proxies: Vec<IpAddr>,
    /// The demonstration territories, and when they were read.
    demonstrations: Mutex<Option<(Instant, Vec<DocumentId>)>>,
}

impl Gate {
    pub(crate) fn new(open: bool, invitations: Arc<Mutex<Invitations>>, trusted_proxies: Vec<IpAddr>) -> Gate {
        Gate {
            open,
            invitations,
            failures: Mutex::new(HashMap::new()),
            trusted_proxies,
            demonstrations: Mutex::new(None),
        }
    }

    /// [`client_address`] with the relay's trusted proxies.
    pub(crate) fn client_address(&self, peer: SocketAddr, headers: &HeaderMap) -> IpAddr {
        client_address(peer, headers, &self.trusted_proxies)
    }

    /// Decides on one upgrade request. Blocking (SQLite): call it from
    /// `spawn_blocking`.
    pub(crate) fn admit(&self, from: IpAddr, token: Option<&str>, now_ms: i64) -> Verdict {
        if self.blocked(from) {
            return Verdict::TooManyAttempts;
        }
        let tokens: Vec<&str> = token.unwrap_or_default().split(',').filter(|t| !t.is_empty()).collect();
        if tokens.is_empty() && self.open {
            return Verdict::Enter(Pass { open: true, grants: Vec::new() });
        }
        let mut grants = match self.demonstration_grants() {
            Ok(grants) => grants,
            Err(error) => return Verdict::Unavailable(error),
        };
        if tokens.is_empty() {
            return if grants.is_empty() {
                self.failed(from);
                Verdict::Unauthorized(Refusal::Required)
            } else {
                Verdict::Enter(Pass::granted(grants))
            };
        }
        if tokens.len() > MAX_TOKENS {
            self.failed(from);
            return Verdict::Unauthorized(Refusal::TooMany);
        }
        let invitations = self.invitations.lock().unwrap_or_else(|p| p.into_inner());
        for token in tokens {
            match invitations.check(token, now_ms) {
                Ok(Ok(grant)) => grants.push(grant),
                Ok(Err(error)) => {
                    // The token itself is never logged.
                    tracing::info!(%from, %error, "refused an invitation token");
                    drop(invitations);
                    self.failed(from);
                    return Verdict::Unauthorized(error.into());
                }
                Err(error) => return Verdict::Unavailable(error),
            }
        }
        Verdict::Enter(Pass { open: self.open, grants })
    }

    /// A resident's grant on each demonstration territory, from the list
    /// read at most [`DEMONSTRATIONS_FRESH`] ago.
    fn demonstration_grants(&self) -> Result<Vec<Grant>, StoreError> {
        let mut cached = self.demonstrations.lock().unwrap_or_else(|p| p.into_inner());
        let fresh = cached.as_ref().filter(|(read, _)| read.elapsed() < DEMONSTRATIONS_FRESH);
        let docs = match fresh {
            Some((_, docs)) => docs.clone(),
            None => {
                let docs = self.invitations.lock().unwrap_or_else(|p| p.into_inner()).demonstrations()?;
                *cached = Some((Instant::now(), docs.clone()));
                docs
            }
        };
        Ok(docs.into_iter().map(Grant::demonstration).collect())
    }

    fn blocked(&self, from: IpAddr) -> bool {
        let failures = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        failures.get(&from).is_some_and(|(since, count)| since.elapsed() < FAILURE_WINDOW && *count >= MAX_FAILURES)
    }

    fn failed(&self, from: IpAddr) {
        let mut failures = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        // Forget old windows, so the map stays as small as the attackers.
        failures.retain(|_, (since, _)| since.elapsed() < FAILURE_WINDOW);
        let entry = failures.entry(from).or_insert((Instant::now(), 0));
        entry.1 += 1;
    }
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;

    use super::*;

    fn doc(n: u8) -> DocumentId {
        DocumentId::from_bytes(&[n; 16]).expect("valid id")
    }

    fn grant(territory: u8, role: Role) -> Grant {
        Grant { invitation: format!("{territory:016x}"), territory: doc(territory), role }
    }

    // See: issue 14, problem 2.
    #[test]
    fn r14_2_tokens_never_close_what_open_mode_opens() {
        let resident_of_1 = vec![grant(1, Role::Habitant)];
        let open = Pass { open: true, grants: resident_of_1.clone() };
        for n in [1, 2] {
            assert_eq!(access(&open, &doc(n)), Access::ReadWrite, "open relay, document {n}");
        }
        assert_eq!(access(&Pass { open: true, grants: Vec::new() }, &doc(2)), Access::ReadWrite);
        // Without open mode, only what the tokens grant.
        let closed = Pass::granted(resident_of_1);
        assert_eq!(access(&closed, &doc(1)), Access::ReadOnly);
        assert_eq!(access(&closed, &doc(2)), Access::Denied);
        let both = Pass::granted(vec![grant(1, Role::Habitant), grant(1, Role::Organisateur)]);
        assert_eq!(access(&both, &doc(1)), Access::ReadWrite);
        assert_eq!(access(&Pass::default(), &doc(1)), Access::Denied);
    }

    fn headers(forwarded: &[&str]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for value in forwarded {
            headers.append("x-forwarded-for", HeaderValue::from_str(value).expect("header"));
        }
        headers
    }

    // See: issue #12, item 16.
    #[test]
    fn r12_16_forwarded_for_is_believed_only_from_a_trusted_proxy() {
        let proxy: IpAddr = "10.0.0.2".parse().expect("ip");
        let from_proxy = SocketAddr::new(proxy, 40_000);
        let stranger = SocketAddr::new("203.0.113.9".parse().expect("ip"), 40_000);
        let trusted = [proxy];
        let forged = headers(&["1.1.1.1, 198.51.100.7"]);
        assert_eq!(client_address(stranger, &forged, &trusted), stranger.ip());
        assert_eq!(client_address(from_proxy, &forged, &trusted), "198.51.100.7".parse::<IpAddr>().expect("ip"));
        assert_eq!(client_address(from_proxy, &forged, &[]), proxy);
        // The last header line is the proxy's own.
        let lines = headers(&["1.1.1.1", "2001:db8::1"]);
        assert_eq!(client_address(from_proxy, &lines, &trusted), "2001:db8::1".parse::<IpAddr>().expect("ip"));
        // Nothing usable: the proxy's address.
        for bad in [headers(&[]), headers(&["unknown"]), headers(&["1.1.1.1, "])] {
            assert_eq!(client_address(from_proxy, &bad, &trusted), proxy);
        }
        // An IPv4-mapped IPv6 peer is the IPv4 address.
        let mapped = SocketAddr::new("::ffff:10.0.0.2".parse().expect("ip"), 1);
        assert_eq!(client_address(mapped, &forged, &trusted), "198.51.100.7".parse::<IpAddr>().expect("ip"));
    }
}
