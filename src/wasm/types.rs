//! The TypeScript of the package, generated from the Rust types at compile time.
//!
//! Each interface is declared once, next to nothing else: [`ts_interface!`] names the Rust
//! struct that crosses the boundary, and for each of its fields the JS name and a kind
//! (`string`, `number`, `boolean`, `[kind]`, a named interface, or an explicit TS type with
//! its Rust type). From that one declaration it builds
//!
//! - the TypeScript text, put in the package's `.d.ts` by `typescript_custom_section`, and
//! - a function that is never called but must compile: it takes the Rust struct apart with
//!   an exhaustive pattern (no `..`) and checks every field's Rust type against its kind.
//!
//! So a field added to, removed from or retyped in a Rust struct fails the build until its
//! TypeScript says the same. Closed sets (event kinds, reasons, error codes, storage modes,
//! mechanisms) are string unions built from tables ([`js_union!`]) whose `match` over the core
//! enum is exhaustive, and those tables are the very strings the binding sends and reads.
//! The JS names of the fields are checked against the values the engine really returns by
//! `tests/node.rs` (`every_field_the_engine_returns_is_declared`), and the keys of each `in`
//! interface against the names serde reads (`every_input_interface_declares_exactly_the_keys_the_engine_reads`).

/// Length of the concatenation of `parts` (for [`cat!`]).
pub const fn total_len(parts: &[&str]) -> usize {
    let mut n = 0;
    let mut i = 0;
    while i < parts.len() {
        n += parts[i].len();
        i += 1;
    }
    n
}

/// The concatenation of `parts` as bytes (for [`cat!`]).
pub const fn join<const N: usize>(parts: &[&str]) -> [u8; N] {
    let mut out = [0u8; N];
    let mut o = 0;
    let mut i = 0;
    while i < parts.len() {
        let b = parts[i].as_bytes();
        let mut j = 0;
        while j < b.len() {
            out[o] = b[j];
            o += 1;
            j += 1;
        }
        i += 1;
    }
    out
}

/// Concatenates `&'static str` constants at compile time (`concat!` takes only literals).
macro_rules! cat {
    ($($part:expr),* $(,)?) => {{
        const PARTS: &[&str] = &[$($part),*];
        const BYTES: [u8; $crate::wasm::types::total_len(PARTS)] = $crate::wasm::types::join(PARTS);
        // SAFETY: the bytes are whole `&str`s laid end to end, hence UTF-8.
        const TEXT: &str = unsafe { ::core::str::from_utf8_unchecked(&BYTES) };
        TEXT
    }};
}

/// The TypeScript of a field kind.
macro_rules! ts_kind {
    (string) => {
        "string"
    };
    (number) => {
        "number"
    };
    (boolean) => {
        "boolean"
    };
    ([$k:tt]) => {
        cat!(ts_kind!($k), "[]")
    };
    (($ts:expr => $ty:ty)) => {
        $ts
    };
    ($name:ident) => {
        stringify!($name)
    };
}

/// Checks (at compile time only) that a Rust field fits its kind.
macro_rules! rs_kind {
    (string, $v:expr) => {
        $crate::wasm::types::is_string($v)
    };
    (number, $v:expr) => {
        $crate::wasm::types::is_number($v)
    };
    (boolean, $v:expr) => {{
        let _: &bool = $v;
    }};
    ([$k:tt], $v:expr) => {
        $crate::wasm::types::each($v, |x| rs_kind!($k, x))
    };
    (($ts:expr => $ty:ty), $v:expr) => {{
        let _: &$ty = $v;
    }};
    ($name:ident, $v:expr) => {{
        let _: &$name = $v;
    }};
}

/// The TypeScript of one field: `req` (always there), `opt` (a Rust `Option`: `name?: T | null`
/// for what JS passes in, `name: T | null` for what it gets) or `def` (serde's default when
/// absent: `name?: T`).
macro_rules! ts_field {
    ($dir:ident, $js:literal, req, $k:tt) => {
        cat!($js, ": ", ts_kind!($k))
    };
    (in, $js:literal, opt, $k:tt) => {
        cat!($js, "?: ", ts_kind!($k), " | null")
    };
    (out, $js:literal, opt, $k:tt) => {
        cat!($js, ": ", ts_kind!($k), " | null")
    };
    (in, $js:literal, def, $k:tt) => {
        cat!($js, "?: ", ts_kind!($k))
    };
}

/// Checks (at compile time only) one field against its kind and mode.
macro_rules! rs_field {
    ($v:ident, req, $k:tt) => {
        rs_kind!($k, $v)
    };
    ($v:ident, def, $k:tt) => {
        rs_kind!($k, $v)
    };
    ($v:ident, opt, $k:tt) => {
        $crate::wasm::types::opt($v, |x| rs_kind!($k, x))
    };
}

/// Declares a TypeScript interface for a Rust struct (see the module docs). `in` for values
/// JS passes in, `out` for values JS gets. The interface is a unit struct whose `TS` is the
/// TypeScript and `KEYS` the JS names of its fields; an `in` interface also has `accepted()`,
/// the names serde reads (compared with `KEYS` by `tests/node.rs`).
macro_rules! ts_interface {
    (
        $(#[doc = $doc:literal])*
        $dir:ident $name:ident for $rust:path {
            $(
                $(#[doc = $fdoc:literal])*
                $field:ident $js:literal : $mode:ident $k:tt
            ),* $(,)?
        }
    ) => {
        #[allow(dead_code, clippy::all)]
        const _: () = {
            use $rust as Checked;
            fn check(v: &Checked) {
                let Checked { $($field),* } = v;
                $( rs_field!($field, $mode, $k); )*
            }
        };
        #[doc = concat!("The TypeScript interface `", stringify!($name), "`.")]
        #[derive(Debug)]
        pub struct $name;

        impl $name {
            /// The TypeScript declaration.
            pub const TS: &'static str = cat!(
                "\n/**" $(, $doc, "\n *")* , "/\nexport interface ", stringify!($name), " {\n",
                $(
                    "  /**" $(, $fdoc)* , " */\n  ",
                    ts_field!($dir, $js, $mode, $k), ";\n",
                )*
                "}\n"
            );
            /// The JS names of its fields, in declaration order.
            pub const KEYS: &'static [&'static str] = &[$($js),*];
        }
        ts_accepted!($dir $name for $rust);
    };
}

/// For an `in` interface, the field names that the Rust side's `Deserialize` reads.
macro_rules! ts_accepted {
    (in $name:ident for $rust:path) => {
        impl $name {
            /// The field names serde reads from what JS passes (see [`serde_fields`]).
            pub fn accepted() -> &'static [&'static str] {
                $crate::wasm::types::serde_fields::<$rust>()
            }
        }
    };
    (out $name:ident for $rust:path) => {};
}

/// The field names that the derived `Deserialize` of the struct `T` reads, taken from the
/// derive itself: a deserializer that only asks for a struct and keeps the list it is given.
pub fn serde_fields<T: serde::de::DeserializeOwned>() -> &'static [&'static str] {
    use serde::de::{self, Visitor};
    struct Fields<'a>(&'a mut &'static [&'static str]);
    impl<'de> de::Deserializer<'de> for Fields<'_> {
        type Error = de::value::Error;
        fn deserialize_any<V: Visitor<'de>>(self, _: V) -> Result<V::Value, Self::Error> {
            Err(de::Error::custom("not a struct"))
        }
        fn deserialize_struct<V: Visitor<'de>>(
            self,
            _: &'static str,
            fields: &'static [&'static str],
            _: V,
        ) -> Result<V::Value, Self::Error> {
            *self.0 = fields;
            Err(de::Error::custom("only the field names were wanted"))
        }
        serde::forward_to_deserialize_any! {
            bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf
            option unit unit_struct newtype_struct seq tuple tuple_struct map enum identifier
            ignored_any
        }
    }
    let mut fields: &'static [&'static str] = &[];
    let _ = T::deserialize(Fields(&mut fields));
    fields
}

/// A closed set of strings: the TypeScript union, and the mapping from the core enum (an
/// exhaustive `match`, so a new variant fails the build until it is named here).
macro_rules! js_union {
    (
        $(#[doc = $doc:literal])*
        $name:ident for $core:path { $($variant:ident $(($($field:tt)*))? => $s:literal),* $(,)? }
    ) => {
        $(#[doc = $doc])*
        #[derive(Debug)]
        pub struct $name;

        impl $name {
            /// `export type …` for the `.d.ts`.
            pub const TS: &'static str = cat!(
                "\n/**" $(, $doc)* , " */\nexport type ", stringify!($name), " =" $(, " | \"", $s, "\"")*, ";\n"
            );
            /// Every string of the set.
            pub const ALL: &'static [&'static str] = &[$($s),*];

            /// The JS string of a core value.
            pub fn of(v: &$core) -> &'static str {
                use $core as E;
                match v { $(E::$variant $(($($field)*))? => $s),* }
            }
        }
    };
}

/// A Rust type JS sees as `string`.
pub trait JsString {}
impl JsString for String {}
impl JsString for &str {}

/// A Rust type JS sees as `number`.
pub trait JsNumber {}
impl JsNumber for f64 {}
impl JsNumber for f32 {}
impl JsNumber for u32 {}
impl JsNumber for u64 {}
impl JsNumber for i64 {}
impl JsNumber for usize {}

/// Compile-time check: `v` is seen as a string.
pub fn is_string<T: JsString>(_: &T) {}
/// Compile-time check: `v` is seen as a number.
pub fn is_number<T: JsNumber>(_: &T) {}
/// Compile-time check of every element.
pub fn each<T>(v: &[T], f: impl Fn(&T)) {
    v.iter().for_each(f)
}
/// Compile-time check of an optional value.
pub fn opt<T>(v: &Option<T>, f: impl Fn(&T)) {
    v.iter().for_each(f)
}

/// Length of ` | "a" | "b"` for `parts` (for [`union`]).
pub const fn union_len(parts: &[&str]) -> usize {
    let mut n = 0;
    let mut i = 0;
    while i < parts.len() {
        n += parts[i].len() + 5;
        i += 1;
    }
    n
}

/// ` | "a" | "b"` for `parts`: a TypeScript union of string literals (leading `|` is valid).
pub const fn union<const N: usize>(parts: &[&str]) -> [u8; N] {
    let mut out = [0u8; N];
    let mut o = 0;
    let mut i = 0;
    while i < parts.len() {
        let b = parts[i].as_bytes();
        out[o] = b' ';
        out[o + 1] = b'|';
        out[o + 2] = b' ';
        out[o + 3] = b'"';
        o += 4;
        let mut j = 0;
        while j < b.len() {
            out[o] = b[j];
            o += 1;
            j += 1;
        }
        out[o] = b'"';
        o += 1;
        i += 1;
    }
    out
}

const CODE_NAMES: [&str; crate::error::Code::ALL.len()] = {
    let mut names = [""; crate::error::Code::ALL.len()];
    let mut i = 0;
    while i < names.len() {
        names[i] = crate::error::Code::ALL[i].as_str();
        i += 1;
    }
    names
};

/// The error codes' union, read from [`crate::error::Code::ALL`] itself (no second list).
pub const ERROR_CODE_UNION: &str = {
    const BYTES: [u8; union_len(&CODE_NAMES)] = union(&CODE_NAMES);
    // SAFETY: whole `&str`s and ASCII punctuation.
    unsafe { ::core::str::from_utf8_unchecked(&BYTES) }
};
