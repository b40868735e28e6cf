//! The client's address, as the authentication-failure limiter keys it: the TCP peer, or —
//! only when the peer is one of the configured `trusted_proxies` — the address the proxies
//! report (`Forwarded`, else `X-Forwarded-For`), read from the right, skipping trusted hops.
//! IPv6 addresses are keyed by their /64, so that one client cannot escape its budget by
//! rotating through the addresses of its own network.

use std::net::{IpAddr, Ipv6Addr};

use actix_web::HttpRequest;

/// A network: an address and a prefix length.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Net {
    addr: IpAddr,
    prefix: u8,
}

impl Net {
    fn contains(self, ip: IpAddr) -> bool {
        match (self.addr, canonical(ip)) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                let mask = u32::MAX
                    .checked_shl(32 - u32::from(self.prefix))
                    .unwrap_or(0);
                u32::from(net) & mask == u32::from(ip) & mask
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                let mask = u128::MAX
                    .checked_shl(128 - u32::from(self.prefix))
                    .unwrap_or(0);
                u128::from(net) & mask == u128::from(ip) & mask
            }
            _ => false,
        }
    }
}

/// The proxies whose forwarding headers are believed.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TrustedProxies(Vec<Net>);

/// A `trusted_proxies` entry that is neither an address nor a network.
#[derive(Debug, thiserror::Error)]
#[error(
    "trusted_proxies: {0:?} is not an IP address or network (e.g. 10.0.0.5, 10.0.0.0/8, fd00::/8)"
)]
pub struct BadProxy(pub String);

impl TrustedProxies {
    /// Parses addresses (`10.0.0.5`, `::1`) and networks (`10.0.0.0/8`, `fd00::/8`).
    pub fn parse<S: AsRef<str>>(entries: &[S]) -> Result<Self, BadProxy> {
        entries
            .iter()
            .map(|entry| {
                let text = entry.as_ref().trim();
                let bad = || BadProxy(text.to_owned());
                let (addr, prefix) = match text.split_once('/') {
                    Some((addr, prefix)) => (addr, Some(prefix)),
                    None => (text, None),
                };
                let addr = canonical(addr.parse::<IpAddr>().map_err(|_| bad())?);
                let max = if addr.is_ipv4() { 32 } else { 128 };
                let prefix = match prefix {
                    Some(p) => p.parse::<u8>().ok().filter(|p| *p <= max).ok_or_else(bad)?,
                    None => max,
                };
                Ok(Net { addr, prefix })
            })
            .collect::<Result<_, _>>()
            .map(Self)
    }

    fn trusts(&self, ip: IpAddr) -> bool {
        self.0.iter().any(|net| net.contains(ip))
    }

    /// The client's address: the peer, unless the peer is trusted and forwarded the request.
    pub fn client(&self, req: &HttpRequest) -> Option<IpAddr> {
        let peer = canonical(req.peer_addr()?.ip());
        if !self.trusts(peer) {
            return Some(peer);
        }
        let hops = forwarded_for(req);
        // From the nearest hop back: the first address no trusted proxy stands for.
        Some(
            hops.iter()
                .rev()
                .copied()
                .find(|hop| !self.trusts(*hop))
                .or_else(|| hops.first().copied())
                .unwrap_or(peer),
        )
    }
}

/// The addresses a request passed through, oldest first: `Forwarded: for=…` if present, else
/// `X-Forwarded-For`. Entries that are not addresses (`unknown`, obfuscated ids) are dropped.
fn forwarded_for(req: &HttpRequest) -> Vec<IpAddr> {
    let values = |name: &str| -> Vec<String> {
        req.headers()
            .get_all(name)
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .map(|v| v.trim().to_owned())
            .collect()
    };
    let forwarded: Vec<IpAddr> = values("forwarded")
        .iter()
        .filter_map(|element| {
            element.split(';').find_map(|pair| {
                let (name, value) = pair.trim().split_once('=')?;
                name.trim()
                    .eq_ignore_ascii_case("for")
                    .then(|| parse_node(value.trim()))?
            })
        })
        .collect();
    if !forwarded.is_empty() {
        return forwarded;
    }
    values("x-forwarded-for")
        .iter()
        .filter_map(|v| parse_node(v))
        .collect()
}

/// An address as proxies write it: `1.2.3.4`, `1.2.3.4:80`, `"[2001:db8::1]:4711"`, `::1`.
fn parse_node(text: &str) -> Option<IpAddr> {
    let text = text.trim_matches('"');
    if let Ok(ip) = text.parse::<IpAddr>() {
        return Some(canonical(ip));
    }
    if let Some(rest) = text.strip_prefix('[') {
        return rest.split_once(']')?.0.parse().ok().map(canonical);
    }
    text.rsplit_once(':')?.0.parse().ok().map(canonical)
}

/// IPv4-mapped IPv6 addresses as IPv4.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 @ IpAddr::V4(_) => v4,
    }
}

/// The key of an address in the failure limiter: an IPv4 address, or an IPv6 /64.
pub fn limiter_key(ip: IpAddr) -> IpAddr {
    match canonical(ip) {
        IpAddr::V6(v6) => IpAddr::V6(Ipv6Addr::from(u128::from(v6) & (u128::MAX << 64))),
        v4 @ IpAddr::V4(_) => v4,
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use actix_web::test::TestRequest;

    use super::*;

    fn request(peer: &str, headers: &[(&str, &str)]) -> HttpRequest {
        let mut r = TestRequest::default().peer_addr(peer.parse().unwrap());
        for (name, value) in headers {
            r = r.insert_header((*name, *value));
        }
        r.to_http_request()
    }

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    #[test]
    fn an_untrusted_peer_is_the_client_whatever_it_forwards() {
        let proxies = TrustedProxies::parse(&["10.0.0.0/8"]).unwrap();
        let req = request("203.0.113.7:5000", &[("x-forwarded-for", "198.51.100.1")]);
        assert_eq!(proxies.client(&req), Some(ip("203.0.113.7")));
        let none = TrustedProxies::default();
        let req = request("10.0.0.1:5000", &[("x-forwarded-for", "198.51.100.1")]);
        assert_eq!(none.client(&req), Some(ip("10.0.0.1")));
    }

    #[test]
    fn a_trusted_proxy_stands_for_the_first_untrusted_hop_from_the_right() {
        let proxies = TrustedProxies::parse(&["10.0.0.0/8", "fd00::/8"]).unwrap();
        let req = request(
            "10.0.0.1:5000",
            &[("x-forwarded-for", "192.0.2.9, 198.51.100.1, 10.0.0.2")],
        );
        assert_eq!(
            proxies.client(&req),
            Some(ip("198.51.100.1")),
            "a client cannot spoof the left of the list"
        );
        let req = request(
            "10.0.0.1:5000",
            &[(
                "forwarded",
                "for=192.0.2.60;proto=http, for=\"[2001:db8:cafe::17]:4711\"",
            )],
        );
        assert_eq!(proxies.client(&req), Some(ip("2001:db8:cafe::17")));
        let req = request("10.0.0.1:5000", &[]);
        assert_eq!(proxies.client(&req), Some(ip("10.0.0.1")));
    }

    #[test]
    fn ipv6_is_keyed_by_its_64_and_mapped_ipv4_as_ipv4() {
        assert_eq!(
            limiter_key(ip("2001:db8:1:2:aaaa::1")),
            ip("2001:db8:1:2::")
        );
        assert_eq!(
            limiter_key(ip("2001:db8:1:2:ffff::9")),
            ip("2001:db8:1:2::")
        );
        assert_ne!(limiter_key(ip("2001:db8:1:3::1")), ip("2001:db8:1:2::"));
        assert_eq!(limiter_key(ip("::ffff:192.0.2.1")), ip("192.0.2.1"));
        assert_eq!(limiter_key(ip("192.0.2.1")), ip("192.0.2.1"));
    }

    #[test]
    fn entries_are_addresses_or_networks() {
        assert!(TrustedProxies::parse(&["127.0.0.1", "::1", "10.0.0.0/8", "fd00::/8"]).is_ok());
        for bad in ["10.0.0.0/33", "localhost", "10.0.0.0/x", "::/129"] {
            assert!(TrustedProxies::parse(&[bad]).is_err(), "{bad}");
        }
    }
}
