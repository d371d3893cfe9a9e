//! "Why this offer?": the explanation of a decision in the shopper's words, built on the device.
//!
//! It is made in two steps so that what the shopper recognises can be filled in last: an
//! [`Explanation`] says which of the shopper's interests and products counted and what the
//! shopper did about them; [`Explanation::render`] writes the sentence, naming each product and
//! tag with a label when one is known (from the catalog's creative or from the page), never
//! with its raw ID.

use super::{plain_tag, Contribution, Decision, Factor, Reason};
use crate::catalog::Catalog;
use crate::profile::Profile;

/// What the shopper did about an interest or a product, strongest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Did {
    Bought,
    Carted,
    Searched,
    Looked(u32),
    /// An interest without events (imported, or decayed counts).
    Unknown,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Because {
    Interest(String, Did),
    Item(String, Did),
    /// A product the shopper had recently, which shoppers often had with this offer.
    Related(String),
    Context(String),
}

/// The reasons of one decision, before they are put into words.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Explanation {
    reason: Reason,
    because: Vec<Because>,
}

/// What the shopper did about the interest or product of a term (`None` for other terms).
fn did(factor: &Factor, profile: &Profile) -> Option<Did> {
    Some(match factor {
        Factor::Interest(tag) => match profile.interests.get(tag).map(|i| i.counts) {
            Some(n) if n[2] > 0 => Did::Bought,
            Some(n) if n[1] > 0 => Did::Carted,
            Some(n) if n[3] > 0 && n[0] == 0 => Did::Searched,
            Some(n) if n[0] + n[4] > 0 => Did::Looked(n[0] + n[4]),
            _ => Did::Unknown,
        },
        Factor::Item(item) => match profile.items.get(item).map(|i| i.counts) {
            Some(n) if n[2] > 0 => Did::Bought,
            Some(n) if n[1] > 0 => Did::Carted,
            Some(n) if n[0] > 0 => Did::Looked(n[0]),
            _ => Did::Unknown,
        },
        _ => return None,
    })
}

/// The reason a term gives, if any (popularity and boost give none).
fn because(factor: &Factor, did: Option<Did>) -> Option<Because> {
    let did = did.unwrap_or(Did::Unknown);
    match factor {
        Factor::Interest(tag) => Some(Because::Interest(tag.clone(), did)),
        Factor::Item(item) => Some(Because::Item(item.clone(), did)),
        Factor::Related(item) => Some(Because::Related(item.clone())),
        Factor::Context(tag) => Some(Because::Context(tag.clone())),
        Factor::Popularity | Factor::Boost => None,
    }
}

/// The reasons of `decision`, read from the profile it was chosen with.
pub fn explanation(decision: &Decision, profile: &Profile) -> Explanation {
    let because = decision
        .contributions
        .iter()
        .filter_map(|c| because(&c.factor, did(&c.factor, profile)))
        .collect();
    Explanation {
        reason: decision.reason,
        because,
    }
}

/// The explanation in plain words, naming each product and tag by its label in `catalog`
/// ([`Catalog::label`]: the offer's own creative first, then any offer's), and describing the
/// ones without a label ("a product in this offer", "items in this category").
pub fn explain(decision: &Decision, profile: &Profile, catalog: &Catalog) -> String {
    explanation(decision, profile).render(&|k| catalog.label(decision.offer, k))
}

/// How a tag without a label is described: (the items it covers, the thing itself), by its
/// namespace; never by its value, which in a real catalog is often a code (`brand:b-1043`).
/// A search word is the shopper's own, so it is said as typed.
fn unlabeled(tag: &str) -> (String, String) {
    match tag.split_once(':').map(|(ns, _)| ns) {
        Some("search") => (plain_tag(tag).to_string(), plain_tag(tag).to_string()),
        Some("category") => ("items in this category".into(), "this category".into()),
        Some("brand") => ("items of this brand".into(), "this brand".into()),
        _ => ("items like these".into(), "this kind of product".into()),
    }
}

impl Explanation {
    /// The product IDs and tags that [`Explanation::render`] may ask a label for.
    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.because.iter().map(|b| match b {
            Because::Interest(k, _)
            | Because::Item(k, _)
            | Because::Related(k)
            | Because::Context(k) => k.as_str(),
        })
    }

    /// Writes a decision's terms and what the shopper did about each, compactly, for
    /// [`Explanation::read_compact`]: what a decision handed to JavaScript keeps, so that its
    /// sentence and its terms are written out only when a page asks (most decisions are shown,
    /// reported and dropped without either). The reason's index in [`Reason::ALL`], then per
    /// term a kind letter, the amount's `f32` bits in 8 hex digits, what the shopper did (a
    /// letter, with the count of looks, or `-`), `,`, the key's length in bytes, `:`, the key.
    pub fn write_compact(decision: &Decision, profile: &Profile, out: &mut String) {
        const HEX: &[u8; 16] = b"0123456789abcdef";
        let reason = Reason::ALL.iter().position(|r| *r == decision.reason);
        out.push(char::from(b'0' + reason.unwrap_or(0) as u8));
        let mut digits = itoa::Buffer::new();
        for c in &decision.contributions {
            let (kind, key) = match &c.factor {
                Factor::Interest(k) => ('i', k.as_str()),
                Factor::Item(k) => ('t', k.as_str()),
                Factor::Related(k) => ('r', k.as_str()),
                Factor::Context(k) => ('c', k.as_str()),
                Factor::Popularity => ('p', ""),
                Factor::Boost => ('b', ""),
            };
            out.push(kind);
            let bits = c.amount.to_bits();
            for shift in (0..8).rev() {
                out.push(char::from(HEX[(bits >> (shift * 4)) as usize & 15]));
            }
            match did(&c.factor, profile) {
                Some(Did::Looked(n)) => {
                    out.push('L');
                    out.push_str(digits.format(n));
                }
                Some(Did::Bought) => out.push('B'),
                Some(Did::Carted) => out.push('C'),
                Some(Did::Searched) => out.push('S'),
                Some(Did::Unknown) => out.push('U'),
                None => out.push('-'),
            }
            out.push(',');
            out.push_str(digits.format(key.len()));
            out.push(':');
            out.push_str(key);
        }
    }

    /// Reads what [`Explanation::write_compact`] wrote: the decision's terms and its
    /// explanation; `None` for anything else.
    pub fn read_compact(text: &str) -> Option<(Vec<Contribution>, Explanation)> {
        /// A decimal number up to the byte `end` (consumed).
        fn number(rest: &mut &[u8], end: u8) -> Option<u32> {
            let at = rest.iter().position(|b| *b == end)?;
            let mut n: u32 = 0;
            for b in &rest[..at] {
                n = n
                    .checked_mul(10)?
                    .checked_add(char::from(*b).to_digit(10)?)?;
            }
            *rest = &rest[at + 1..];
            (at > 0).then_some(n)
        }
        let (&first, mut rest) = text.as_bytes().split_first()?;
        let reason = *Reason::ALL.get(usize::from(first.checked_sub(b'0')?))?;
        let (mut terms, mut reasons) = (Vec::new(), Vec::new());
        while let Some((&kind, tail)) = rest.split_first() {
            let mut bits: u32 = 0;
            for b in tail.get(..8)? {
                bits = bits << 4 | char::from(*b).to_digit(16)?;
            }
            let amount = f32::from_bits(bits);
            let (&letter, tail) = tail.get(8..)?.split_first()?;
            rest = tail;
            let did = match letter {
                b'L' => Some(Did::Looked(number(&mut rest, b',')?)),
                b'B' => Some(Did::Bought),
                b'C' => Some(Did::Carted),
                b'S' => Some(Did::Searched),
                b'U' => Some(Did::Unknown),
                b'-' => None,
                _ => return None,
            };
            if letter != b'L' {
                rest = rest.strip_prefix(b",")?;
            }
            let len = number(&mut rest, b':')? as usize;
            let key = std::str::from_utf8(rest.get(..len)?).ok()?.to_string();
            rest = &rest[len..];
            let factor = match (kind, did.is_some(), key.is_empty()) {
                (b'i', true, _) => Factor::Interest(key),
                (b't', true, _) => Factor::Item(key),
                (b'r', false, _) => Factor::Related(key),
                (b'c', false, _) => Factor::Context(key),
                (b'p', false, true) => Factor::Popularity,
                (b'b', false, true) => Factor::Boost,
                _ => return None,
            };
            reasons.extend(because(&factor, did));
            terms.push(Contribution { factor, amount });
        }
        Some((
            terms,
            Explanation {
                reason,
                because: reasons,
            },
        ))
    }

    /// The sentence. `label` names a product ID or a tag in the shopper's words (a product's
    /// name, a department's name) when it knows one; a product or a tag without a label is
    /// described, never shown by its ID or code.
    pub fn render(&self, label: &dyn Fn(&str) -> Option<String>) -> String {
        let head = match self.reason {
            Reason::Fallback => {
                return "This is the shop's standard offer: it is not based on your activity."
                    .into()
            }
            Reason::Popular => {
                return "This offer is popular with all shoppers: it is not based on your activity."
                    .into()
            }
            Reason::Explore => {
                "Chosen at random among the offers you can see, so that new interests can show up"
            }
            Reason::Personal => "Picked for you",
            Reason::Private => {
                "Drawn for you, with deliberate randomness that keeps your interests private,"
            }
        };
        let mut because: Vec<String> = Vec::new();
        for b in &self.because {
            let text = match b {
                Because::Interest(t, did) => {
                    let times = |v: u32| format!("{v} time{}", if v == 1 { "" } else { "s" });
                    match (label(t), did) {
                        (Some(what), Did::Bought) => format!("you bought {what} items"),
                        (Some(what), Did::Carted) => format!("you put {what} items in your cart"),
                        (Some(what), Did::Searched) => format!("you searched for {what}"),
                        (Some(what), Did::Looked(v)) => {
                            format!("you looked at {what} {}", times(*v))
                        }
                        (Some(what), Did::Unknown) => format!("your interest in {what}"),
                        (None, did) => {
                            let (items, thing) = unlabeled(t);
                            match did {
                                Did::Bought => format!("you bought {items}"),
                                Did::Carted => format!("you put {items} in your cart"),
                                Did::Searched => format!("you searched for {items}"),
                                Did::Looked(v) => format!("you looked at {items} {}", times(*v)),
                                Did::Unknown => format!("your interest in {thing}"),
                            }
                        }
                    }
                }
                Because::Item(item, did) => match (label(item), did) {
                    (Some(name), Did::Bought) => format!("you bought {name}"),
                    (Some(name), Did::Carted) => format!("you put {name} in your cart"),
                    (Some(name), Did::Looked(_) | Did::Searched) => format!("you looked at {name}"),
                    (Some(name), Did::Unknown) => format!("your history with {name}"),
                    (None, Did::Bought) => "you bought a product in this offer".into(),
                    (None, Did::Carted) => "you put a product in this offer in your cart".into(),
                    (None, _) => "you looked at a product in this offer".into(),
                },
                Because::Related(item) => match label(item) {
                    Some(name) => format!(
                        "shoppers who had {name}, which you had recently, often had this too"
                    ),
                    None => "shoppers who had a product you had recently often had this too".into(),
                },
                Because::Context(t) => match label(t) {
                    Some(what) => format!("this page is about {what}"),
                    None if t.starts_with("search:") => {
                        format!("you are searching for {}", plain_tag(t))
                    }
                    None => "the page you are on matches this offer".into(),
                },
            };
            if !because.contains(&text) {
                because.push(text);
            }
        }
        because.truncate(3);
        if because.is_empty() {
            format!("{head}. Nothing about you left this device.")
        } else {
            let list = match because.len() {
                1 => because[0].clone(),
                n => format!("{} and {}", because[..n - 1].join(", "), because[n - 1]),
            };
            format!("{head} because {list}. Nothing about you left this device.")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::profile::ItemHistory;
    use crate::rank::Contribution;

    fn decision(factors: Vec<Factor>) -> Decision {
        Decision {
            offer: 0,
            offer_id: "RUN-10".into(),
            score: 1.0,
            reason: Reason::Personal,
            contributions: factors
                .into_iter()
                .map(|factor| Contribution {
                    factor,
                    amount: 1.0,
                })
                .collect(),
        }
    }

    fn bought(item: &str) -> Profile {
        let mut p = Profile::new();
        p.items.insert(
            item.into(),
            ItemHistory {
                weight: 1.0,
                updated: 0,
                last_seen: 0,
                last_purchase: Some(0),
                counts: [1, 1, 1],
            },
        );
        p
    }

    #[test]
    fn a_product_is_named_by_its_label_and_never_by_its_id() {
        let d = decision(vec![
            Factor::Item("run-05".into()),
            Factor::Context("category:running".into()),
        ]);
        let p = bought("run-05");
        let named = explanation(&d, &p).render(&|k| match k {
            "run-05" => Some("Trail Runner 2".to_string()),
            "category:running" => Some("running".to_string()),
            _ => None,
        });
        assert_eq!(
            named,
            "Picked for you because you bought Trail Runner 2 and this page is about running. Nothing about you left this device."
        );
        let unnamed = explanation(&d, &p).render(&|_| None);
        assert!(!unnamed.contains("run-05"), "{unnamed}");
        assert!(
            unnamed.contains("you bought a product in this offer"),
            "{unnamed}"
        );
    }

    #[test]
    fn the_compact_form_reads_back_as_the_same_terms_explanation_and_sentence() {
        let mut p = bought("run-05");
        p.items.get_mut("run-05").unwrap().counts = [4, 0, 0];
        for reason in Reason::ALL {
            let mut d = decision(vec![
                Factor::Item("run-05".into()),
                Factor::Interest("category:running".into()),
                Factor::Related("sku,1:é".into()),
                Factor::Context("brand:pacer co".into()),
                Factor::Popularity,
                Factor::Boost,
            ]);
            d.reason = reason;
            d.contributions[1].amount = -0.1;
            d.contributions[4].amount = f32::MIN_POSITIVE;
            let mut text = String::new();
            Explanation::write_compact(&d, &p, &mut text);
            let (terms, back) = Explanation::read_compact(&text).expect(&text);
            assert_eq!(terms, d.contributions, "{text}");
            assert_eq!(back, explanation(&d, &p), "{text}");
            assert_eq!(
                back.render(&|_| None),
                explanation(&d, &p).render(&|_| None)
            );
        }
        for bad in [
            "",
            "9",
            "0x",
            "0i3f800000B,99:short",
            "0i3f800000L,3:abc",
            "0r3f800000B,1:a",
            "0p3f800000-,1:a",
            "0i3f80000",
        ] {
            assert_eq!(Explanation::read_compact(bad), None, "{bad}");
        }
    }

    #[test]
    fn a_tag_label_replaces_the_tag_and_a_repeated_reason_is_said_once() {
        let d = decision(vec![
            Factor::Context("brand:pacerco".into()),
            Factor::Context("brand:pacerco".into()),
        ]);
        let text = explanation(&d, &Profile::new())
            .render(&|k| (k == "brand:pacerco").then(|| "Pacer & Co".to_string()));
        assert_eq!(
            text,
            "Picked for you because this page is about Pacer & Co. Nothing about you left this device."
        );
    }

    #[test]
    fn a_tag_without_a_label_is_described_never_shown_by_its_code() {
        let mut p = Profile::new();
        let s = crate::profile::Settings::default();
        for tags in [["brand:b-1043"], ["category:c-77"], ["type:t-5"]] {
            let e = crate::profile::Event::new(crate::profile::EventKind::View, tags);
            p.record(&e, 0, &s).unwrap();
        }
        let d = decision(vec![
            Factor::Interest("brand:b-1043".into()),
            Factor::Interest("category:c-77".into()),
            Factor::Context("type:t-5".into()),
        ]);
        let text = explanation(&d, &p).render(&|_| None);
        for code in ["b-1043", "c-77", "t-5", "brand:", "category:"] {
            assert!(!text.contains(code), "{code} in {text}");
        }
        assert_eq!(
            text,
            "Picked for you because you looked at items of this brand 1 time, you looked at items in this category 1 time and the page you are on matches this offer. Nothing about you left this device."
        );
        // A search word is the shopper's own: said as typed.
        let d = decision(vec![Factor::Context("search:sourdough".into())]);
        assert!(explanation(&d, &p)
            .render(&|_| None)
            .contains("you are searching for sourdough"));
    }

    #[test]
    fn a_label_is_found_in_any_offer_of_the_catalog_the_offer_own_first() {
        let c = Catalog::from_json(
            r#"{"version":1,"offers":[
                {"id":"A","tags":{"brand:b-1043":1},"items":["p-1"],"creative":{"labels":{"p-9":"Other's name"}}},
                {"id":"B","tags":{"brand:b-1043":1},"items":["p-9"],"creative":{"labels":{"brand:b-1043":"Pacer & Co","p-9":"Blue Kettle"}}},
                {"id":"C","creative":{"labels":{"brand:b-1043":"Not first"}}}
            ]}"#,
        )
        .unwrap();
        assert_eq!(c.label(0, "brand:b-1043").as_deref(), Some("Pacer & Co"));
        assert_eq!(c.label(0, "p-9").as_deref(), Some("Other's name"));
        assert_eq!(c.label(1, "p-9").as_deref(), Some("Blue Kettle"));
        assert_eq!(c.label(2, "brand:b-1043").as_deref(), Some("Not first"));
        assert_eq!(c.label(2, "p-9").as_deref(), Some("Other's name"));
        assert_eq!(c.label(0, "p-1"), None);
        let mut p = bought("p-9");
        p.items.get_mut("p-9").unwrap().counts = [2, 0, 0];
        let mut d = decision(vec![
            Factor::Related("p-9".into()),
            Factor::Context("brand:b-1043".into()),
        ]);
        d.offer = 0;
        assert_eq!(
            explain(&d, &p, &c),
            "Picked for you because shoppers who had Other's name, which you had recently, often had this too and this page is about Pacer & Co. Nothing about you left this device."
        );
    }
}
