//! Scopes as bits.
//!
//! A policy declares at most [`MAX_SCOPES`] scopes; each gets a bit in a [`ScopeSet`],
//! so the set operations of a decision (is any mapped scope held? which scopes does a
//! token keep?) are single machine instructions and never allocate.

use std::fmt;

/// The most scopes a policy may declare.
pub const MAX_SCOPES: usize = 128;

/// The index of a declared scope in its policy's registry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ScopeId(u8);

impl ScopeId {
    /// The bit position of this scope.
    pub fn index(self) -> usize {
        usize::from(self.0)
    }
}

/// A set of scopes of one registry.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct ScopeSet(u128);

impl ScopeSet {
    /// The empty set.
    pub const EMPTY: ScopeSet = ScopeSet(0);

    /// A set holding one scope.
    pub fn single(id: ScopeId) -> Self {
        ScopeSet(1u128 << id.0)
    }

    /// Whether the set is empty.
    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// Whether `id` is in the set.
    pub fn contains(self, id: ScopeId) -> bool {
        self.0 & (1u128 << id.0) != 0
    }

    /// Adds `id`.
    pub fn insert(&mut self, id: ScopeId) {
        self.0 |= 1u128 << id.0;
    }

    /// Union.
    #[must_use]
    pub fn union(self, other: ScopeSet) -> ScopeSet {
        ScopeSet(self.0 | other.0)
    }

    /// Intersection.
    #[must_use]
    pub fn intersection(self, other: ScopeSet) -> ScopeSet {
        ScopeSet(self.0 & other.0)
    }

    /// Difference: the scopes of `self` not in `other`.
    #[must_use]
    pub fn difference(self, other: ScopeSet) -> ScopeSet {
        ScopeSet(self.0 & !other.0)
    }

    /// Whether the two sets share a scope.
    pub fn intersects(self, other: ScopeSet) -> bool {
        self.0 & other.0 != 0
    }

    /// Whether every scope of `self` is in `other`.
    pub fn is_subset(self, other: ScopeSet) -> bool {
        self.0 & !other.0 == 0
    }

    /// Number of scopes.
    pub fn len(self) -> usize {
        self.0.count_ones() as usize
    }

    /// The scopes, in registry order.
    pub fn iter(self) -> impl Iterator<Item = ScopeId> {
        let mut bits = self.0;
        std::iter::from_fn(move || {
            if bits == 0 {
                return None;
            }
            let i = bits.trailing_zeros();
            bits &= bits - 1;
            // `i` < 128 always fits in u8.
            u8::try_from(i).ok().map(ScopeId)
        })
    }
}

impl fmt::Debug for ScopeSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_set().entries(self.iter().map(|s| s.0)).finish()
    }
}

impl FromIterator<ScopeId> for ScopeSet {
    fn from_iter<T: IntoIterator<Item = ScopeId>>(iter: T) -> Self {
        let mut set = ScopeSet::EMPTY;
        for id in iter {
            set.insert(id);
        }
        set
    }
}

/// The scope names of a policy, in declaration order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ScopeRegistry {
    names: Vec<String>,
}

impl ScopeRegistry {
    /// Builds a registry; `None` if there are more than [`MAX_SCOPES`] names.
    /// Duplicates are kept once.
    pub fn new<I, S>(names: I) -> Option<Self>
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let mut out: Vec<String> = Vec::new();
        for n in names {
            let n = n.into();
            if !out.contains(&n) {
                out.push(n);
            }
        }
        (out.len() <= MAX_SCOPES).then_some(Self { names: out })
    }

    /// The id of the scope called `name`.
    pub fn id(&self, name: &str) -> Option<ScopeId> {
        self.names
            .iter()
            .position(|n| n == name)
            .and_then(|i| u8::try_from(i).ok())
            .map(ScopeId)
    }

    /// The name of `id`.
    pub fn name(&self, id: ScopeId) -> &str {
        self.names.get(id.index()).map_or("", String::as_str)
    }

    /// Number of declared scopes.
    pub fn len(&self) -> usize {
        self.names.len()
    }

    /// Whether no scope is declared.
    pub fn is_empty(&self) -> bool {
        self.names.is_empty()
    }

    /// Every declared scope: the low `len()` bits (computed in constant time: the decision
    /// asks for it on every request).
    pub fn all(&self) -> ScopeSet {
        let unused = MAX_SCOPES.saturating_sub(self.names.len());
        ScopeSet(
            u32::try_from(unused)
                .ok()
                .and_then(|shift| u128::MAX.checked_shr(shift))
                .unwrap_or(0),
        )
    }

    /// The names of a set, sorted alphabetically (the order of challenges and messages).
    pub fn sorted_names(&self, set: ScopeSet) -> Vec<&str> {
        let mut v: Vec<&str> = set.iter().map(|id| self.name(id)).collect();
        v.sort_unstable();
        v
    }

    /// Parses names into a set; the first unknown name is the error.
    pub fn parse_set<'a, I>(&self, names: I) -> Result<ScopeSet, &'a str>
    where
        I: IntoIterator<Item = &'a str>,
    {
        let mut set = ScopeSet::EMPTY;
        for n in names {
            set.insert(self.id(n).ok_or(n)?);
        }
        Ok(set)
    }

    /// Every declared name, in declaration order.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.names.iter().map(String::as_str)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn set_operations() {
        let r = ScopeRegistry::new(["a", "b", "c"]).unwrap();
        let ab = r.parse_set(["a", "b"]).unwrap();
        let bc = r.parse_set(["c", "b"]).unwrap();
        assert!(ab.intersects(bc));
        assert_eq!(r.sorted_names(ab.intersection(bc)), ["b"]);
        assert_eq!(r.sorted_names(ab.union(bc)), ["a", "b", "c"]);
        assert_eq!(r.sorted_names(ab.difference(bc)), ["a"]);
        assert_eq!(r.parse_set(["a", "zz"]), Err("zz"));
        assert_eq!(r.all().len(), 3);
    }

    #[test]
    fn registry_holds_at_most_128_scopes() {
        assert!(ScopeRegistry::new((0..128).map(|i| i.to_string())).is_some());
        assert!(ScopeRegistry::new((0..129).map(|i| i.to_string())).is_none());
        let r = ScopeRegistry::new((0..128).map(|i| i.to_string())).unwrap();
        let last = r.id("127").unwrap();
        assert!(r.all().contains(last));
        assert_eq!(r.all().iter().count(), 128);
    }

    #[test]
    fn all_is_exactly_the_declared_scopes() {
        for n in [0usize, 1, 25, 64, 65, 127, 128] {
            let r = ScopeRegistry::new((0..n).map(|i| i.to_string())).unwrap();
            let expected: ScopeSet = (0..n).map(|i| r.id(&i.to_string()).unwrap()).collect();
            assert_eq!(r.all(), expected, "{n} scopes");
        }
        assert_eq!(ScopeRegistry::default().all(), ScopeSet::EMPTY);
    }
}
