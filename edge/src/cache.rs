//! A small per-isolate cache with a time to live: what the directory says about a code is read
//! from the storage object once per `ttl` per isolate instead of on every scan (the object is the
//! landing page's only round trip). An administration write empties the isolate's cache at once;
//! other isolates see it within the ttl.

use std::collections::HashMap;
use std::hash::Hash;

pub struct TtlCache<K, V> {
    ttl_ms: f64,
    max: usize,
    map: HashMap<K, (f64, V)>,
}

impl<K: Hash + Eq, V: Clone> TtlCache<K, V> {
    /// `ttl_ms` 0 caches nothing. At most `max` entries: past that, expired ones go, then all.
    pub fn new(ttl_ms: f64, max: usize) -> Self {
        TtlCache {
            ttl_ms,
            max,
            map: HashMap::new(),
        }
    }

    pub fn get(&mut self, k: &K, now_ms: f64) -> Option<V> {
        match self.map.get(k) {
            Some((expires, v)) if *expires > now_ms => Some(v.clone()),
            Some(_) => {
                self.map.remove(k);
                None
            }
            None => None,
        }
    }

    pub fn put(&mut self, k: K, v: V, now_ms: f64) {
        if self.ttl_ms <= 0.0 {
            return;
        }
        if self.map.len() >= self.max {
            self.map.retain(|_, (expires, _)| *expires > now_ms);
            if self.map.len() >= self.max {
                self.map.clear();
            }
        }
        self.map.insert(k, (now_ms + self.ttl_ms, v));
    }

    pub fn clear(&mut self) {
        self.map.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_expire_and_the_size_is_bounded() {
        let mut c = TtlCache::new(1000.0, 2);
        c.put("a", 1, 0.0);
        assert_eq!(c.get(&"a", 999.0), Some(1));
        assert_eq!(c.get(&"a", 1000.0), None, "expired at the ttl");
        c.put("a", 1, 0.0);
        c.put("b", 2, 500.0);
        c.put("c", 3, 1200.0); // full: "a" has expired and goes, "b" stays
        assert_eq!(
            (c.get(&"b", 1200.0), c.get(&"c", 1200.0)),
            (Some(2), Some(3))
        );
        c.put("d", 4, 1300.0); // full of live entries: all go
        assert_eq!((c.get(&"b", 1300.0), c.get(&"d", 1300.0)), (None, Some(4)));
        c.clear();
        assert_eq!(c.get(&"d", 1300.0), None);
        let mut off = TtlCache::new(0.0, 10);
        off.put("a", 1, 0.0);
        assert_eq!(off.get(&"a", 0.0), None, "ttl 0 caches nothing");
    }
}
