//! The report: one POST whose whole body is the offer ID, and nothing else.

use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;
use web_sys::{ReferrerPolicy, RequestCredentials, RequestInit, Response};

use super::error::{describe, js_error};
use crate::error::Code;

#[wasm_bindgen]
extern "C" {
    // The global `fetch` (browsers, workers and Node.js 18+), looked up at call time.
    #[wasm_bindgen(js_name = fetch, catch)]
    fn global_fetch(url: &str, init: &RequestInit) -> Result<js_sys::Promise, JsValue>;
}

/// Refuses a URL that cannot be a report endpoint (empty, too long, control characters).
pub fn check_url(url: &str) -> Result<(), JsValue> {
    if url.is_empty() || url.len() > 2048 || url.chars().any(char::is_control) {
        return Err(js_error(
            Code::ReportInvalidUrl,
            format!("{url:?} is not a usable report URL"),
        ));
    }
    Ok(())
}

/// Resolves after `ms` milliseconds (the global `setTimeout`: a page, a worker or Node.js).
pub async fn sleep(ms: i32) {
    let promise = js_sys::Promise::new(&mut |resolve, _| {
        let set_timeout = js_sys::Reflect::get(&js_sys::global(), &"setTimeout".into())
            .ok()
            .and_then(|f| f.dyn_into::<js_sys::Function>().ok());
        match set_timeout {
            Some(f) => {
                let _ = f.call2(&JsValue::UNDEFINED, &resolve, &ms.into());
            }
            None => {
                let _ = resolve.call0(&JsValue::UNDEFINED);
            }
        }
    });
    let _ = JsFuture::from(promise).await;
}

/// Sends `offer_id` to `url`: `POST`, body = the ID as `text/plain`, `credentials: "omit"`,
/// `referrerPolicy: "no-referrer"`, `keepalive: true`, no custom header, nothing added to
/// the URL. Never retried, never with more data.
pub async fn send(offer_id: &str, url: &str) -> Result<(), JsValue> {
    check_url(url)?;
    let init = RequestInit::new();
    init.set_method("POST");
    init.set_body(&JsValue::from_str(offer_id));
    init.set_credentials(RequestCredentials::Omit);
    init.set_referrer_policy(ReferrerPolicy::NoReferrer);
    // `keepalive` is still behind web-sys's unstable APIs: set it on the plain object.
    js_sys::Reflect::set(&init, &"keepalive".into(), &JsValue::TRUE)?;
    let promise = global_fetch(url, &init).map_err(|e| {
        js_error(
            Code::ReportInvalidUrl,
            format!("the report could not be sent to {url:?}: {}", describe(&e)),
        )
    })?;
    let response = JsFuture::from(promise).await.map_err(|e| {
        let code = if e.dyn_ref::<js_sys::TypeError>().is_some() && describe(&e).contains("URL") {
            Code::ReportInvalidUrl
        } else {
            Code::ReportNetwork
        };
        js_error(
            code,
            format!("the report to {url:?} failed: {}", describe(&e)),
        )
    })?;
    let response: Response = response.unchecked_into();
    if response.ok() {
        Ok(())
    } else {
        Err(js_error(
            Code::ReportRejected,
            format!("the report endpoint {url:?} answered {}", response.status()),
        ))
    }
}
