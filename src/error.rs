//! One error type for the whole library, with stable codes.
//!
//! Every refusal carries a [`Code`] whose string form (`catalog.invalid_id`, …) never
//! changes between releases, a message that says what was wrong, and where it applies
//! the offer index and field at fault. The browser binding turns this into a JS `Error`
//! with `code`, `offer` and `field` properties.

use std::fmt;

/// Result type of every fallible pocketrank operation.
pub type Result<T> = std::result::Result<T, Error>;

macro_rules! codes {
    ($($variant:ident => $text:literal, $doc:literal;)*) => {
        /// Stable error codes. Their string forms are part of the public contract.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum Code {
            $(#[doc = $doc] $variant,)*
        }

        impl Code {
            /// Every code, in documentation order.
            pub const ALL: &'static [Code] = &[$(Code::$variant,)*];

            /// The stable string form, for example `catalog.invalid_json`. A `const fn`, so
            /// that the package's TypeScript union of codes is built from this very list.
            pub const fn as_str(self) -> &'static str {
                match self {
                    $(Code::$variant => $text,)*
                }
            }
        }
    };
}

codes! {
    CatalogInvalidJson => "catalog.invalid_json", "The catalog is not well-formed JSON.";
    CatalogInvalidField => "catalog.invalid_field", "A field is missing or has the wrong type.";
    CatalogUnsupportedVersion => "catalog.unsupported_version", "The catalog's `version` is not one this library reads.";
    CatalogTooLarge => "catalog.too_large", "The catalog is larger than `MAX_CATALOG_BYTES`.";
    CatalogEmpty => "catalog.empty", "The catalog has no offers.";
    CatalogTooManyOffers => "catalog.too_many_offers", "More offers than `MAX_OFFERS`.";
    CatalogTooManyTags => "catalog.too_many_tags", "An offer has more tags, items or rules than its limit.";
    CatalogInvalidId => "catalog.invalid_id", "An offer ID (or tag, or item) is empty, too long or has characters outside the allowed set.";
    CatalogDuplicateId => "catalog.duplicate_id", "Two offers share one ID.";
    CatalogInvalidWeight => "catalog.invalid_weight", "A weight, boost or popularity is out of its range.";
    CatalogInvalidDate => "catalog.invalid_date", "A date is not an RFC 3339 timestamp.";
    CatalogInvalidWindow => "catalog.invalid_window", "An offer's `start` is after its `end`.";
    CatalogInvalidCap => "catalog.invalid_cap", "A cap is negative, fractional or too large.";
    CatalogUnknownFallback => "catalog.unknown_fallback", "`fallback` names no offer of the catalog.";
    CatalogInvalidBinary => "catalog.invalid_binary", "A binary catalog is truncated, corrupt or of an unknown format version.";
    EventInvalid => "event.invalid", "An event is not an object of the documented shape.";
    EventUnknownKind => "event.unknown_kind", "An event's `kind` is not one of the documented kinds.";
    EventEmptyTags => "event.empty_tags", "An event has no tags (and no search terms) to learn from.";
    EventTooLong => "event.too_long", "A tag, item, offer ID or search text is longer than allowed, or there are too many tags.";
    EventInvalidTag => "event.invalid_tag", "A tag or ID is empty or contains control characters.";
    ProfileInvalid => "profile.invalid", "A stored or imported profile cannot be read.";
    ProfileNewerVersion => "profile.newer_version", "A stored or imported profile was written by a newer version of pocketrank.";
    OptionsInvalid => "options.invalid", "An option is out of range or of the wrong type.";
    StorageUnavailable => "storage.unavailable", "`localStorage` cannot be used (disabled, sandboxed, blocked).";
    StorageQuota => "storage.quota", "`localStorage` refused a write because its quota is exhausted.";
    ReportInvalidUrl => "report.invalid_url", "The report URL cannot be used.";
    ReportNetwork => "report.network", "The report request failed before a response arrived.";
    ReportRejected => "report.rejected", "The report endpoint answered with a non-2xx status.";
    PrivacyCatalogTooSmall => "privacy.catalog_too_small", "Not personalized: the catalog has fewer offers than `privacy.minOffers`.";
    PrivacyTooManyCatalogs => "privacy.too_many_catalogs", "Not personalized: `privacy.catalogsPerWeek` other catalogs were personalized this week.";
    PrivacyBudgetSpent => "privacy.budget_spent", "The week's privacy budget is spent: no report is sent (private choice: the choice is not personal).";
    PrivacyBitsSpent => "privacy.bits_spent", "The week's bound on what exact reports may say about the profile is reached: new questions are answered without the profile until it frees.";
    PrivacyUnrecorded => "privacy.unrecorded", "Not personalized: what the decision would spend of the week's privacy bound could not be stored (storage full or written by a newer version), so the next page would not count it.";
}

impl fmt::Display for Code {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A refused input or a failed operation: what, why, and where.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{}: {message}", code.as_str())]
pub struct Error {
    /// The stable code.
    pub code: Code,
    /// What was wrong, in words, including where.
    pub message: String,
    /// The index of the offer at fault in the catalog's `offers` array, if any.
    pub offer: Option<usize>,
    /// The field at fault (for example `tags`, `caps.perDay`), if any.
    pub field: Option<String>,
    /// The limit that was passed (for example the most offers a catalog may have), if any.
    pub limit: Option<f64>,
    /// The value found where a limit or range applies, if any.
    pub value: Option<f64>,
}

impl Error {
    /// An error with a code and a message.
    pub fn new(code: Code, message: impl Into<String>) -> Self {
        Error {
            code,
            message: message.into(),
            offer: None,
            field: None,
            limit: None,
            value: None,
        }
    }

    /// An error about one field of one offer; the message names both.
    pub fn at_offer(code: Code, offer: usize, field: &str, reason: impl fmt::Display) -> Self {
        Error {
            code,
            message: format!("offers[{offer}].{field}: {reason}"),
            offer: Some(offer),
            field: Some(field.to_string()),
            limit: None,
            value: None,
        }
    }

    /// An error about one top-level field.
    pub fn at_field(code: Code, field: &str, reason: impl fmt::Display) -> Self {
        Error {
            code,
            message: format!("{field}: {reason}"),
            offer: None,
            field: Some(field.to_string()),
            limit: None,
            value: None,
        }
    }

    /// The same error, saying which limit was passed and by what value (both reach JS as
    /// the error's `limit` and `value`).
    pub fn with_limit(mut self, limit: impl Into<f64>, value: impl Into<f64>) -> Self {
        self.limit = Some(limit.into());
        self.value = Some(value.into());
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_unique_and_namespaced() {
        let mut seen = std::collections::HashSet::new();
        for code in Code::ALL {
            let s = code.as_str();
            assert!(seen.insert(s), "duplicate code {s}");
            let (area, name) = s.split_once('.').expect("area.name");
            assert!(
                ["catalog", "event", "profile", "options", "storage", "report", "privacy"]
                    .contains(&area)
            );
            assert!(name.chars().all(|c| c.is_ascii_lowercase() || c == '_'));
        }
    }

    #[test]
    fn offer_errors_name_the_offer_and_field() {
        let e = Error::at_offer(Code::CatalogInvalidId, 3, "id", "must not be empty");
        assert_eq!(
            e.to_string(),
            "catalog.invalid_id: offers[3].id: must not be empty"
        );
        assert_eq!(e.offer, Some(3));
        assert_eq!(e.field.as_deref(), Some("id"));
    }
}
