//! Where the profile is kept: the [`ProfileStore`] trait and the in-memory store.
//!
//! The browser binding implements the trait over `localStorage`; tests and shoppers
//! without storage use [`MemoryStore`]. Every key pocketrank writes starts with
//! `pocketrank:<namespace>:`, so that [`clear`] can remove them all.

use std::collections::BTreeMap;

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
    entries: BTreeMap<String, String>,
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
            entries: BTreeMap::new(),
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
