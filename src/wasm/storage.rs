//! The profile store over the browser's `localStorage`.

use wasm_bindgen::{JsCast, JsValue};

use super::error::describe;
use crate::error::{Code, Error, Result};
use crate::store::ProfileStore;

/// `localStorage`, reached through gloo-storage once it is known to be usable.
#[derive(Debug)]
pub struct LocalStorage {
    storage: web_sys::Storage,
}

fn unavailable(e: &JsValue) -> Error {
    Error::new(
        Code::StorageUnavailable,
        format!("localStorage cannot be used: {}", describe(e)),
    )
}

impl LocalStorage {
    /// Opens `localStorage`, or says why it cannot be used. Accessing `window.localStorage`
    /// throws in sandboxed frames and when the shopper has blocked site data: that is
    /// caught here, before gloo-storage (which would panic) is asked for it.
    pub fn open() -> Result<LocalStorage> {
        let global = js_sys::global();
        let window = global.dyn_into::<web_sys::Window>().map_err(|_| {
            Error::new(
                Code::StorageUnavailable,
                "there is no window (not a browser page)",
            )
        })?;
        match window.local_storage() {
            Ok(Some(_)) => {}
            Ok(None) => {
                return Err(Error::new(
                    Code::StorageUnavailable,
                    "localStorage is not available",
                ))
            }
            Err(e) => return Err(unavailable(&e)),
        }
        let storage = <gloo_storage::LocalStorage as gloo_storage::Storage>::raw();
        // Reading can still throw (for example when site data is blocked).
        storage.length().map_err(|e| unavailable(&e))?;
        Ok(LocalStorage { storage })
    }
}

impl ProfileStore for LocalStorage {
    fn get(&self, key: &str) -> Result<Option<String>> {
        self.storage.get_item(key).map_err(|e| unavailable(&e))
    }

    fn set(&mut self, key: &str, value: &str) -> Result<()> {
        self.storage.set_item(key, value).map_err(|e| {
            let quota = e
                .dyn_ref::<web_sys::DomException>()
                .is_some_and(|d| d.name() == "QuotaExceededError" || d.code() == 22);
            if quota {
                Error::new(
                    Code::StorageQuota,
                    format!("localStorage is full: {}", describe(&e)),
                )
            } else {
                unavailable(&e)
            }
        })
    }

    fn remove(&mut self, key: &str) -> Result<()> {
        self.storage.remove_item(key).map_err(|e| unavailable(&e))
    }

    fn keys(&self) -> Result<Vec<String>> {
        let n = self.storage.length().map_err(|e| unavailable(&e))?;
        let mut keys = Vec::with_capacity(n as usize);
        for i in 0..n {
            if let Some(k) = self.storage.key(i).map_err(|e| unavailable(&e))? {
                keys.push(k);
            }
        }
        Ok(keys)
    }
}
