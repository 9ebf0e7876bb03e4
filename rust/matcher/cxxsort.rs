//! The order in which GCC's `std::sort` (libstdc++'s introsort) leaves equal keys.
//!
//! Fluxion sorts its candidate groups by score with `std::sort`, which is not stable: when
//! more than 16 candidates tie (64 nodes of equal cores under a top-level slot, say), which of
//! them come first is whatever that algorithm leaves. To take the vertices Fluxion takes, the
//! matcher sorts with the same steps: median-of-three quicksort down to runs of 16, a heap sort
//! past twice the depth `log2(n)`, then one insertion sort.
//!
//! When only the first `k` places are read, `first_like_cxx` gives them in O(n): each partition
//! leaves every element of its left part no greater than any of its right part, the depth a
//! part is sorted with does not depend on the other parts, and the final insertion sort never
//! moves an element before one it is not less than; so a right part starting at or past `k`
//! can be left unsorted, and the insertion sort can stop at the end of the run holding `k - 1`.

/// Runs shorter than this are left to the final insertion sort.
const THRESHOLD: usize = 16;

/// Put in the first `k` places of `v` what libstdc++'s `std::sort(first, last, comp)` puts
/// there with `less` as `comp`, in the same order; the other places hold the rest of `v` in no
/// promised order (with `k` at least `v.len()`, `v` is sorted exactly as `std::sort` sorts it).
pub fn first_like_cxx<T: Copy>(v: &mut [T], k: usize, less: impl Fn(&T, &T) -> bool) {
    let n = v.len();
    if n < 2 || k == 0 {
        return;
    }
    let depth = 2 * (usize::BITS - 1 - n.leading_zeros()) as usize;
    let sorted = introsort_loop(v, 0, n, depth, k.min(n), &less);
    final_insertion_sort(&mut v[..sorted], &less);
}

/// Sort `v[first..last]` as libstdc++'s `__introsort_loop` does, as far as the places below
/// `k` (past `first`) need; returns where the runs it sorted end: at or past `k`, and no
/// element after it is less than one before it.
fn introsort_loop<T: Copy>(
    v: &mut [T],
    first: usize,
    mut last: usize,
    mut depth: usize,
    k: usize,
    less: &impl Fn(&T, &T) -> bool,
) -> usize {
    // Where the runs that matter end, once a right part is found to start before `k` (every
    // later cut falls before it): until then, at the current `last`.
    let mut end = None;
    while last - first > THRESHOLD {
        if depth == 0 {
            heap_sort(&mut v[first..last], less);
            break;
        }
        depth -= 1;
        let cut = partition_around_median(v, first, last, less);
        if cut < k {
            let right = introsort_loop(v, cut, last, depth, k, less);
            end.get_or_insert(right);
        }
        last = cut;
    }
    end.unwrap_or(last)
}

/// Move the median of `first + 1`, the middle and `last - 1` to `first`, then partition the
/// rest around it; returns where the upper part starts.
fn partition_around_median<T: Copy>(
    v: &mut [T],
    first: usize,
    last: usize,
    less: &impl Fn(&T, &T) -> bool,
) -> usize {
    let (a, b, c) = (first + 1, first + (last - first) / 2, last - 1);
    let median = if less(&v[a], &v[b]) {
        if less(&v[b], &v[c]) {
            b
        } else if less(&v[a], &v[c]) {
            c
        } else {
            a
        }
    } else if less(&v[a], &v[c]) {
        a
    } else if less(&v[b], &v[c]) {
        c
    } else {
        b
    };
    v.swap(first, median);
    let pivot = v[first];
    let (mut lo, mut hi) = (first + 1, last);
    loop {
        while less(&v[lo], &pivot) {
            lo += 1;
        }
        hi -= 1;
        while less(&pivot, &v[hi]) {
            hi -= 1;
        }
        if lo >= hi {
            return lo;
        }
        v.swap(lo, hi);
        lo += 1;
    }
}

fn final_insertion_sort<T: Copy>(v: &mut [T], less: &impl Fn(&T, &T) -> bool) {
    let n = v.len();
    let guarded = n.min(THRESHOLD);
    for i in 1..guarded {
        let value = v[i];
        if less(&value, &v[0]) {
            v.copy_within(0..i, 1);
            v[0] = value;
        } else {
            shift_down(v, i, less);
        }
    }
    // Past the first run, the smallest element is already in it: no bound check is needed.
    for i in guarded..n {
        shift_down(v, i, less);
    }
}

/// Move `v[i]` down past every element it is less than.
fn shift_down<T: Copy>(v: &mut [T], mut i: usize, less: &impl Fn(&T, &T) -> bool) {
    let value = v[i];
    while i > 0 && less(&value, &v[i - 1]) {
        v[i] = v[i - 1];
        i -= 1;
    }
    v[i] = value;
}

fn heap_sort<T: Copy>(v: &mut [T], less: &impl Fn(&T, &T) -> bool) {
    let len = v.len();
    if len >= 2 {
        let mut parent = (len - 2) / 2;
        loop {
            let value = v[parent];
            adjust_heap(v, parent, len, value, less);
            if parent == 0 {
                break;
            }
            parent -= 1;
        }
    }
    let mut last = len;
    while last > 1 {
        last -= 1;
        let value = v[last];
        v[last] = v[0];
        adjust_heap(&mut v[..last], 0, last, value, less);
    }
}

/// Sift the hole at `hole` down to a leaf along the larger children, then push `value` up.
fn adjust_heap<T: Copy>(
    v: &mut [T],
    mut hole: usize,
    len: usize,
    value: T,
    less: &impl Fn(&T, &T) -> bool,
) {
    let top = hole;
    let mut child = hole;
    while child < (len - 1) / 2 {
        child = 2 * (child + 1);
        if less(&v[child], &v[child - 1]) {
            child -= 1;
        }
        v[hole] = v[child];
        hole = child;
    }
    if len % 2 == 0 && child == (len - 2) / 2 {
        child = 2 * (child + 1);
        v[hole] = v[child - 1];
        hole = child - 1;
    }
    let mut parent = hole.wrapping_sub(1) / 2;
    while hole > top && less(&v[parent], &value) {
        v[hole] = v[parent];
        hole = parent;
        parent = hole.wrapping_sub(1) / 2;
    }
    v[hole] = value;
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn less(a: &(i64, usize), b: &(i64, usize)) -> bool {
        a.0 < b.0
    }

    fn keys_sorted(mut v: Vec<(i64, usize)>) -> Vec<(i64, usize)> {
        let n = v.len();
        first_like_cxx(&mut v, n, less);
        v
    }

    #[test]
    fn short_runs_keep_equal_keys_in_order() {
        let v: Vec<(i64, usize)> = (0..16).map(|i| ((i % 3) as i64, i)).collect();
        let sorted = keys_sorted(v.clone());
        let mut stable = v;
        stable.sort_by_key(|x| x.0);
        assert_eq!(sorted, stable);
    }

    #[test]
    fn long_runs_are_sorted_by_key_whatever_the_input() {
        for n in [17usize, 64, 204, 1000] {
            let v: Vec<(i64, usize)> = (0..n).map(|i| (((i * 7919) % 13) as i64, i)).collect();
            let sorted = keys_sorted(v);
            assert!(sorted.windows(2).all(|w| w[0].0 <= w[1].0));
            let mut ids: Vec<usize> = sorted.iter().map(|x| x.1).collect();
            ids.sort_unstable();
            assert_eq!(ids, (0..n).collect::<Vec<_>>());
        }
    }

    #[test]
    fn equal_keys_past_sixteen_leave_the_introsort_order() {
        // 20 equal keys: the median moves to the front and the partition swaps the ends, as
        // libstdc++ does, so the order is not the input order.
        let v: Vec<(i64, usize)> = (0..20).map(|i| (0, i)).collect();
        let order: Vec<usize> = keys_sorted(v).iter().map(|x| x.1).collect();
        assert_ne!(order, (0..20).collect::<Vec<_>>());
    }

    #[test]
    fn a_deep_enough_recursion_falls_back_to_the_heap() {
        let mut v: Vec<(i64, usize)> = (0..300).map(|i| ((i % 2) as i64, i)).collect();
        heap_sort(&mut v, &less);
        assert!(v.windows(2).all(|w| w[0].0 <= w[1].0));
    }

    /// The first `k` places after the loop (from `depth`) and the final insertion sort over
    /// what the loop says matters.
    fn first_k(v: &[(i64, usize)], k: usize, depth: usize) -> Vec<(i64, usize)> {
        let mut v = v.to_vec();
        let n = v.len();
        let sorted = introsort_loop(&mut v, 0, n, depth, k.min(n), &less);
        final_insertion_sort(&mut v[..sorted], &less);
        v.truncate(k);
        v
    }

    /// Keys with many ties (few distinct values) in random order, each tagged with its place.
    fn tied_keys() -> impl Strategy<Value = Vec<(i64, usize)>> {
        (1i64..6, 0usize..400).prop_flat_map(|(values, n)| {
            prop::collection::vec(0..values, n)
                .prop_map(|keys| keys.into_iter().zip(0..).collect::<Vec<_>>())
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig { failure_persistence: None, ..ProptestConfig::default() })]

        /// For every `k`, the first `k` places are those of the whole sort, ties included; with
        /// the depth `std::sort` starts from, and with depths so small the heap sort takes over.
        #[test]
        fn the_first_k_places_are_those_of_the_whole_sort(v in tied_keys(), shallow in 0usize..4) {
            let n = v.len();
            let depth = if n < 2 { 0 } else { 2 * (usize::BITS - 1 - n.leading_zeros()) as usize };
            for d in [depth, shallow] {
                let whole = first_k(&v, n, d);
                for k in 0..=n {
                    prop_assert_eq!(&first_k(&v, k, d)[..], &whole[..k], "k = {}, depth {}", k, d);
                }
            }
            let mut partial = v.clone();
            first_like_cxx(&mut partial, n / 3, less);
            let mut ids: Vec<usize> = partial.iter().map(|x| x.1).collect();
            ids.sort_unstable();
            prop_assert_eq!(ids, (0..n).collect::<Vec<_>>());
        }
    }
}
