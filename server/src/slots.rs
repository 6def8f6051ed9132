//! Websocket connection slots per client address and per invitation, so
//! that one address or one token cannot hold every slot of
//! `--max-connections` (issue 12, item 9).
//!
//! A [`Slot`] is taken at the upgrade, after the token check, and given
//! back when the connection ends (on drop). The global limit stays where it
//! was (`app.rs`, the `essaim_connections` gauge); this module only counts
//! per address and per invitation. It does not decide which address a
//! request comes from: the caller passes it (the peer address, or the one a
//! trusted proxy gives).

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};

/// Why a slot was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub(crate) enum SlotRefusal {
    /// This address (an IPv6 /64) holds its share of connections already.
    #[error("too many connections from this address: close a tab or a device, then retry")]
    Address,
    /// One of the connection's invitations holds its share already.
    #[error("too many connections with this invitation: retry later, or ask for your own invitation")]
    Invitation,
}

/// The caps, from [`crate::Config`].
#[derive(Debug, Clone, Copy)]
pub(crate) struct SlotLimits {
    pub(crate) per_address: usize,
    pub(crate) per_invitation: usize,
}

/// Open connections per address and per invitation.
#[derive(Debug)]
pub(crate) struct Slots {
    limits: SlotLimits,
    counts: Mutex<Counts>,
}

#[derive(Debug, Default)]
struct Counts {
    per_address: HashMap<IpAddr, usize>,
    per_invitation: HashMap<String, usize>,
}

/// One connection's place in the counts, given back when dropped.
#[derive(Debug)]
pub(crate) struct Slot {
    slots: Arc<Slots>,
    address: IpAddr,
    invitations: Vec<String>,
}

impl Slots {
    pub(crate) fn new(limits: SlotLimits) -> Slots {
        Slots { limits, counts: Mutex::new(Counts::default()) }
    }

    /// Takes a slot for a connection from `address` holding `invitations`
    /// (each counted once, however often it was sent), or says which cap it
    /// would pass. Nothing is counted on a refusal.
    pub(crate) fn take(self: &Arc<Self>, address: IpAddr, invitations: &[String]) -> Result<Slot, SlotRefusal> {
        let address = address_key(address);
        let mut invitations = invitations.to_vec();
        invitations.sort_unstable();
        invitations.dedup();
        let mut counts = self.counts.lock().unwrap_or_else(|p| p.into_inner());
        if counts.per_address.get(&address).copied().unwrap_or(0) >= self.limits.per_address {
            return Err(SlotRefusal::Address);
        }
        let full = |id: &String| counts.per_invitation.get(id).copied().unwrap_or(0) >= self.limits.per_invitation;
        if invitations.iter().any(full) {
            return Err(SlotRefusal::Invitation);
        }
        *counts.per_address.entry(address).or_default() += 1;
        for id in &invitations {
            *counts.per_invitation.entry(id.clone()).or_default() += 1;
        }
        Ok(Slot { slots: self.clone(), address, invitations })
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut counts = self.slots.counts.lock().unwrap_or_else(|p| p.into_inner());
        release(&mut counts.per_address, &self.address);
        for id in &self.invitations {
            release(&mut counts.per_invitation, id);
        }
    }
}

/// Decrements a count, forgetting it at zero so the maps only hold keys
/// with open connections.
fn release<K: std::hash::Hash + Eq>(counts: &mut HashMap<K, usize>, key: &K) {
    if let Some(count) = counts.get_mut(key) {
        *count = count.saturating_sub(1);
        if *count == 0 {
            counts.remove(key);
        }
    }
}

/// What one "address" is for the cap: an IPv4 address (an IPv4-mapped
/// IPv6 address counts as its IPv4 one), or an IPv6 /64, since one host is
/// usually given a whole /64 and could otherwise take a new address for
/// every connection.
pub(crate) fn address_key(address: IpAddr) -> IpAddr {
    match address {
        IpAddr::V4(v4) => IpAddr::V4(v4),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let segments = v6.segments();
                let prefix = [segments[0], segments[1], segments[2], segments[3], 0, 0, 0, 0];
                IpAddr::V6(prefix.into())
            }
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn slots(per_address: usize, per_invitation: usize) -> Arc<Slots> {
        Arc::new(Slots::new(SlotLimits { per_address, per_invitation }))
    }

    #[test]
    fn an_address_and_an_invitation_get_their_share_and_no_more() {
        let slots = slots(2, 3);
        let a: IpAddr = "192.0.2.1".parse().expect("an address");
        let b: IpAddr = "192.0.2.2".parse().expect("an address");
        let token = vec!["inv1".to_owned()];
        let first = slots.take(a, &token).expect("accepted");
        let _second = slots.take(a, &token).expect("accepted");
        assert_eq!(slots.take(a, &[]).expect_err("refused"), SlotRefusal::Address);
        let _third = slots.take(b, &token).expect("accepted");
        assert_eq!(slots.take(b, &token).expect_err("refused"), SlotRefusal::Invitation);
        // Another invitation from the same address still gets in.
        let _other = slots.take(b, &["inv2".to_owned()]).expect("accepted");
        drop(first);
        let _again = slots.take(a, &token).expect("accepted");
    }

    #[test]
    fn an_ipv6_slash_64_is_one_address() {
        let slots = slots(1, 10);
        let _held = slots.take("2001:db8:1:2::1".parse().expect("an address"), &[]).expect("accepted");
        assert_eq!(
            slots.take("2001:db8:1:2::ffff".parse().expect("an address"), &[]).expect_err("refused"),
            SlotRefusal::Address
        );
        assert!(slots.take("2001:db8:1:3::1".parse().expect("an address"), &[]).is_ok());
        let _v4 = slots.take("203.0.113.9".parse().expect("an address"), &[]).expect("accepted");
        assert_eq!(
            slots.take("::ffff:203.0.113.9".parse().expect("an address"), &[]).expect_err("refused"),
            SlotRefusal::Address
        );
    }

    #[test]
    fn the_same_invitation_sent_twice_counts_once() {
        let slots = slots(10, 1);
        let twice = vec!["inv1".to_owned(), "inv1".to_owned()];
        let held = slots.take("192.0.2.1".parse().expect("an address"), &twice).expect("accepted");
        drop(held);
        assert!(slots.take("192.0.2.1".parse().expect("an address"), &twice).is_ok());
    }
}
