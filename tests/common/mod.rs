//! Helpers shared by the native integration tests.
#![allow(dead_code)]

/// A store shared between "tabs" (engines), like one origin's localStorage.
pub use pocketrank::store::SharedMemoryStore as Shared;
