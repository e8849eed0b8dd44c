//! Address ranges of a `cidr` list, as sorted, merged intervals per IP version.
//!
//! A list of tens of thousands of addresses and networks becomes two sorted vectors of
//! disjoint `[first, last]` intervals, so that a look-up is one binary search, whatever the
//! size of the list.

use std::net::IpAddr;

use ipnet::IpNet;

/// Every address a `cidr` list covers.
#[derive(Clone, Debug, Default)]
pub(super) struct Ranges {
    v4: Vec<(u32, u32)>,
    v6: Vec<(u128, u128)>,
}

impl Ranges {
    /// The union of `nets`.
    pub(super) fn new(nets: &[IpNet]) -> Ranges {
        let mut v4 = Vec::new();
        let mut v6 = Vec::new();
        for net in nets {
            match net {
                IpNet::V4(n) => v4.push((u32::from(n.network()), u32::from(n.broadcast()))),
                IpNet::V6(n) => v6.push((u128::from(n.network()), u128::from(n.broadcast()))),
            }
        }
        Ranges { v4: merge(v4), v6: merge(v6) }
    }

    /// Whether every address of `net` is listed. A network that only holds listed
    /// addresses among others is not: as in MISP, the list does not remove it.
    pub(super) fn contains(&self, net: &IpNet) -> bool {
        match net {
            IpNet::V4(n) => covers(&self.v4, u32::from(n.network()), u32::from(n.broadcast())),
            IpNet::V6(n) => covers(&self.v6, u128::from(n.network()), u128::from(n.broadcast())),
        }
    }
}

/// Sorts intervals and joins those that overlap or touch.
fn merge<T: Copy + Ord + PlusOne>(mut ranges: Vec<(T, T)>) -> Vec<(T, T)> {
    ranges.sort_unstable();
    let mut merged: Vec<(T, T)> = Vec::with_capacity(ranges.len());
    for (first, last) in ranges {
        match merged.last_mut() {
            Some(previous) if first <= previous.1.plus_one() => {
                previous.1 = previous.1.max(last);
            }
            _ => merged.push((first, last)),
        }
    }
    merged.shrink_to_fit();
    merged
}

/// Whether `[first, last]` lies inside one of the sorted, disjoint, merged `ranges`.
fn covers<T: Copy + Ord>(ranges: &[(T, T)], first: T, last: T) -> bool {
    // The only candidate: the first range that does not end before `first`.
    let index = ranges.partition_point(|&(_, end)| end < first);
    ranges.get(index).is_some_and(|&(start, end)| start <= first && last <= end)
}

/// The next address, staying at the last one (so that a range ending there absorbs the rest).
trait PlusOne {
    fn plus_one(self) -> Self;
}

impl PlusOne for u32 {
    fn plus_one(self) -> u32 {
        self.saturating_add(1)
    }
}

impl PlusOne for u128 {
    fn plus_one(self) -> u128 {
        self.saturating_add(1)
    }
}

/// An address or network written as MISP writes them (`1.2.3.4`, `10.0.0.0/8`, `2001:db8::/32`),
/// with host bits cleared. `None` for anything else.
pub(super) fn parse_net(text: &str) -> Option<IpNet> {
    let text = text.trim();
    if text.contains('/') {
        text.parse::<IpNet>().ok().map(|net| net.trunc())
    } else {
        text.parse::<IpAddr>().ok().map(IpNet::from)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ranges(nets: &[&str]) -> Ranges {
        let nets: Vec<IpNet> = nets.iter().map(|n| parse_net(n).unwrap()).collect();
        Ranges::new(&nets)
    }

    fn net(text: &str) -> IpNet {
        parse_net(text).unwrap()
    }

    #[test]
    fn touching_and_nested_ranges_are_merged() {
        let r = ranges(&["10.0.0.0/9", "10.128.0.0/9", "10.1.0.0/16", "192.168.0.1"]);
        assert_eq!(r.v4, vec![(0x0a00_0000, 0x0aff_ffff), (0xc0a8_0001, 0xc0a8_0001)]);
    }

    #[test]
    fn an_address_inside_matches_and_one_outside_does_not() {
        let r = ranges(&["10.0.0.0/8", "8.8.8.8"]);
        assert!(r.contains(&net("10.255.255.255")));
        assert!(r.contains(&net("8.8.8.8")));
        assert!(!r.contains(&net("8.8.8.9")));
        assert!(!r.contains(&net("11.0.0.0")));
        assert!(!r.contains(&net("9.255.255.255")));
    }

    #[test]
    fn a_network_is_contained_only_when_all_its_addresses_are_listed() {
        let r = ranges(&["8.8.8.8", "10.0.0.0/9", "10.128.0.0/9"]);
        assert!(!r.contains(&net("8.8.8.0/24")));
        assert!(r.contains(&net("10.64.0.0/10")));
        // Two listed halves hold the whole /8, although neither entry does alone.
        assert!(r.contains(&net("10.0.0.0/8")));
        assert!(!r.contains(&net("10.0.0.0/7")));
    }

    #[test]
    fn the_last_addresses_of_each_version_merge_without_overflow() {
        let r = ranges(&["255.255.255.255", "255.255.255.254", "ffff::/16", "fffe::/16"]);
        assert_eq!(r.v4, vec![(u32::MAX - 1, u32::MAX)]);
        assert_eq!(r.v6.len(), 1);
        assert!(r.contains(&net("ffff:ffff::1")));
    }

    #[test]
    fn host_bits_of_a_written_network_are_cleared() {
        assert_eq!(net("10.0.0.1/8").to_string(), "10.0.0.0/8");
        assert!(parse_net("example.com").is_none());
        assert!(parse_net("10.0.0.0/33").is_none());
    }
}
