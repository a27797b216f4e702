//! Who the client is: the socket peer, or the address a trusted proxy in
//! front of Gatehouse reports in `X-Forwarded-For`.

use std::net::IpAddr;

/// One CIDR block (`10.0.0.0/8`, `fd00::/8`, or a bare address).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Block {
    net: IpAddr,
    prefix: u8,
}

impl Block {
    fn parse(text: &str) -> Option<Block> {
        let (addr, prefix) = match text.split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (text, None),
        };
        let net: IpAddr = addr.trim().parse().ok()?;
        let max = if net.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            Some(p) => p.trim().parse::<u8>().ok().filter(|p| *p <= max)?,
            None => max,
        };
        Some(Block { net, prefix })
    }

    fn contains(&self, ip: IpAddr) -> bool {
        let ip = canonical(ip);
        match (self.net, ip) {
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

/// An IPv4-mapped IPv6 address (a dual-stack socket's view of an IPv4
/// peer) as the IPv4 address it is.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

/// The proxies whose `X-Forwarded-For` is believed.
#[derive(Debug, Clone, Default)]
pub struct ProxyList(Vec<Block>);

impl ProxyList {
    pub fn parse(items: &[String]) -> Result<ProxyList, String> {
        items
            .iter()
            .map(|item| {
                Block::parse(item).ok_or_else(|| {
                    format!("trusted_proxies: {item:?} is not an IP address or CIDR block")
                })
            })
            .collect::<Result<Vec<_>, _>>()
            .map(ProxyList)
    }

    fn trusts(&self, ip: IpAddr) -> bool {
        self.0.iter().any(|b| b.contains(ip))
    }

    /// Whether the peer is one of our proxies, whose headers are believed.
    pub fn trusts_peer(&self, peer: Option<IpAddr>) -> bool {
        peer.map(canonical).is_some_and(|ip| self.trusts(ip))
    }

    /// The client's address: the peer, unless the peer is a trusted proxy;
    /// then the right-most `X-Forwarded-For` entry that is not a trusted
    /// proxy (entries to its left are whatever the client claimed).
    pub fn client(&self, peer: Option<IpAddr>, headers: &http::HeaderMap) -> String {
        let Some(peer) = peer.map(canonical) else {
            return "unknown".to_owned();
        };
        if !self.trusts(peer) {
            return peer.to_string();
        }
        let hops: Vec<&str> = headers
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .collect();
        for hop in hops.iter().rev() {
            let Ok(ip) = hop.parse::<IpAddr>().map(canonical) else {
                // Garbage from the client side of the chain: stop at the
                // last address a trusted proxy vouched for.
                break;
            };
            if !self.trusts(ip) {
                return ip.to_string();
            }
        }
        // Every hop is a proxy of ours (or none was named): the left-most
        // trusted one we reached is the best we know.
        hops.iter()
            .rev()
            .map_while(|h| h.parse::<IpAddr>().ok().map(canonical))
            .last()
            .unwrap_or(peer)
            .to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(xff: &[&str]) -> http::HeaderMap {
        let mut h = http::HeaderMap::new();
        for v in xff {
            h.append("x-forwarded-for", v.parse().unwrap());
        }
        h
    }

    fn list(items: &[&str]) -> ProxyList {
        ProxyList::parse(&items.iter().map(|s| s.to_string()).collect::<Vec<_>>()).unwrap()
    }

    #[test]
    fn blocks_parse_and_match() {
        let l = list(&["10.0.0.0/8", "192.0.2.7", "fd00::/8"]);
        assert!(l.trusts("10.1.2.3".parse().unwrap()));
        assert!(l.trusts("192.0.2.7".parse().unwrap()));
        assert!(!l.trusts("192.0.2.8".parse().unwrap()));
        assert!(l.trusts("fd12::1".parse().unwrap()));
        assert!(l.trusts("::ffff:10.9.9.9".parse().unwrap()));
        assert!(list(&["0.0.0.0/0"]).trusts("203.0.113.1".parse().unwrap()));
        for bad in ["10.0.0.0/33", "nope", "10.0.0.0/x", "::/129", ""] {
            assert!(ProxyList::parse(&[bad.to_string()]).is_err(), "{bad}");
        }
    }

    #[test]
    fn forwarded_for_is_read_only_from_trusted_peers() {
        let l = list(&["127.0.0.1"]);
        let h = headers(&["198.51.100.9"]);
        // From a stranger: the header is ignored.
        assert_eq!(
            l.client(Some("203.0.113.5".parse().unwrap()), &h),
            "203.0.113.5"
        );
        // From the proxy: the address it reports.
        assert_eq!(
            l.client(Some("127.0.0.1".parse().unwrap()), &h),
            "198.51.100.9"
        );
        // No proxies configured: never read.
        assert_eq!(
            ProxyList::default().client(Some("127.0.0.1".parse().unwrap()), &h),
            "127.0.0.1"
        );
    }

    #[test]
    fn the_right_most_untrusted_hop_is_the_client() {
        let l = list(&["127.0.0.1", "10.0.0.0/8"]);
        let peer = Some("127.0.0.1".parse().unwrap());
        // A client forging an entry on the left cannot choose its address.
        let h = headers(&["1.2.3.4, 198.51.100.9, 10.0.0.2"]);
        assert_eq!(l.client(peer, &h), "198.51.100.9");
        let h = headers(&["1.2.3.4", "198.51.100.9"]);
        assert_eq!(l.client(peer, &h), "198.51.100.9");
        // Garbage right of the proxies: the last vouched-for address.
        let h = headers(&["<script>, 10.0.0.2"]);
        assert_eq!(l.client(peer, &h), "10.0.0.2");
        assert_eq!(l.client(peer, &headers(&[])), "127.0.0.1");
        assert_eq!(l.client(None, &headers(&[])), "unknown");
    }
}
