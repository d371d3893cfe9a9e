//! What the privacy safeguards remember on the device, under `pocketrank:<namespace>:privacy`:
//! the ε spent (the budget), the ledger of every report sent, the catalogs personalized in
//! the window (the catalog guard), and the namespaces the shopper added to the sensitive list.
//!
//! It is kept apart from the profile: it is about what left the device, not about the
//! shopper's interests, and an import of a profile must not reset it. Several tabs write it:
//! every entry carries an ID unique to the tab that made it, and two copies merge as sets, so
//! no tab's report is lost from the ledger or from the budget.

use serde::{Deserialize, Serialize};

use crate::error::{Code, Error, Result};
use crate::privacy::{Budget, PrivacySettings};
use crate::Millis;

/// Version of the stored form.
pub const STATE_VERSION: u32 = 1;
/// Most reports kept in the ledger (the latest).
pub const MAX_LEDGER: usize = 200;
/// Most namespaces a shopper may add to the sensitive list.
pub const MAX_SHOPPER_SENSITIVE: usize = 32;
/// Longest endpoint URL kept in the ledger, in bytes.
pub const MAX_ENDPOINT_LEN: usize = 2048;
/// Longest report body kept in the ledger, in bytes (a body is an offer ID).
pub const MAX_BODY_LEN: usize = 1024;
/// Most spends kept; beyond it the oldest two are merged into one (see [`SafeguardState::fit`]).
pub const MAX_SPENDS: usize = 512;
/// Most catalogs remembered (the most a site may set as `catalogsPerWeek`); the oldest go first.
pub const MAX_CATALOGS: usize = 10_000;
/// Most answers remembered per window; the oldest go first (a question asked again after its
/// answer was forgotten is a new question, and costs its bits again).
pub const MAX_ANSWERS: usize = 256;
/// Most offers in one remembered answer (an answer of more is not remembered).
pub const MAX_ANSWER_SLOTS: usize = 64;
/// Most spends or catalogs a stored record may hold and still be read (and trimmed to
/// [`MAX_SPENDS`] and [`MAX_CATALOGS`]): the limit of 0.1.0, which wrote up to it.
const OLD_MAX_ENTRIES: usize = 100_000;

/// The personalized answer given to a question (exact reports): asked again in the window,
/// the question gets the same answer, which says nothing new.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Answer {
    /// The question ([`crate::rank::Question::key`]).
    pub q: u64,
    /// When it was first answered.
    pub t: Millis,
    /// The offers chosen, in order, with why: `[offer ID, reason]`.
    pub a: Vec<(String, String)>,
    /// The bits spend that paid for it (0: none recorded, as in records of 0.1).
    #[serde(default)]
    pub s: u64,
}

/// `text` cut to at most `max` bytes, at a character boundary: what the ledger keeps of an
/// endpoint or a body, so that it always passes [`SafeguardState::decode`]'s limits.
pub fn clip(text: &str, max: usize) -> String {
    let mut end = text.len().min(max);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    text[..end].to_string()
}

/// How a report's body was chosen.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Mechanism {
    /// The offer shown, exactly (the default).
    Exact,
    /// Randomized response over the whole catalog.
    Noised,
    /// The offer shown, itself drawn by the exponential mechanism.
    PrivateChoice,
}

impl Mechanism {
    /// The name used in the JS API and on "Your data".
    pub fn as_str(self) -> &'static str {
        match self {
            Mechanism::Exact => "exact",
            Mechanism::Noised => "noised",
            Mechanism::PrivateChoice => "private-choice",
        }
    }
}

/// One report that left the device.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LedgerEntry {
    /// Unique to the tab and the report.
    pub id: u64,
    /// When it was sent.
    pub t: Millis,
    /// Where it was sent.
    pub url: String,
    /// The whole body, exactly.
    pub body: String,
    /// How the body was chosen.
    pub m: Mechanism,
    /// ε spent for it (none for an exact report: it is not differentially private).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub e: Option<f64>,
}

impl LedgerEntry {
    /// The entry of a report of `body` to `url`, both clipped to what the ledger keeps
    /// ([`MAX_ENDPOINT_LEN`], [`MAX_BODY_LEN`] bytes).
    pub fn new(id: u64, t: Millis, url: &str, body: &str, m: Mechanism, e: Option<f64>) -> Self {
        LedgerEntry {
            id,
            t,
            url: clip(url, MAX_ENDPOINT_LEN),
            body: clip(body, MAX_BODY_LEN),
            m,
            e,
        }
    }
}

/// A catalog that was personalized, and when first in the window.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SeenCatalog {
    /// The catalog's content hash.
    pub h: u64,
    /// First personalized at.
    pub t: Millis,
}

/// Why a decision was not personal although the profile could have made it so.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Guard {
    /// The catalog has fewer offers than `min_offers`.
    CatalogTooSmall,
    /// `catalogs_per_window` other catalogs were personalized in the window already.
    TooManyCatalogs,
    /// Private choice, and the budget of the window is spent.
    BudgetSpent,
    /// Exact reports, and the bits of the window are spent (a new question would exceed them).
    BitsSpent,
    /// What a personal decision spends could not be stored (a full or unwritable store, a
    /// record of a newer version): the next page would not count it.
    Unrecorded,
}

impl Guard {
    /// Its stable code.
    pub fn code(self) -> Code {
        match self {
            Guard::CatalogTooSmall => Code::PrivacyCatalogTooSmall,
            Guard::TooManyCatalogs => Code::PrivacyTooManyCatalogs,
            Guard::BudgetSpent => Code::PrivacyBudgetSpent,
            Guard::BitsSpent => Code::PrivacyBitsSpent,
            Guard::Unrecorded => Code::PrivacyUnrecorded,
        }
    }
}

/// Everything the safeguards remember.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SafeguardState {
    /// Version of the stored form.
    pub v: u32,
    /// ε spent, inside the window.
    #[serde(default)]
    pub spent: Budget,
    /// Reports sent, the latest [`MAX_LEDGER`], oldest first.
    #[serde(default)]
    pub ledger: Vec<LedgerEntry>,
    /// Catalogs personalized inside the window.
    #[serde(default)]
    pub catalogs: Vec<SeenCatalog>,
    /// Namespaces the shopper added to the sensitive list.
    #[serde(default)]
    pub sensitive: Vec<String>,
    /// When the shopper last changed that list (the latest change wins between tabs).
    #[serde(default)]
    pub sensitive_t: Millis,
    /// Bits spent by exact reports' personalized answers, inside the window.
    #[serde(default)]
    pub bits: Budget,
    /// The personalized answers given in the window, by question.
    #[serde(default)]
    pub answers: Vec<Answer>,
    /// When the shopper last took something out of the profile (an interest, a product, a
    /// namespace made sensitive, an import): answers given before it are void in every tab,
    /// so that nothing picked for what was forgotten is shown again.
    #[serde(default)]
    pub forgot_t: Millis,
}

fn invalid(what: impl std::fmt::Display) -> Error {
    Error::new(
        Code::ProfileInvalid,
        format!("the stored privacy record cannot be read: {what}"),
    )
}

/// Checks a sensitive namespace, lowercased: the characters and length of a storage
/// namespace ([`crate::store::check_namespace`]).
pub fn check_sensitive(namespace: &str) -> Result<String> {
    let ns = namespace.trim().to_ascii_lowercase();
    crate::store::check_namespace(&ns).map_err(|_| {
        Error::at_field(
            Code::OptionsInvalid,
            "sensitive",
            format!("{namespace:?} is not 1–64 characters of a-z 0-9 . _ -"),
        )
    })?;
    Ok(ns)
}

impl SafeguardState {
    /// An empty state.
    pub fn new() -> SafeguardState {
        SafeguardState {
            v: STATE_VERSION,
            ..SafeguardState::default()
        }
    }

    /// The stored form.
    pub fn encode(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }

    /// Reads the stored form: `profile.newer_version` for a newer one, `profile.invalid` for
    /// anything that is not a state this version wrote.
    pub fn decode(text: &str) -> Result<SafeguardState> {
        #[derive(Deserialize)]
        struct Version {
            v: u32,
        }
        let version: Version = serde_json::from_str(text).map_err(invalid)?;
        if version.v > STATE_VERSION {
            return Err(Error::new(
                Code::ProfileNewerVersion,
                format!(
                    "the stored privacy record is of version {} (this library reads {STATE_VERSION})",
                    version.v
                ),
            ));
        }
        let s: SafeguardState = serde_json::from_str(text).map_err(invalid)?;
        if s.v != STATE_VERSION {
            return Err(invalid(format!("version {}", s.v)));
        }
        // 0.1.0 kept up to OLD_MAX_ENTRIES spends and catalogs: read them, then trim as the
        // writer does ([`SafeguardState::fit`]), never refuse them.
        if s.spent.spent.len() > OLD_MAX_ENTRIES
            || s.bits.spent.len() > OLD_MAX_ENTRIES
            || s.catalogs.len() > OLD_MAX_ENTRIES
            || s.ledger.len() > MAX_LEDGER
            || s.answers.len() > MAX_ANSWERS
            || s.answers.iter().any(|a| {
                a.a.len() > MAX_ANSWER_SLOTS
                    || a.a
                        .iter()
                        .any(|(id, r)| crate::catalog::check_label(id).is_err() || r.len() > 16)
            })
        {
            return Err(invalid("too many entries"));
        }
        if s.spent
            .spent
            .iter()
            .chain(&s.bits.spent)
            .any(|x| !x.e.is_finite() || x.e < 0.0)
            || s.ledger
                .iter()
                .any(|x| x.e.is_some_and(|e| !e.is_finite() || e < 0.0))
        {
            return Err(invalid("a spent ε is not a non-negative number"));
        }
        if s.ledger
            .iter()
            .any(|x| x.url.len() > MAX_ENDPOINT_LEN || x.body.len() > MAX_BODY_LEN)
        {
            return Err(invalid("a ledger entry is too long"));
        }
        if s.sensitive.len() > MAX_SHOPPER_SENSITIVE
            || s.sensitive
                .iter()
                .any(|n| check_sensitive(n).ok().as_deref() != Some(n.as_str()))
        {
            return Err(invalid("the sensitive list"));
        }
        let mut s = s;
        s.fit();
        Ok(s)
    }

    /// Adds what `other` has and this one lacks (entries by ID, catalogs by hash); the
    /// later sensitive list wins. Whether anything changed.
    pub fn merge(&mut self, other: &SafeguardState) -> bool {
        let mut changed = self.spent.merge(&other.spent);
        changed |= self.bits.merge(&other.bits);
        for a in &other.answers {
            match self.answers.iter_mut().find(|x| x.q == a.q) {
                // Two answers to one question: the later one (asked afresh on a later day).
                Some(x) if x.t < a.t => {
                    *x = a.clone();
                    changed = true;
                }
                Some(_) => {}
                None => {
                    self.answers.push(a.clone());
                    changed = true;
                }
            }
        }
        for l in &other.ledger {
            if !self.ledger.iter().any(|x| x.id == l.id) {
                self.ledger.push(l.clone());
                changed = true;
            }
        }
        if changed {
            crate::sort::sort_by_key(&mut self.ledger, |l| (l.t, l.id));
        }
        for c in &other.catalogs {
            match self.catalogs.iter_mut().find(|x| x.h == c.h) {
                Some(x) if c.t < x.t => {
                    x.t = c.t;
                    changed = true;
                }
                Some(_) => {}
                None => {
                    self.catalogs.push(c.clone());
                    changed = true;
                }
            }
        }
        if other.sensitive_t > self.sensitive_t {
            self.sensitive = other.sensitive.clone();
            self.sensitive_t = other.sensitive_t;
            changed = true;
        }
        if other.forgot_t > self.forgot_t {
            self.forgot_t = other.forgot_t;
            changed = true;
        }
        let forgot = self.forgot_t;
        self.answers.retain(|a| a.t >= forgot);
        changed
    }

    /// Voids every answer given so far (the shopper took something out of the profile).
    pub fn forget_answers(&mut self, now: Millis) {
        self.forgot_t = now.max(self.forgot_t.saturating_add(1));
        self.answers.clear();
    }

    /// Drops what left the window, then keeps each list within its bound ([`SafeguardState::fit`]).
    pub fn prune(&mut self, now: Millis, settings: &PrivacySettings) {
        self.spent.prune(now, settings);
        self.bits.prune(now, settings);
        self.catalogs.retain(|c| settings.in_window(c.t, now));
        self.answers.retain(|a| settings.in_window(a.t, now));
        self.fit();
    }

    /// The answer already given to question `q` in the window ending at `now`.
    pub fn answer(&self, q: u64, now: Millis, settings: &PrivacySettings) -> Option<&Answer> {
        self.answers
            .iter()
            .find(|a| a.q == q && settings.in_window(a.t, now))
    }

    /// Keeps every list within the bound [`SafeguardState::decode`] checks, whatever added to
    /// it (a report, a merge with another tab's copy, a clock set back): the latest
    /// [`MAX_LEDGER`] reports and [`MAX_CATALOGS`] catalogs; beyond [`MAX_SPENDS`] spends the
    /// two oldest become one, at the later time and with their sum, which can only count
    /// more ε as spent for longer, never less. Runs before every write.
    pub fn fit(&mut self) {
        if self.ledger.len() > MAX_LEDGER {
            crate::sort::sort_by_key(&mut self.ledger, |l| (l.t, l.id));
            let drop = self.ledger.len() - MAX_LEDGER;
            self.ledger.drain(..drop);
        }
        if self.catalogs.len() > MAX_CATALOGS {
            crate::sort::sort_by_key(&mut self.catalogs, |c| (c.t, c.h));
            let drop = self.catalogs.len() - MAX_CATALOGS;
            self.catalogs.drain(..drop);
        }
        if self.answers.len() > MAX_ANSWERS {
            crate::sort::sort_by_key(&mut self.answers, |a| (a.t, a.q));
            let drop = self.answers.len() - MAX_ANSWERS;
            self.answers.drain(..drop);
        }
        for spends in [&mut self.spent.spent, &mut self.bits.spent] {
            if spends.len() > MAX_SPENDS {
                crate::sort::sort_by_key(spends, |x| (x.t, x.id));
                while spends.len() > MAX_SPENDS {
                    let first = spends.remove(0);
                    spends[0].e += first.e;
                }
            }
        }
    }

    /// Whether the catalog of content hash `hash` may be personalized at `now`: it was
    /// already in the window, or fewer than `catalogs_per_window` others were. Registers it.
    pub fn admit_catalog(&mut self, hash: u64, now: Millis, settings: &PrivacySettings) -> bool {
        self.prune(now, settings);
        if self.catalogs.iter().any(|c| c.h == hash) {
            return true;
        }
        if self.catalogs.len() >= settings.catalogs_per_window {
            return false;
        }
        self.catalogs.push(SeenCatalog { h: hash, t: now });
        true
    }

    /// Remembers the answer to a question (the first one, if two tabs answered it).
    /// A newer answer to the same question (asked afresh on a later day) replaces it.
    pub fn remember(&mut self, answer: Answer) {
        if answer.a.len() > MAX_ANSWER_SLOTS {
            // More than a stored record may hold: asked again, it is a new question.
            return;
        }
        match self.answers.iter_mut().find(|a| a.q == answer.q) {
            Some(a) if a.t < answer.t => *a = answer,
            Some(_) => {}
            None => {
                self.answers.push(answer);
                self.fit();
            }
        }
    }

    /// Appends a report to the ledger. A full ledger drops its oldest entry other than this
    /// one: a report sent while the device clock is set back is still listed.
    pub fn log(&mut self, entry: LedgerEntry) {
        if self.ledger.len() >= MAX_LEDGER {
            crate::sort::sort_by_key(&mut self.ledger, |l| (l.t, l.id));
            let drop = self.ledger.len() + 1 - MAX_LEDGER;
            self.ledger.drain(..drop);
        }
        self.ledger.push(entry);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn two_copies_merge_without_losing_a_report() {
        let s = PrivacySettings::default();
        let mut a = SafeguardState::new();
        let mut b = SafeguardState::new();
        assert!(a.spent.try_spend(1, 1.0, 10, &s));
        assert!(b.spent.try_spend(2, 1.0, 20, &s));
        for (st, id) in [(&mut a, 1), (&mut b, 2)] {
            st.log(LedgerEntry {
                id,
                t: id as Millis * 10,
                url: "/r".into(),
                body: format!("O{id}"),
                m: Mechanism::Noised,
                e: Some(1.0),
            });
        }
        assert!(a.merge(&b));
        assert!(!a.merge(&b), "merging twice changes nothing");
        assert_eq!(a.spent.spent_at(30, &s), 2.0);
        let bodies: Vec<&str> = a.ledger.iter().map(|l| l.body.as_str()).collect();
        assert_eq!(bodies, ["O1", "O2"]);
        let back = SafeguardState::decode(&a.encode()).unwrap();
        assert_eq!(back, a);
    }

    #[test]
    fn the_catalog_guard_admits_n_catalogs_per_window() {
        let s = PrivacySettings {
            catalogs_per_window: 2,
            ..PrivacySettings::default()
        };
        let mut st = SafeguardState::new();
        assert!(st.admit_catalog(1, 0, &s));
        assert!(st.admit_catalog(2, 1, &s));
        assert!(
            st.admit_catalog(1, 2, &s),
            "a catalog already admitted stays"
        );
        assert!(!st.admit_catalog(3, 3, &s));
        assert!(
            st.admit_catalog(3, s.window_ms + 1, &s),
            "the first left the window"
        );
    }

    #[test]
    fn unreadable_or_newer_states_are_refused_with_their_code() {
        assert_eq!(
            SafeguardState::decode("{\"v\":9}").unwrap_err().code,
            Code::ProfileNewerVersion
        );
        for bad in [
            "",
            "[]",
            "{\"v\":1,\"spent\":[{\"id\":1,\"t\":0,\"e\":-1}]}",
            "{\"v\":1,\"sensitive\":[\"Not ok\"]}",
        ] {
            assert_eq!(
                SafeguardState::decode(bad).unwrap_err().code,
                Code::ProfileInvalid,
                "{bad}"
            );
        }
    }
}
