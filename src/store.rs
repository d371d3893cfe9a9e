//! Where the profile is kept: the [`ProfileStore`] trait and the in-memory store.
//!
//! The browser binding implements the trait over `localStorage`; tests and shoppers
//! without storage use [`MemoryStore`]. Every key pocketrank writes starts with
//! `pocketrank:<namespace>:`, so that [`clear`] can remove them all.

use crate::map::SortedMap;

use crate::error::{Code, Error, Result};

/// A string key-value store with `localStorage`'s semantics.
pub trait ProfileStore {
    /// The value under `key`, if any.
    fn get(&self, key: &str) -> Result<Option<String>>;
    /// Writes `value` under `key`. Fails with `storage.quota` when full, and with
    /// `storage.unavailable` when the store cannot be used at all.
    fn set(&mut self, key: &str, value: &str) -> Result<()>;
    /// Removes `key` (no error when absent).
    fn remove(&mut self, key: &str) -> Result<()>;
    /// Every key in the store.
    fn keys(&self) -> Result<Vec<String>>;
}

/// A store in memory, with an optional quota (in UTF-16 code units of keys and values,
/// as browsers count them) for testing what happens when storage is full.
#[derive(Debug, Clone, Default)]
pub struct MemoryStore {
    entries: SortedMap<String, String>,
    quota: Option<usize>,
}

impl MemoryStore {
    /// An empty store without a quota.
    pub fn new() -> MemoryStore {
        MemoryStore::default()
    }

    /// An empty store that refuses writes beyond `units` UTF-16 code units in all.
    pub fn with_quota(units: usize) -> MemoryStore {
        MemoryStore {
            entries: SortedMap::new(),
            quota: Some(units),
        }
    }

    fn used_without(&self, key: &str) -> usize {
        self.entries
            .iter()
            .filter(|(k, _)| k.as_str() != key)
            .map(|(k, v)| k.encode_utf16().count() + v.encode_utf16().count())
            .sum()
    }
}

impl ProfileStore for MemoryStore {
    fn get(&self, key: &str) -> Result<Option<String>> {
        Ok(self.entries.get(key).cloned())
    }
    fn set(&mut self, key: &str, value: &str) -> Result<()> {
        if let Some(quota) = self.quota {
            let need = key.encode_utf16().count() + value.encode_utf16().count();
            if self.used_without(key) + need > quota {
                return Err(Error::new(
                    Code::StorageQuota,
                    format!("the store's quota of {quota} units is exhausted"),
                ));
            }
        }
        self.entries.insert(key.to_string(), value.to_string());
        Ok(())
    }
    fn remove(&mut self, key: &str) -> Result<()> {
        self.entries.remove(key);
        Ok(())
    }
    fn keys(&self) -> Result<Vec<String>> {
        Ok(self.entries.keys().cloned().collect())
    }
}

/// One [`MemoryStore`] shared by several engines, as one origin's `localStorage` is shared by
/// its tabs: for testing and simulating tabs natively (a clone is another handle to the same
/// store).
#[derive(Debug, Clone, Default)]
pub struct SharedMemoryStore(pub std::rc::Rc<std::cell::RefCell<MemoryStore>>);

impl ProfileStore for SharedMemoryStore {
    fn get(&self, key: &str) -> Result<Option<String>> {
        self.0.borrow().get(key)
    }
    fn set(&mut self, key: &str, value: &str) -> Result<()> {
        self.0.borrow_mut().set(key, value)
    }
    fn remove(&mut self, key: &str) -> Result<()> {
        self.0.borrow_mut().remove(key)
    }
    fn keys(&self) -> Result<Vec<String>> {
        self.0.borrow().keys()
    }
}

/// Longest namespace, in bytes.
pub const MAX_NAMESPACE_LEN: usize = 64;

/// Checks a namespace: 1–64 characters of `[A-Za-z0-9._-]`.
pub fn check_namespace(namespace: &str) -> Result<()> {
    let ok = !namespace.is_empty()
        && namespace.len() <= MAX_NAMESPACE_LEN
        && namespace
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'));
    if ok {
        Ok(())
    } else {
        Err(Error::at_field(
            Code::OptionsInvalid,
            "namespace",
            format!("{namespace:?} is not 1–{MAX_NAMESPACE_LEN} characters of A-Z a-z 0-9 . _ -"),
        ))
    }
}

/// The prefix of every key written for `namespace`: `pocketrank:<namespace>:`.
pub fn prefix(namespace: &str) -> String {
    format!("pocketrank:{namespace}:")
}

/// The key of the profile.
pub fn profile_key(namespace: &str) -> String {
    format!("pocketrank:{namespace}:profile")
}

/// The key of the privacy record (budget, ledger, catalogs seen, the shopper's sensitive list).
pub fn privacy_key(namespace: &str) -> String {
    format!("pocketrank:{namespace}:privacy")
}

/// The key under which an unreadable value found at `now` is set aside.
pub fn quarantine_key(namespace: &str, now: crate::Millis) -> String {
    format!("pocketrank:{namespace}:quarantine:{now}")
}

/// Most values kept set aside per namespace; the oldest go first.
pub const MAX_QUARANTINED: usize = 3;
/// Most bytes (of values) kept set aside per namespace: three stored profiles at their cap.
/// The newest copy is always kept, even alone above it.
pub const MAX_QUARANTINE_BYTES: usize = 3 * crate::profile::MAX_STORED_BYTES;

/// Sets `text` aside under a new quarantine key of `namespace` (`…:quarantine:<now><suffix>`,
/// made unique), then drops the oldest quarantined values beyond [`MAX_QUARANTINED`] and
/// [`MAX_QUARANTINE_BYTES`], so that a value that keeps coming back unreadable cannot fill
/// the origin's storage. Returns the key.
pub fn set_aside(
    store: &mut dyn ProfileStore,
    namespace: &str,
    suffix: &str,
    text: &str,
    now: crate::Millis,
) -> Result<String> {
    let base = format!("{}{suffix}", quarantine_key(namespace, now));
    let mut key = base.clone();
    let mut n = 1;
    while store.get(&key)?.is_some() {
        n += 1;
        key = format!("{base}.{n}");
    }
    store.set(&key, text)?;
    let prefix = format!("{}quarantine:", prefix(namespace));
    // Newest first: by the time in the key, then the copy number.
    let order = |k: &str| -> (i64, u32) {
        let rest = &k[prefix.len()..];
        let digits = rest.trim_start_matches('-');
        let end = digits
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(digits.len());
        let t = digits[..end].parse::<i64>().unwrap_or(i64::MIN);
        let t = if rest.starts_with('-') { -t } else { t };
        let copy = k
            .rsplit_once('.')
            .and_then(|(_, c)| c.parse().ok())
            .unwrap_or(1);
        (t, copy)
    };
    let mut kept: Vec<String> = store
        .keys()?
        .into_iter()
        .filter(|k| k.starts_with(&prefix) && *k != key)
        .collect();
    crate::sort::sort_by(&mut kept, |a, b| order(b).cmp(&order(a)).then(b.cmp(a)));
    let mut bytes = text.len();
    let mut count = 1;
    for k in kept {
        let size = store.get(&k)?.map_or(0, |v| v.len());
        if count < MAX_QUARANTINED && bytes + size <= MAX_QUARANTINE_BYTES {
            count += 1;
            bytes += size;
        } else {
            store.remove(&k)?;
        }
    }
    Ok(key)
}

/// Removes every key of `namespace` (profile, quarantined values, anything else the
/// library wrote). Returns how many were removed.
pub fn clear(store: &mut dyn ProfileStore, namespace: &str) -> Result<usize> {
    let prefix = prefix(namespace);
    let keys: Vec<String> = store
        .keys()?
        .into_iter()
        .filter(|k| k.starts_with(&prefix))
        .collect();
    for k in &keys {
        store.remove(k)?;
    }
    Ok(keys.len())
}
