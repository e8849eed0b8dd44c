//! Sets of IP addresses as sorted, disjoint intervals, per IP version.
//!
//! Warning lists ask whether a set holds an address or network (one binary search); the
//! aggregated blocklists collapse adjacent and overlapping networks, take allow-listed ranges
//! out, and write the least CIDR networks that cover exactly what is left.
//!
//! ```
//! use feedsmith::indicator::{AddressSet, parse_net};
//! use ipnet::IpNet;
//!
//! let nets: Vec<IpNet> = ["192.0.2.0/25", "192.0.2.128/25", "192.0.2.7"]
//!     .iter()
//!     .filter_map(|n| parse_net(n))
//!     .collect();
//! let mut listed = AddressSet::from_nets(&nets);
//! let allowed = AddressSet::from_nets(&[parse_net("192.0.2.0/30").unwrap()]);
//! listed.subtract(&allowed);
//! let cidrs: Vec<String> = listed.cidrs().map(|n| n.to_string()).collect();
//! assert_eq!(
//!     cidrs,
//!     ["192.0.2.4/30", "192.0.2.8/29", "192.0.2.16/28", "192.0.2.32/27", "192.0.2.64/26", "192.0.2.128/25"]
//! );
//! ```

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use ipnet::{IpNet, Ipv4Net, Ipv6Net};

/// Every address of a set of addresses and networks, both IP versions.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AddressSet {
    v4: Vec<(u32, u32)>,
    v6: Vec<(u128, u128)>,
}

impl AddressSet {
    /// The union of `nets`.
    #[must_use]
    pub fn from_nets(nets: &[IpNet]) -> AddressSet {
        let mut v4 = Vec::new();
        let mut v6 = Vec::new();
        for net in nets {
            match net {
                IpNet::V4(n) => v4.push((u32::from(n.network()), u32::from(n.broadcast()))),
                IpNet::V6(n) => v6.push((u128::from(n.network()), u128::from(n.broadcast()))),
            }
        }
        AddressSet { v4: merge(v4), v6: merge(v6) }
    }

    /// The union of IPv4 intervals, each a first and a last address; sorted ones are not
    /// sorted again.
    #[must_use]
    pub fn from_v4_intervals(intervals: Vec<(u32, u32)>) -> AddressSet {
        AddressSet { v4: merge(intervals), v6: Vec::new() }
    }

    /// Whether every address of `net` is in the set. A network that holds members among
    /// other addresses is not.
    #[must_use]
    pub fn contains(&self, net: &IpNet) -> bool {
        match net {
            IpNet::V4(n) => covers(&self.v4, u32::from(n.network()), u32::from(n.broadcast())),
            IpNet::V6(n) => covers(&self.v6, u128::from(n.network()), u128::from(n.broadcast())),
        }
    }

    /// Adds every address of `other` to the set.
    pub fn extend(&mut self, other: &AddressSet) {
        self.v4 = merge(self.v4.iter().chain(&other.v4).copied().collect());
        self.v6 = merge(self.v6.iter().chain(&other.v6).copied().collect());
    }

    /// Takes every address of `other` out of the set.
    pub fn subtract(&mut self, other: &AddressSet) {
        self.v4 = difference(&self.v4, &other.v4);
        self.v6 = difference(&self.v6, &other.v6);
    }

    /// Whether the set holds no address.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.v4.is_empty() && self.v6.is_empty()
    }

    /// How many IPv4 addresses the set holds.
    #[must_use]
    pub fn v4_addresses(&self) -> u64 {
        self.v4.iter().map(|&(first, last)| u64::from(last - first) + 1).sum()
    }

    /// The least CIDR networks that cover exactly the set: IPv4 first, then IPv6, each in
    /// address order.
    pub fn cidrs(&self) -> impl Iterator<Item = IpNet> + '_ {
        let v4 = self.v4.iter().flat_map(|&(first, last)| {
            blocks(first, last).map(|(start, prefix)| {
                IpNet::V4(Ipv4Net::new_assert(Ipv4Addr::from(start), prefix))
            })
        });
        let v6 = self.v6.iter().flat_map(|&(first, last)| {
            blocks(first, last).map(|(start, prefix)| {
                IpNet::V6(Ipv6Net::new_assert(Ipv6Addr::from(start), prefix))
            })
        });
        v4.chain(v6)
    }
}

/// An address or network written as MISP writes them (`1.2.3.4`, `10.0.0.0/8`,
/// `2001:db8::/32`), with host bits cleared. `None` for anything else.
#[must_use]
pub fn parse_net(text: &str) -> Option<IpNet> {
    let text = text.trim();
    if text.contains('/') {
        text.parse::<IpNet>().ok().map(|net| net.trunc())
    } else {
        text.parse::<IpAddr>().ok().map(IpNet::from)
    }
}

/// An address as an unsigned integer of its version's width.
trait Address: Copy + Ord {
    /// Bits in the address.
    const BITS: u32;
    /// The next address, staying at the last one (so that a range ending there absorbs the
    /// rest).
    fn saturating_next(self) -> Self;
    /// The previous address; `None` below the first one.
    fn previous(self) -> Option<Self>;
    /// The next address; `None` past the last one.
    fn next(self) -> Option<Self>;
    /// Trailing zero bits (`BITS` for 0).
    fn trailing_zeros(self) -> u32;
    /// `last − first` as bits needed: the position of the highest set bit of the difference
    /// plus one, so that a block of `2^k` fits when `k <= span_bits`.
    fn block_fits(first: Self, last: Self, bits: u32) -> bool;
    /// `self + 2^bits`, `None` past the last address.
    fn add_block(self, bits: u32) -> Option<Self>;
}

macro_rules! address {
    ($t:ty) => {
        impl Address for $t {
            const BITS: u32 = <$t>::BITS;
            fn saturating_next(self) -> Self {
                self.saturating_add(1)
            }
            fn previous(self) -> Option<Self> {
                self.checked_sub(1)
            }
            fn next(self) -> Option<Self> {
                self.checked_add(1)
            }
            fn trailing_zeros(self) -> u32 {
                <$t>::trailing_zeros(self)
            }
            fn block_fits(first: Self, last: Self, bits: u32) -> bool {
                // A block of 2^bits addresses from `first` ends at first + 2^bits − 1.
                bits >= Self::BITS && first == 0 && last == <$t>::MAX
                    || bits < Self::BITS && (last - first) >= ((1 as $t) << bits) - 1
            }
            fn add_block(self, bits: u32) -> Option<Self> {
                if bits >= Self::BITS { None } else { self.checked_add((1 as $t) << bits) }
            }
        }
    };
}

address!(u32);
address!(u128);

/// Sorts intervals and joins those that overlap or touch.
fn merge<T: Address + Send>(mut ranges: Vec<(T, T)>) -> Vec<(T, T)> {
    // Sorted on every thread when there are many: the aggregated lists of millions. Ranges
    // that come sorted (a list read as intervals) are not sorted again.
    if ranges.is_sorted() {
    } else if ranges.len() > PARALLEL_SORT {
        rayon::slice::ParallelSliceMut::par_sort_unstable(&mut ranges[..]);
    } else {
        ranges.sort_unstable();
    }
    let mut merged: Vec<(T, T)> = Vec::with_capacity(ranges.len());
    for (first, last) in ranges {
        match merged.last_mut() {
            Some(previous) if first <= previous.1.saturating_next() => {
                previous.1 = previous.1.max(last);
            }
            _ => merged.push((first, last)),
        }
    }
    merged.shrink_to_fit();
    merged
}

/// The number of ranges above which [`merge`] sorts in parallel.
const PARALLEL_SORT: usize = 1 << 16;

/// Whether `[first, last]` lies inside one of the sorted, disjoint, merged `ranges`.
fn covers<T: Address>(ranges: &[(T, T)], first: T, last: T) -> bool {
    // The only candidate: the first range that does not end before `first`.
    let index = ranges.partition_point(|&(_, end)| end < first);
    ranges.get(index).is_some_and(|&(start, end)| start <= first && last <= end)
}

/// `keep` without the addresses of `remove`; both sorted, disjoint and merged.
fn difference<T: Address>(keep: &[(T, T)], remove: &[(T, T)]) -> Vec<(T, T)> {
    let mut out = Vec::with_capacity(keep.len());
    let mut cut = 0;
    for &(first, last) in keep {
        // Skip removals that end before this range: by bisection, since one network is
        // often cut against tens of thousands of allow-listed ranges.
        cut += remove[cut..].partition_point(|&(_, end)| end < first);
        let mut start = Some(first);
        let mut at = cut;
        while let Some(from) = start {
            match remove.get(at) {
                Some(&(r_first, r_last)) if r_first <= last => {
                    if r_first > from {
                        // `r_first > from ≥ 0`, so it has a predecessor.
                        out.push((from, r_first.previous().unwrap_or(from)));
                    }
                    start = if r_last >= last { None } else { r_last.next().filter(|&n| n > from) };
                    at += 1;
                }
                _ => {
                    out.push((from, last));
                    start = None;
                }
            }
        }
    }
    out
}

/// The CIDR blocks `(start, prefix length)` covering exactly `[first, last]`, in order:
/// from `first`, each time the largest aligned block that does not pass `last`.
fn blocks<T: Address>(first: T, last: T) -> impl Iterator<Item = (T, u8)> {
    let mut next = Some(first);
    std::iter::from_fn(move || {
        let start = next.filter(|&start| start <= last)?;
        let mut bits = start.trailing_zeros().min(T::BITS);
        while bits > 0 && !T::block_fits(start, last, bits) {
            bits -= 1;
        }
        next = start.add_block(bits);
        // Prefix lengths are at most 128, so they fit in a byte.
        Some((start, u8::try_from(T::BITS - bits).unwrap_or(0)))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(nets: &[&str]) -> AddressSet {
        let nets: Vec<IpNet> = nets.iter().map(|n| parse_net(n).unwrap()).collect();
        AddressSet::from_nets(&nets)
    }

    fn net(text: &str) -> IpNet {
        parse_net(text).unwrap()
    }

    fn cidrs(set: &AddressSet) -> Vec<String> {
        set.cidrs().map(|n| n.to_string()).collect()
    }

    #[test]
    fn touching_and_nested_ranges_are_merged() {
        let r = set(&["10.0.0.0/9", "10.128.0.0/9", "10.1.0.0/16", "192.168.0.1"]);
        assert_eq!(r.v4, vec![(0x0a00_0000, 0x0aff_ffff), (0xc0a8_0001, 0xc0a8_0001)]);
        assert_eq!(cidrs(&r), ["10.0.0.0/8", "192.168.0.1/32"]);
    }

    #[test]
    fn an_address_inside_matches_and_one_outside_does_not() {
        let r = set(&["10.0.0.0/8", "8.8.8.8"]);
        assert!(r.contains(&net("10.255.255.255")));
        assert!(r.contains(&net("8.8.8.8")));
        assert!(!r.contains(&net("8.8.8.9")));
        assert!(!r.contains(&net("11.0.0.0")));
        assert!(!r.contains(&net("9.255.255.255")));
    }

    #[test]
    fn a_network_is_contained_only_when_all_its_addresses_are_listed() {
        let r = set(&["8.8.8.8", "10.0.0.0/9", "10.128.0.0/9"]);
        assert!(!r.contains(&net("8.8.8.0/24")));
        assert!(r.contains(&net("10.64.0.0/10")));
        // Two listed halves hold the whole /8, although neither entry does alone.
        assert!(r.contains(&net("10.0.0.0/8")));
        assert!(!r.contains(&net("10.0.0.0/7")));
    }

    #[test]
    fn the_last_addresses_of_each_version_merge_without_overflow() {
        let r = set(&["255.255.255.255", "255.255.255.254", "ffff::/16", "fffe::/16"]);
        assert_eq!(r.v4, vec![(u32::MAX - 1, u32::MAX)]);
        assert_eq!(r.v6.len(), 1);
        assert!(r.contains(&net("ffff:ffff::1")));
        assert_eq!(cidrs(&r), ["255.255.255.254/31", "fffe::/15"]);
    }

    #[test]
    fn whole_address_spaces_are_one_block() {
        assert_eq!(cidrs(&set(&["0.0.0.0/0", "::/0"])), ["0.0.0.0/0", "::/0"]);
        assert_eq!(cidrs(&set(&["0.0.0.0/1", "128.0.0.0/1"])), ["0.0.0.0/0"]);
    }

    #[test]
    fn a_range_is_covered_by_the_least_blocks() {
        // 10.0.0.1 – 10.0.0.6: .1/32, .2/31, .4/31, .6/32.
        let r = set(&["10.0.0.1", "10.0.0.2", "10.0.0.3", "10.0.0.4", "10.0.0.5", "10.0.0.6"]);
        assert_eq!(cidrs(&r), ["10.0.0.1/32", "10.0.0.2/31", "10.0.0.4/31", "10.0.0.6/32"]);
        assert_eq!(r.v4_addresses(), 6);
    }

    #[test]
    fn subtracting_cuts_holes_and_edges() {
        let mut r = set(&["10.0.0.0/8", "192.0.2.0/24"]);
        r.subtract(&set(&["10.0.0.0/9", "10.200.0.0/16", "192.0.2.0/24", "11.0.0.0/8"]));
        assert_eq!(
            cidrs(&r),
            [
                "10.128.0.0/10",
                "10.192.0.0/13",
                "10.201.0.0/16",
                "10.202.0.0/15",
                "10.204.0.0/14",
                "10.208.0.0/12",
                "10.224.0.0/11"
            ]
        );
        // 2^23 − 2^16 addresses are left of the upper half.
        assert_eq!(r.v4_addresses(), (1 << 23) - (1 << 16));
    }

    #[test]
    fn extending_joins_touching_ranges_of_both_sets() {
        let mut r = set(&["10.0.0.0/25", "2001:db8::/33"]);
        r.extend(&set(&["10.0.0.128/25", "2001:db8:8000::/33", "8.8.8.8"]));
        assert_eq!(cidrs(&r), ["8.8.8.8/32", "10.0.0.0/24", "2001:db8::/32"]);
    }

    #[test]
    fn subtracting_at_the_ends_of_the_space_does_not_overflow() {
        let mut r = set(&["0.0.0.0/0"]);
        r.subtract(&set(&["0.0.0.0", "255.255.255.255"]));
        assert_eq!(r.v4, vec![(1, u32::MAX - 1)]);
        let mut all = set(&["0.0.0.0/0"]);
        all.subtract(&set(&["0.0.0.0/0"]));
        assert!(all.is_empty());
    }

    #[test]
    fn subtraction_agrees_with_a_count_of_addresses() {
        // Small sets checked address by address against a plain membership test.
        let listed = ["10.0.0.0/28", "10.0.0.40/29", "10.0.0.64/26", "10.0.0.17"];
        let allowed = ["10.0.0.4/30", "10.0.0.44", "10.0.0.60/27", "10.0.0.17"];
        let mut r = set(&listed);
        r.subtract(&set(&allowed));
        let inside = |nets: &[&str], a: u32| {
            nets.iter().any(|n| {
                let IpNet::V4(n) = net(n) else { return false };
                u32::from(n.network()) <= a && a <= u32::from(n.broadcast())
            })
        };
        let base = 0x0a00_0000_u32;
        for a in base..base + 256 {
            let expected = inside(&listed, a) && !inside(&allowed, a);
            assert_eq!(r.contains(&IpNet::from(IpAddr::from(Ipv4Addr::from(a)))), expected, "{a}");
        }
    }

    #[test]
    fn host_bits_of_a_written_network_are_cleared() {
        assert_eq!(net("10.0.0.1/8").to_string(), "10.0.0.0/8");
        assert!(parse_net("example.com").is_none());
        assert!(parse_net("10.0.0.0/33").is_none());
    }
}
