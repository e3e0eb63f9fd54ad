//! Host addresses ([`host`], [`Special`]): the one rule for which addresses may be a VM's,
//! used by the grammar (every address a user types), the config (`[ssh] allowed_networks`)
//! and the enqueue check.
//!
//! An IPv4-mapped IPv6 address (`::ffff:10.0.0.1`) is normalised to the IPv4 address: Linux
//! connects it to the same host, so it must have the same pin, node record and network check.

use std::net::IpAddr;

use ipnet::IpNet;

/// The one form of a host address: an IPv4-mapped IPv6 address becomes the IPv4 address
/// (`::ffff:10.0.0.1` is `10.0.0.1`), every other address is unchanged.
pub fn host(addr: IpAddr) -> IpAddr {
    addr.to_canonical()
}

/// An address that is not an ordinary unicast host on a lab network.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Special {
    /// `0.0.0.0`, `::` (Linux connects it to the bot's own machine).
    Unspecified,
    /// `224.0.0.0/4`, `ff00::/8`.
    Multicast,
    /// `255.255.255.255`.
    Broadcast,
    /// `127.0.0.0/8`, `::1`: the bot's own machine.
    Loopback,
    /// `169.254.0.0/16`, `fe80::/10`: cloud metadata services and unrouted links.
    LinkLocal,
}

impl Special {
    /// The kind of `addr` (normalised first), or `None` for an ordinary unicast address.
    pub fn of(addr: IpAddr) -> Option<Special> {
        let addr = host(addr);
        if addr.is_unspecified() {
            return Some(Special::Unspecified);
        }
        if addr.is_multicast() {
            return Some(Special::Multicast);
        }
        if addr.is_loopback() {
            return Some(Special::Loopback);
        }
        match addr {
            IpAddr::V4(v4) if v4.is_broadcast() => Some(Special::Broadcast),
            IpAddr::V4(v4) if v4.is_link_local() => Some(Special::LinkLocal),
            IpAddr::V6(v6) if v6.is_unicast_link_local() => Some(Special::LinkLocal),
            _ => None,
        }
    }

    /// `true` for the kinds that are never a host at all (refused by the grammar whatever the
    /// config says); loopback and link-local are hosts the config may name explicitly.
    pub fn never_a_host(self) -> bool {
        matches!(
            self,
            Special::Unspecified | Special::Multicast | Special::Broadcast
        )
    }

    /// What the address is, as replies say it: "127.0.0.1 is {noun}".
    pub fn noun(self) -> &'static str {
        match self {
            Special::Unspecified => "the unspecified address",
            Special::Multicast => "a multicast address",
            Special::Broadcast => "the broadcast address",
            Special::Loopback => "a loopback address",
            Special::LinkLocal => "a link-local address",
        }
    }

    /// The network an operator would list in `allowed_networks` to name addresses of this kind
    /// in the family of `addr`.
    pub fn network(self, addr: IpAddr) -> &'static str {
        match (self, host(addr).is_ipv4()) {
            (Special::Loopback, true) => "127.0.0.0/8",
            (Special::Loopback, false) => "::1/128",
            (Special::LinkLocal, true) => "169.254.0.0/16",
            (Special::LinkLocal, false) => "fe80::/10",
            (Special::Unspecified | Special::Multicast | Special::Broadcast, _) => "none",
        }
    }

    /// `true` if `net` names this kind explicitly: all of it is of this kind (so
    /// `127.0.0.0/8` names loopback, `0.0.0.0/0` does not).
    pub fn named_by(self, net: &IpNet) -> bool {
        Special::of(net.network()) == Some(self) && Special::of(net.broadcast()) == Some(self)
    }
}
