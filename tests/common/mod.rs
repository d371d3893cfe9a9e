//! Helpers shared by the native integration tests.
#![allow(dead_code)]

use pocketrank::store::{MemoryStore, ProfileStore};
use std::cell::RefCell;
use std::rc::Rc;

/// A store shared between "tabs" (engines), like one origin's localStorage.
#[derive(Clone, Default)]
pub struct Shared(pub Rc<RefCell<MemoryStore>>);
impl ProfileStore for Shared {
    fn get(&self, key: &str) -> pocketrank::Result<Option<String>> {
        self.0.borrow().get(key)
    }
    fn set(&mut self, key: &str, value: &str) -> pocketrank::Result<()> {
        self.0.borrow_mut().set(key, value)
    }
    fn remove(&mut self, key: &str) -> pocketrank::Result<()> {
        self.0.borrow_mut().remove(key)
    }
    fn keys(&self) -> pocketrank::Result<Vec<String>> {
        self.0.borrow().keys()
    }
}
