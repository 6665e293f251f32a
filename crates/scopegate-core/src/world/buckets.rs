//! [`Buckets`]: a map keyed by `u64` split into buckets behind [`Arc`]s, so that a copy of
//! the map is one pointer copy and a change copies only the buckets it touches (a patch of
//! one user copies one bucket of a few dozen entries, not a million-entry map).

use std::sync::Arc;

use rustc_hash::FxHashMap;

/// At most this many buckets.
const MAX_BUCKETS: usize = 1 << 16;
/// A bucket is found from the key's high bits after this multiplication (Fibonacci hashing),
/// so sequential ids spread over every bucket and a bucket's keys still spread in its map.
const SPREAD: u64 = 0x9E37_79B9_7F4A_7C15;

/// A `u64`-keyed map in buckets behind [`Arc`]s: cloning copies one pointer; editing (through
/// [`BucketsMut`]) copies the bucket array and the touched buckets only.
#[derive(Debug, Clone)]
pub(crate) struct Buckets<V> {
    /// `log2` of the bucket count.
    bits: u32,
    len: usize,
    buckets: Arc<[Arc<FxHashMap<u64, V>>]>,
}

/// The bucket of `key` among `1 << bits` buckets.
#[inline]
fn bucket_of(key: u64, bits: u32) -> usize {
    // `bits` ≤ 16, so the shift is at least 48; with `bits == 0` every key is in bucket 0.
    (key.wrapping_mul(SPREAD) >> 32) as usize & ((1usize << bits) - 1)
}

/// The bucket count's `log2` for about `n` entries: about `√n` buckets of `√n` entries, so
/// that an edit copies about `√n` bucket pointers (each a reference count touched) and
/// `√n` entries per changed key (1,024 buckets of about 1,000 entries for a million).
fn bits_for(n: usize) -> u32 {
    (n.isqrt())
        .clamp(1, MAX_BUCKETS)
        .next_power_of_two()
        .trailing_zeros()
}

impl<V> Default for Buckets<V> {
    fn default() -> Self {
        Buckets {
            bits: 0,
            len: 0,
            buckets: Arc::from([Arc::new(FxHashMap::default())]),
        }
    }
}

impl<V> Buckets<V> {
    /// The value of `key`.
    #[inline]
    pub(crate) fn get(&self, key: u64) -> Option<&V> {
        self.buckets.get(bucket_of(key, self.bits))?.get(&key)
    }

    /// Whether `key` has a value.
    #[inline]
    pub(crate) fn contains(&self, key: u64) -> bool {
        self.get(key).is_some()
    }

    /// The number of entries.
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// Every entry, bucket by bucket (no defined order).
    pub(crate) fn iter(&self) -> impl Iterator<Item = (u64, &V)> {
        self.buckets
            .iter()
            .flat_map(|b| b.iter().map(|(k, v)| (*k, v)))
    }
}

impl<V: Clone> Buckets<V> {
    /// An editable copy sharing every bucket with `self` until it is changed (the bucket
    /// array is copied on the first change).
    pub(crate) fn edit(&self) -> BucketsMut<V> {
        BucketsMut {
            bits: self.bits,
            len: self.len,
            base: self.buckets.clone(),
            buckets: None,
        }
    }
}

impl<V: PartialEq> PartialEq for Buckets<V> {
    fn eq(&self, other: &Self) -> bool {
        if self.len != other.len {
            return false;
        }
        if self.bits == other.bits {
            return self
                .buckets
                .iter()
                .zip(other.buckets.iter())
                .all(|(a, b)| Arc::ptr_eq(a, b) || a == b);
        }
        self.iter().all(|(k, v)| other.get(k) == Some(v))
    }
}

/// A [`Buckets`] being edited: the bucket array is copied on the first change, each bucket
/// the first time it changes ([`Arc::make_mut`]).
#[derive(Debug)]
pub(crate) struct BucketsMut<V> {
    bits: u32,
    len: usize,
    /// The array edited from (or the one built).
    base: Arc<[Arc<FxHashMap<u64, V>>]>,
    /// The copy being changed, once something changed.
    buckets: Option<Vec<Arc<FxHashMap<u64, V>>>>,
}

impl<V: Clone> BucketsMut<V> {
    /// An empty map sized for about `n` entries (the empty buckets share one allocation).
    pub(crate) fn with_capacity(n: usize) -> Self {
        let bits = bits_for(n);
        let empty = Arc::new(FxHashMap::default());
        BucketsMut {
            bits,
            len: 0,
            base: Arc::from([]),
            buckets: Some(vec![empty; 1 << bits]),
        }
    }

    /// The value of `key`, changes made so far included.
    pub(crate) fn get(&self, key: u64) -> Option<&V> {
        let bucket = match &self.buckets {
            Some(b) => b.get(bucket_of(key, self.bits)),
            None => self.base.get(bucket_of(key, self.bits)),
        };
        bucket?.get(&key)
    }

    /// The bucket of `key`, for a change.
    fn bucket_mut(&mut self, key: u64) -> Option<&mut Arc<FxHashMap<u64, V>>> {
        let base = &self.base;
        let buckets = self.buckets.get_or_insert_with(|| base.to_vec());
        buckets.get_mut(bucket_of(key, self.bits))
    }

    /// Sets `key` to `value`; the previous value, if any.
    pub(crate) fn insert(&mut self, key: u64, value: V) -> Option<V> {
        let old = Arc::make_mut(self.bucket_mut(key)?).insert(key, value);
        if old.is_none() {
            self.len += 1;
        }
        old
    }

    /// Removes `key`; its value, if any.
    pub(crate) fn remove(&mut self, key: u64) -> Option<V> {
        self.get(key)?;
        let old = Arc::make_mut(self.bucket_mut(key)?).remove(&key);
        if old.is_some() {
            self.len -= 1;
        }
        old
    }

    /// The finished map. When it has grown well past its bucket count (a world built empty,
    /// then patched for a long time), its entries are spread over more buckets, so that a
    /// bucket stays small and a change stays cheap.
    pub(crate) fn finish(self) -> Buckets<V> {
        let buckets: Arc<[_]> = match self.buckets {
            Some(b) => Arc::from(b),
            None => self.base,
        };
        if bits_for(self.len) > self.bits + 2 {
            let mut grown = BucketsMut::with_capacity(self.len);
            for bucket in buckets.iter() {
                for (k, v) in bucket.iter() {
                    grown.insert(*k, v.clone());
                }
            }
            return grown.finish();
        }
        Buckets {
            bits: self.bits,
            len: self.len,
            buckets,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn edits_copy_only_the_touched_bucket() {
        let mut m = BucketsMut::with_capacity(10_000);
        for k in 0..10_000u64 {
            m.insert(k, k * 2);
        }
        let a = m.finish();
        assert_eq!(a.len(), 10_000);
        assert!(a.buckets.len() >= 64, "{} buckets", a.buckets.len());
        let mut e = a.edit();
        assert_eq!(e.insert(7, 0), Some(14));
        assert_eq!(e.remove(8), Some(16));
        assert_eq!(e.remove(10_001), None);
        let b = e.finish();
        assert_eq!((a.get(7), b.get(7)), (Some(&14), Some(&0)));
        assert_eq!((a.get(8), b.get(8)), (Some(&16), None));
        assert_eq!(b.len(), 9_999);
        let shared = a
            .buckets
            .iter()
            .zip(b.buckets.iter())
            .filter(|(x, y)| Arc::ptr_eq(x, y))
            .count();
        assert!(shared + 2 >= a.buckets.len(), "only two buckets copied");
        assert_ne!(a, b);
        let untouched = b.edit().finish();
        assert!(
            Arc::ptr_eq(&untouched.buckets, &b.buckets),
            "no change, no copy"
        );
        let mut back = b.edit();
        back.insert(7, 14);
        back.insert(8, 16);
        assert_eq!(back.finish(), a);
    }

    #[test]
    fn a_map_grown_by_edits_is_spread_over_more_buckets_and_stays_equal() {
        let start: Buckets<u64> = BucketsMut::with_capacity(0).finish();
        assert_eq!(start.buckets.len(), 1);
        let mut e = start.edit();
        for k in 0..5_000u64 {
            e.insert(k, k);
        }
        let grown = e.finish();
        assert!(grown.buckets.len() > 16, "{} buckets", grown.buckets.len());
        let mut direct = BucketsMut::with_capacity(2_000);
        for k in (0..5_000u64).rev() {
            direct.insert(k, k);
        }
        let direct = direct.finish();
        assert_ne!(direct.bits, grown.bits);
        assert_eq!(
            grown, direct,
            "equality does not depend on the bucket count"
        );
        assert_eq!(grown.iter().count(), 5_000);
        assert!((0..5_000).all(|k| grown.contains(k)));
    }
}
