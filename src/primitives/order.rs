//! Stable sorting through one copy of the standard library's sort.
//!
//! `slice::sort_by` is generic over the element and the comparator, so each
//! call site compiled its own driftsort (2–8 KB of wasm each; the deployed
//! Worker carried eleven). Here the standard sort is compiled once, over
//! indices with a `dyn` comparator; a caller only adds the small permutation
//! step. The extra indirection costs nanoseconds on the short lists sorted
//! here (query parameters, Vary names, language ranges, byte ranges, purge
//! marks), and an already sorted list returns without allocating.

use std::cmp::Ordering;

/// Sorts `v` by `cmp`, keeping equal elements in their order (as
/// `slice::sort_by`).
pub fn sort_by<T>(v: &mut Vec<T>, cmp: &dyn Fn(&T, &T) -> Ordering) {
    if v.windows(2).all(|w| cmp(&w[0], &w[1]) != Ordering::Greater) {
        return;
    }
    let mut order: Vec<usize> = (0..v.len()).collect();
    sort_indices(&mut order, &|a, b| cmp(&v[a], &v[b]));
    let mut slots: Vec<Option<T>> = v.drain(..).map(Some).collect();
    // Each index appears once, so every slot is taken exactly once.
    v.extend(
        order
            .into_iter()
            .filter_map(|i| slots.get_mut(i).and_then(Option::take)),
    );
}

/// Sorts `v` in its natural order (as `slice::sort`).
pub fn sort<T: Ord>(v: &mut Vec<T>) {
    sort_by(v, &T::cmp);
}

/// The one instantiation of the standard sort.
#[inline(never)]
fn sort_indices(order: &mut [usize], cmp: &dyn Fn(usize, usize) -> Ordering) {
    order.sort_by(|a, b| cmp(*a, *b));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sorts_as_the_standard_library_does_and_is_stable() {
        // Pseudo-random pairs with many equal keys: the second field tells
        // whether equal keys kept their order.
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        for len in [0usize, 1, 2, 3, 7, 20, 33, 100, 1000] {
            let v: Vec<(u8, usize)> = (0..len)
                .map(|i| {
                    x ^= x << 13;
                    x ^= x >> 7;
                    x ^= x << 17;
                    ((x % 7) as u8, i)
                })
                .collect();
            let mut ours = v.clone();
            sort_by(&mut ours, &|a, b| a.0.cmp(&b.0));
            let mut std = v.clone();
            std.sort_by_key(|a| a.0);
            assert_eq!(ours, std, "len {len}");

            let mut all = v.clone();
            sort(&mut all);
            let mut std_all = v;
            std_all.sort();
            assert_eq!(all, std_all);
        }
    }

    #[test]
    fn owned_values_are_moved_not_lost() {
        let mut v: Vec<String> = ["pear", "apple", "fig", "apple"].map(String::from).to_vec();
        sort(&mut v);
        assert_eq!(v, ["apple", "apple", "fig", "pear"]);
        let mut r: Vec<String> = ["a", "c", "b"].map(String::from).to_vec();
        sort_by(&mut r, &|a, b| b.cmp(a));
        assert_eq!(r, ["c", "b", "a"]);
    }
}
