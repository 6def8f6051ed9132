//! The door of `/sync`: the invitation tokens in the query string
//! (`?token=a` or, for a device in several territories, `?token=a,b`) are
//! checked before the websocket upgrade (browsers cannot set headers on a
//! websocket), and failed attempts are counted per client address.
//!
//! Without `--open`, no valid token means HTTP 401; a wrong, revoked or
//! expired token is 401 in every mode. An address with too many failures
//! in a window gets 429 until the window ends, whatever it sends. What a
//! valid token opens is decided later, per document, by the hub.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::invitations::{Grant, Invitations, TokenError};
use crate::store::StoreError;

/// Most tokens one request may carry.
pub(crate) const MAX_TOKENS: usize = 32;
/// Failed attempts allowed per address and window.
pub(crate) const MAX_FAILURES: u32 = 10;
/// The window.
pub(crate) const FAILURE_WINDOW: Duration = Duration::from_secs(60);

/// What the door answers.
#[derive(Debug)]
pub(crate) enum Verdict {
    /// Upgrade, bound to these grants (`None`: open mode, no token).
    Enter(Option<Vec<Grant>>),
    /// 401.
    Unauthorized(&'static str),
    /// 429.
    TooManyAttempts,
    /// 503: the invitations table could not be read.
    Unavailable(StoreError),
}

pub(crate) struct Gate {
    open: bool,
    invitations: Arc<Mutex<Invitations>>,
    failures: Mutex<HashMap<IpAddr, (Instant, u32)>>,
}

impl Gate {
    pub(crate) fn new(open: bool, invitations: Arc<Mutex<Invitations>>) -> Gate {
        Gate { open, invitations, failures: Mutex::new(HashMap::new()) }
    }

    /// Decides on one upgrade request. Blocking (SQLite): call it from
    /// `spawn_blocking`.
    pub(crate) fn admit(&self, from: IpAddr, token: Option<&str>, now_ms: i64) -> Verdict {
        if self.blocked(from) {
            return Verdict::TooManyAttempts;
        }
        let tokens: Vec<&str> = token.unwrap_or_default().split(',').filter(|t| !t.is_empty()).collect();
        if tokens.is_empty() {
            return if self.open {
                Verdict::Enter(None)
            } else {
                self.failed(from);
                Verdict::Unauthorized("an invitation token is required: ?token=…")
            };
        }
        if tokens.len() > MAX_TOKENS {
            self.failed(from);
            return Verdict::Unauthorized("too many invitation tokens");
        }
        let invitations = self.invitations.lock().unwrap_or_else(|p| p.into_inner());
        let mut grants = Vec::with_capacity(tokens.len());
        for token in tokens {
            match invitations.check(token, now_ms) {
                Ok(Ok(grant)) => grants.push(grant),
                Ok(Err(error)) => {
                    // The token itself is never logged.
                    tracing::info!(%from, %error, "refused an invitation token");
                    drop(invitations);
                    self.failed(from);
                    return Verdict::Unauthorized(match error {
                        TokenError::Unknown => "unknown invitation",
                        TokenError::Revoked => "this invitation was revoked",
                        TokenError::Expired => "this invitation has expired",
                    });
                }
                Err(error) => return Verdict::Unavailable(error),
            }
        }
        Verdict::Enter(Some(grants))
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
