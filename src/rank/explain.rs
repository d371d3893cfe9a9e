//! "Why this offer?": the explanation of a decision in the shopper's words, built on the device.
//!
//! It is made in two steps so that what the shopper recognises can be filled in last: an
//! [`Explanation`] says which of the shopper's interests and products counted and what the
//! shopper did about them; [`Explanation::render`] writes the sentence, naming each product and
//! tag with a label when one is known (from the catalog's creative or from the page), never
//! with its raw ID.

use super::{plain_tag, Decision, Factor, Reason};
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

/// The reasons of `decision`, read from the profile it was chosen with.
pub fn explanation(decision: &Decision, profile: &Profile) -> Explanation {
    let because = decision
        .contributions
        .iter()
        .filter_map(|c| match &c.factor {
            Factor::Interest(tag) => {
                let did = match profile.interests.get(tag).map(|i| i.counts) {
                    Some(n) if n[2] > 0 => Did::Bought,
                    Some(n) if n[1] > 0 => Did::Carted,
                    Some(n) if n[3] > 0 && n[0] == 0 => Did::Searched,
                    Some(n) if n[0] + n[4] > 0 => Did::Looked(n[0] + n[4]),
                    _ => Did::Unknown,
                };
                Some(Because::Interest(tag.clone(), did))
            }
            Factor::Item(item) => {
                let did = match profile.items.get(item).map(|i| i.counts) {
                    Some(n) if n[2] > 0 => Did::Bought,
                    Some(n) if n[1] > 0 => Did::Carted,
                    Some(n) if n[0] > 0 => Did::Looked(n[0]),
                    _ => Did::Unknown,
                };
                Some(Because::Item(item.clone(), did))
            }
            Factor::Related(item) => Some(Because::Related(item.clone())),
            Factor::Context(tag) => Some(Because::Context(tag.clone())),
            Factor::Popularity | Factor::Boost => None,
        })
        .collect();
    Explanation {
        reason: decision.reason,
        because,
    }
}

/// The explanation in plain words, with tags named by their last part (`category:running` →
/// "running") and products not named at all ("a product in this offer").
pub fn explain(decision: &Decision, profile: &Profile) -> String {
    explanation(decision, profile).render(&|_| None)
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

    /// The sentence. `label` names a product ID or a tag in the shopper's words (a product's
    /// name, a department's name) when it knows one; a product without a label is described,
    /// never shown by its ID, and a tag without one by its last part.
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
        let tag = |t: &str| label(t).unwrap_or_else(|| plain_tag(t).to_string());
        let mut because: Vec<String> = Vec::new();
        for b in &self.because {
            let text = match b {
                Because::Interest(t, did) => {
                    let what = tag(t);
                    match did {
                        Did::Bought => format!("you bought {what} items"),
                        Did::Carted => format!("you put {what} items in your cart"),
                        Did::Searched => format!("you searched for {what}"),
                        Did::Looked(v) => {
                            format!(
                                "you looked at {what} {v} time{}",
                                if *v == 1 { "" } else { "s" }
                            )
                        }
                        Did::Unknown => format!("your interest in {what}"),
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
                Because::Context(t) => format!("this page is about {}", tag(t)),
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
        let named =
            explanation(&d, &p).render(&|k| (k == "run-05").then(|| "Trail Runner 2".to_string()));
        assert_eq!(
            named,
            "Picked for you because you bought Trail Runner 2 and this page is about running. Nothing about you left this device."
        );
        let unnamed = explain(&d, &p);
        assert!(!unnamed.contains("run-05"), "{unnamed}");
        assert!(
            unnamed.contains("you bought a product in this offer"),
            "{unnamed}"
        );
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
}
