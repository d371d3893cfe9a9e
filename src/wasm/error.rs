//! Errors reach JS as instances of the package's exported `PocketrankError` class (a real
//! `Error` subclass) with a stable `code`, never as strings.

use js_sys::Reflect;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;

use super::types::ERROR_CODE_UNION;
use crate::error::{Code, Error};

#[wasm_bindgen(inline_js = "export class PocketrankError extends Error {
  constructor(code, message) {
    super(message);
    this.name = 'PocketrankError';
    this.code = code;
  }
}")]
extern "C" {
    /// The class of every error pocketrank throws (exported by the package, so that
    /// `e instanceof PocketrankError` works).
    #[wasm_bindgen(extends = js_sys::Error, reexport)]
    #[derive(Debug)]
    pub type PocketrankError;

    #[wasm_bindgen(constructor)]
    fn new(code: &str, message: &str) -> PocketrankError;
}

/// The TypeScript of the `PocketrankError` class; `tests/node.rs` compares its members with a
/// real error's.
pub const TS_ERROR: &str = cat!(
    "\n/** Every stable error code (the string form of the Rust `pocketrank::error::Code`). */\nexport type ErrorCode =",
    ERROR_CODE_UNION,
    ";\n
/**
 * Every error pocketrank throws is an instance of this class: a real `Error` with a stable
 * `code`, and where the input was wrong the offer (its index in `offers`), the field, the
 * limit that was passed and the value found.
 */
export class PocketrankError extends Error {
  private constructor();
  readonly name: \"PocketrankError\";
  /** The stable code, for example `catalog.invalid_id`. */
  readonly code: ErrorCode;
  /** Index of the offer at fault in the catalog's `offers`. */
  readonly offer?: number;
  /** The field at fault, for example `tags` or `caps.perDay`. */
  readonly field?: string;
  /** The limit that was passed, for example 50000 offers. */
  readonly limit?: number;
  /** The value found where a limit or a range applies. */
  readonly value?: number;
}
"
);

#[wasm_bindgen(typescript_custom_section)]
const TS_ERROR_SECTION: &'static str = TS_ERROR;

/// Converts a pocketrank error into a `PocketrankError` with `code`, and `offer`, `field`,
/// `limit` and `value` where they apply.
pub fn to_js(e: Error) -> JsValue {
    let err = PocketrankError::new(e.code.as_str(), &e.to_string());
    let obj: &JsValue = err.as_ref();
    let set = |key: &str, v: JsValue| {
        let _ = Reflect::set(obj, &key.into(), &v);
    };
    if let Some(i) = e.offer {
        set("offer", (i as f64).into());
    }
    if let Some(f) = &e.field {
        set("field", f.as_str().into());
    }
    if let Some(l) = e.limit {
        set("limit", l.into());
    }
    if let Some(v) = e.value {
        set("value", v.into());
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
