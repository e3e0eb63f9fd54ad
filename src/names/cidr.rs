//! Pod networks ([`Cidr`]): what `pod-cidr=` and `[cluster] pod_cidr` take.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use super::{Check, NameError, Rule, is_digits, refuse};

/// An IPv4 or IPv6 network such as `10.244.0.0/16`: prefix /8 to /28 (IPv4) or /48 to /120
/// (IPv6), host bits zero, held in canonical form.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Cidr(String);

super::text_newtype!(Cidr);

impl Cidr {
    /// Validates a network and stores it in canonical form (`fd00:0::/64` becomes
    /// `fd00::/64`).
    pub fn parse(text: &str) -> Result<Self, NameError> {
        refuse(Rule::Cidr, text, cidr(text)).map(Self)
    }
}

fn cidr(s: &str) -> Check<String> {
    let Some((addr, len)) = s.split_once('/') else {
        return Err(Some("add the prefix length, such as /16".into()));
    };
    let Ok(addr) = addr.parse::<IpAddr>() else {
        return Err(None);
    };
    if !is_digits(len) || len.len() > 3 {
        return Err(None);
    }
    let len = len.parse::<u32>().map_err(|_| None)?;
    let (family, bits, width, shortest, longest) = match addr {
        IpAddr::V4(v4) => ("IPv4", u128::from(v4.to_bits()), 32, 8, 28),
        IpAddr::V6(v6) => ("IPv6", v6.to_bits(), 128, 48, 120),
    };
    if !(shortest..=longest).contains(&len) {
        return Err(Some(format!(
            "an {family} prefix must be /{shortest} to /{longest}, not /{len}"
        )));
    }
    let net = bits & !((1u128 << (width - len)) - 1);
    if net != bits {
        let net = match addr {
            IpAddr::V4(_) => IpAddr::V4(Ipv4Addr::from_bits(net as u32)),
            IpAddr::V6(_) => IpAddr::V6(Ipv6Addr::from_bits(net)),
        };
        return Err(Some(format!(
            "host bits are set; the network is {net}/{len}"
        )));
    }
    Ok(format!("{addr}/{len}"))
}
