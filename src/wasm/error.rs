//! Errors reach JS as real `Error` objects with a stable `code`, never as strings.

use js_sys::Reflect;
use wasm_bindgen::{JsCast, JsValue};

use crate::error::{Code, Error};

/// Converts a pocketrank error into a JS `Error` named `PocketrankError` with `code`,
/// and `offer` / `field` where the input was wrong.
pub fn to_js(e: Error) -> JsValue {
    let err = js_sys::Error::new(&e.to_string());
    err.set_name("PocketrankError");
    let obj: &JsValue = err.as_ref();
    let _ = Reflect::set(obj, &"code".into(), &e.code.as_str().into());
    if let Some(i) = e.offer {
        let _ = Reflect::set(obj, &"offer".into(), &(i as f64).into());
    }
    if let Some(f) = &e.field {
        let _ = Reflect::set(obj, &"field".into(), &f.as_str().into());
    }
    err.unchecked_into()
}

/// An error of `code` as a JS `Error`.
pub fn js_error(code: Code, message: impl Into<String>) -> JsValue {
    to_js(Error::new(code, message))
}

/// The message of a thrown JS value, for wrapping it in one of ours.
pub fn describe(v: &JsValue) -> String {
    if let Some(e) = v.dyn_ref::<js_sys::Error>() {
        let name: String = e.name().into();
        let message: String = e.message().into();
        return format!("{name}: {message}");
    }
    v.as_string().unwrap_or_else(|| "unknown error".into())
}
