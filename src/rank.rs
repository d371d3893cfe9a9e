//! Ranking: which offers may be shown, how each is scored, which are chosen, and why.
//!
//! The score of an eligible offer `o` is
//!
//! ```text
//! score(o) = affinity · Σ_t w(o,t) · sat(interest(t))     the shopper's interests
//!          + context  · Σ_t w(o,t) · [t in page context]  what the page is about
//!          + item     · max_i sat(history(i))             the shopper's history with its items
//!          + popularity · popularity(o) + boost(o)        the server's priors
//!          + repeat · popularity(o) · [o has an item with history]
//!          + related · relation(o) / max_o' relation(o')   what goes with the latest items
//! relation(o) = Σ_j recency^rank(j) · (listed(o,j) + listing(j,o))
//! sat(x)   = x / (x + saturation)
//! ```
//!
//! where `interest(t)` and `history(i)` are decayed weights (see [`crate::profile`]).
//! `sat` keeps one heavy interest from drowning every other signal, and is monotone, so
//! raising an interest never lets an offer without it overtake one with it.
//!
//! The `related` term is "shoppers who had this also had that", on the device: the catalog
//! carries, for each offer, the items most often found with it in other shoppers' histories
//! (`related`, computed by the retailer from aggregate sales), and the score sums their
//! similarities over the shopper's own recent items ([`Profile::recent`]), the newest
//! counting most: `rank(j)` is 0 for the newest item, 1 for the one before, and so on. This is
//! a server's item-kNN ("the offers most similar to the shopper's latest items"), read from
//! the published pairs both ways: `listed(o,j)` is the similarity offer `o` lists for item
//! `j`, `listing(j,o)` the largest that an offer for `j` lists for one of `o`'s items (a pair
//! both sides publish, mutual neighbours, counts twice). The term is divided by its largest
//! value over the catalog, so that the best related offer gets `related` whatever the scale of
//! the catalog's similarities (cosines run higher on dense data than on sparse): like
//! item-kNN's ranking, the engine's does not change when every similarity is scaled alike.
//!
//! The `repeat` term is the catalog's prior on buying again: among the items a shopper
//! already has, the ones most shoppers buy (staples) are bought again more often than
//! one-offs, and popularity is the engine's only evidence of which items those are. It
//! applies only to offers for items the shopper has a history with, so it never lifts an
//! unknown item above a known one.
//!
//! With several slots, each next pick loses part of what its tags earn it (its interest and
//! context terms) for the tags it shares with an offer already picked: `diversity ·
//! similarity` of that part. Only that part: what an offer's own items and its relations to
//! the shopper's latest items earn it is evidence about that offer, not a repeat of its
//! category (a fixed penalty took the second-best related film of the same genre out of the
//! ten on MovieLens: 0.03 of HR@10, see `EVALUATION.md`).
//!
//! Eligibility comes first and is never overridden, not by exploration, not by the
//! fallback: the date window, `requires` / `excludes`, caps, suppression after a
//! dismissal, and no offer for an item the shopper has just bought unless it is a
//! "buy again" offer.

use crate::catalog::{Catalog, Columns};
use crate::profile::{OfferHistory, Profile, Settings};
use crate::Millis;

pub use crate::random::{Random, SplitMix64};

mod explain;
pub use explain::{explain, explanation, Explanation};

const HOUR: Millis = 3_600_000;
const DAY: Millis = 24 * HOUR;

/// Weights of the score's terms and the eligibility windows. Defaults are documented in
/// the README and chosen on real shopping data (see `EVALUATION.md`).
#[derive(Debug, Clone, PartialEq)]
pub struct Scoring {
    /// Weight of the shopper's interests.
    pub affinity: f32,
    /// Weight of the page context.
    pub context: f32,
    /// Weight of the shopper's history with the offer's items.
    pub item: f32,
    /// Weight of the server's popularity prior.
    pub popularity: f32,
    /// Weight of the popularity prior for offers whose items the shopper has a history with
    /// (staples are bought again more than one-offs).
    pub repeat: f32,
    /// Weight of the catalog's relations to the shopper's recent items: what the offer most
    /// related to them gets (the term is divided by its largest value in the catalog).
    pub related: f32,
    /// How much each older recent item counts relative to the next newer one, in (0, 1].
    pub recency: f32,
    /// Half-saturation point of `sat`: a decayed weight equal to this counts one half.
    pub saturation: f32,
    /// How much a chosen offer's tags penalize similar offers for the next slots: the share of
    /// an offer's interest and context term (what its tags earn it) taken off, in proportion to
    /// the tags it shares with an offer already picked (1: all of it for the same tags).
    pub diversity: f32,
    /// Probability of showing a random eligible offer instead of the best, per slot; with
    /// several slots, never in the first.
    pub exploration: f64,
    /// An offer dismissed within this period is not shown.
    pub dismiss_suppression_ms: Millis,
    /// An item bought within this period is not offered again, except by "buy again" offers.
    pub just_bought_ms: Millis,
}

impl Default for Scoring {
    /// Chosen on the tuning half of real shopping data (Instacart orders, MovieLens
    /// ratings): see `EVALUATION.md` for the numbers that chose them.
    fn default() -> Self {
        Scoring {
            affinity: 1.0,
            context: 0.5,
            item: 30.0,
            popularity: 0.1,
            repeat: 5.0,
            related: 0.7,
            recency: 0.75,
            saturation: 30.0,
            diversity: 1.0,
            exploration: 0.01,
            dismiss_suppression_ms: 48 * HOUR,
            just_bought_ms: 7 * DAY,
        }
    }
}

/// What a decision is asked for.
#[derive(Debug, Clone, Default)]
pub struct Request<'a> {
    /// Tags describing the page (for example the category being browsed).
    pub context: &'a [String],
    /// How many offers (slots) to choose; at least one.
    pub count: usize,
    /// The time of the decision.
    pub now: Millis,
    /// Offer IDs not to choose (for example offers already on the page).
    pub exclude: &'a [String],
}

impl Request<'static> {
    /// A request for `count` offers at `now`, with no page context and nothing excluded.
    pub fn new(count: usize, now: Millis) -> Request<'static> {
        Request {
            context: &[],
            count,
            now,
            exclude: &[],
        }
    }
}

/// Why an offer was chosen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reason {
    /// The best match for the shopper's profile.
    Personal,
    /// A random eligible offer, shown now and then so that new interests can surface.
    Explore,
    /// The catalog's fallback (profile empty or paused).
    Fallback,
    /// Not personal: the best by the server's priors and the page context.
    Popular,
    /// Drawn by the exponential mechanism over the profile's scores (private choice).
    Private,
}

impl Reason {
    /// Every reason.
    pub const ALL: [Reason; 5] = [
        Reason::Personal,
        Reason::Explore,
        Reason::Fallback,
        Reason::Popular,
        Reason::Private,
    ];

    /// Parses a reason's name.
    pub fn parse(name: &str) -> Option<Reason> {
        Reason::ALL.into_iter().find(|r| r.as_str() == name)
    }

    /// The name used in the JS API.
    pub fn as_str(self) -> &'static str {
        match self {
            Reason::Personal => "personal",
            Reason::Explore => "explore",
            Reason::Fallback => "fallback",
            Reason::Popular => "popular",
            Reason::Private => "private",
        }
    }
}

/// What contributed to a score.
#[derive(Debug, Clone, PartialEq)]
pub enum Factor {
    /// One of the shopper's interests (tag).
    Interest(String),
    /// The shopper's history with an item.
    Item(String),
    /// A recent item of the shopper's that the catalog relates to the offer.
    Related(String),
    /// A tag of the page context.
    Context(String),
    /// The offer's popularity.
    Popularity,
    /// The retailer's boost.
    Boost,
}

/// One term of a score, for the explanation.
#[derive(Debug, Clone, PartialEq)]
pub struct Contribution {
    /// What it is.
    pub factor: Factor,
    /// How much it added.
    pub amount: f32,
}

impl Contribution {
    /// Whether it comes from the shopper's profile (an interest, an item, or a relation to
    /// one of their recent items).
    pub fn is_personal(&self) -> bool {
        matches!(
            self.factor,
            Factor::Interest(_) | Factor::Item(_) | Factor::Related(_)
        ) && self.amount > 0.0
    }
}

/// One chosen offer.
#[derive(Debug, Clone, PartialEq)]
pub struct Decision {
    /// Index of the offer in the catalog.
    pub offer: usize,
    /// The offer's ID.
    pub offer_id: String,
    /// Its score.
    pub score: f32,
    /// Why it was chosen.
    pub reason: Reason,
    /// The largest contributions to its score, largest first.
    pub contributions: Vec<Contribution>,
}

/// Everything that is needed about the profile for one catalog, as dense vectors.
struct View {
    /// Per catalog tag: affinity·sat(interest) + context·[in context].
    tag_value: Box<[f32]>,
    /// Per catalog tag: sat(interest), 0 without one (the interest term of the contributions).
    tag_sat: Box<[f32]>,
    /// Per catalog tag: context·[in context] alone (the score without the shopper).
    tag_context: Box<[f32]>,
    /// Per catalog tag: present in the profile or in the context (for requires/excludes).
    tag_present: Box<[bool]>,
    /// Per catalog tag: present in the page context (requires/excludes without the shopper).
    tag_in_context: Box<[bool]>,
    /// Per catalog item: sat(history).
    item_value: Box<[f32]>,
    /// Per catalog item: recency^rank among the recent items (0 if not recent).
    recent_value: Box<[f32]>,
    /// Per offer: the relation term, `related · relation(o) / max relation` (empty without
    /// relations or a profile).
    relation_value: Box<[f32]>,
    /// `related / max relation`: what one unit of `relation(o)` adds to the score.
    relation_scale: f32,
    /// Per catalog item: bought within `just_bought_ms`.
    just_bought: Box<[bool]>,
    /// Per offer: blocked by caps or a dismissal.
    blocked: Box<[bool]>,
}

fn sat(x: f64, k: f32) -> f32 {
    (x / (x + k as f64)) as f32
}

fn capped(h: &OfferHistory, caps: &crate::catalog::Caps, now: Millis) -> bool {
    let over = |cap: Option<u32>, window: Millis| {
        cap.is_some_and(|c| h.shown_since(now - window + 1) >= c)
    };
    over(caps.per_hour, HOUR)
        || over(caps.per_day, DAY)
        || over(caps.per_week, 7 * DAY)
        || caps.total.is_some_and(|c| h.total >= c)
}

impl View {
    fn build(
        catalog: &Catalog,
        profile: &Profile,
        settings: &Settings,
        scoring: &Scoring,
        req: &Request,
        personal: bool,
    ) -> View {
        let nt = catalog.tag_count();
        let ni = catalog.item_count();
        let mut tag_value = vec![0f32; nt];
        let mut tag_present = vec![false; nt];
        let mut tag_in_context = vec![false; nt];
        let mut tag_context = vec![0f32; nt];
        let mut tag_sat = vec![0f32; nt];
        let mut item_value = vec![0f32; ni];
        // Only a catalog with relations needs these (the loop skips them otherwise).
        let with_relations = personal && catalog.has_relations();
        let mut recent_value = vec![0f32; if with_relations { ni } else { 0 }];
        let mut relation_value = vec![0f32; if with_relations { catalog.len() } else { 0 }];
        let mut relation_scale = 0f32;
        let mut just_bought = vec![false; ni];
        let mut blocked = vec![false; catalog.len()];
        if personal {
            for (tag, interest) in &profile.interests {
                if let Some(id) = catalog.tag_id(tag) {
                    let w = settings.decay(interest.weight, interest.updated, req.now);
                    tag_sat[id as usize] = sat(w, scoring.saturation);
                    tag_value[id as usize] += scoring.affinity * tag_sat[id as usize];
                    tag_present[id as usize] = w > 0.0;
                }
            }
            for (item, history) in &profile.items {
                if let Some(id) = catalog.item_id(item) {
                    let w = settings.decay(history.weight, history.updated, req.now);
                    item_value[id as usize] = sat(w, scoring.saturation);
                }
            }
            if with_relations {
                relation_scale = relations(
                    catalog,
                    profile,
                    scoring,
                    &mut recent_value,
                    &mut relation_value,
                );
            }
        }
        // Just-bought suppression and caps are about what the shopper was shown and bought:
        // they apply whether or not the decision is personal.
        for (item, history) in &profile.items {
            if let (Some(id), Some(t)) = (catalog.item_id(item), history.last_purchase) {
                just_bought[id as usize] = req.now - t < scoring.just_bought_ms;
            }
        }
        for (k, tag) in req.context.iter().enumerate() {
            // A tag given twice (as the slot and in the context) counts once, as in the
            // decision's contributions.
            if req.context[..k].contains(tag) {
                continue;
            }
            if let Some(id) = catalog.tag_id(tag) {
                tag_value[id as usize] += scoring.context;
                tag_context[id as usize] = scoring.context;
                tag_present[id as usize] = true;
                tag_in_context[id as usize] = true;
            }
        }
        for id in req.exclude {
            if let Some(i) = catalog.find(id) {
                blocked[i] = true;
            }
        }
        for (id, history) in &profile.offers {
            if let Some(i) = catalog.find(id) {
                let dismissed = history
                    .dismissed
                    .is_some_and(|d| req.now - d < scoring.dismiss_suppression_ms);
                blocked[i] |= dismissed || capped(history, &catalog.offer(i).caps, req.now);
            }
        }
        // Boxed slices: indexing them is plain code even at opt-level "z", where indexing a
        // `Vec` stays a call (the scoring loop indexes these once per tag of every offer).
        View {
            tag_value: tag_value.into_boxed_slice(),
            tag_context: tag_context.into_boxed_slice(),
            tag_sat: tag_sat.into_boxed_slice(),
            tag_present: tag_present.into_boxed_slice(),
            tag_in_context: tag_in_context.into_boxed_slice(),
            item_value: item_value.into_boxed_slice(),
            recent_value: recent_value.into_boxed_slice(),
            relation_value: relation_value.into_boxed_slice(),
            relation_scale,
            just_bought: just_bought.into_boxed_slice(),
            blocked: blocked.into_boxed_slice(),
        }
    }

    fn eligible(&self, catalog: &Catalog, i: usize, now: Millis) -> bool {
        self.eligible_in(&catalog.columns(), i, now)
    }

    /// [`View::eligible`] over the catalog's columns (the loop over offers calls this).
    #[inline(always)]
    fn eligible_in(&self, c: &Columns, i: usize, now: Millis) -> bool {
        self.eligible_given(c, i, now, &self.tag_present)
    }

    /// Whether offer `i` would be eligible without the shopper: its `requires` and
    /// `excludes` met by the page context alone (caps, dismissals and what was just bought
    /// still count: they are about what the shopper was shown and bought).
    fn eligible_blank_in(&self, c: &Columns, i: usize, now: Millis) -> bool {
        self.eligible_given(c, i, now, &self.tag_in_context)
    }

    #[inline(always)]
    fn eligible_given(&self, c: &Columns, i: usize, now: Millis, present: &[bool]) -> bool {
        let o = &c.offers[i];
        if self.blocked[i] || o.start.is_some_and(|s| now < s) || o.end.is_some_and(|e| now >= e) {
            return false;
        }
        // Plain loops over indices: at opt-level "z" an iterator adapter stays a call.
        for &t in o.requires.iter() {
            if !present[t as usize] {
                return false;
            }
        }
        for &t in o.excludes.iter() {
            if present[t as usize] {
                return false;
            }
        }
        if !o.buy_again {
            for k in o.items.0 as usize..o.items.1 as usize {
                if self.just_bought[c.item_ids[k] as usize] {
                    return false;
                }
            }
        }
        true
    }

    fn score(&self, catalog: &Catalog, scoring: &Scoring, i: usize) -> f32 {
        self.scores_in(&catalog.columns(), scoring, i).0
    }

    /// The score of offer `i`, and its score without the shopper (the page context and the
    /// server's priors only: what an empty profile would give), from one pass over its tags.
    #[inline(always)]
    fn scores_in(&self, c: &Columns, scoring: &Scoring, i: usize) -> (f32, f32) {
        let o = &c.offers[i];
        let mut s = 0f32;
        let mut blank = 0f32;
        for k in o.tags.0 as usize..o.tags.1 as usize {
            let (t, w) = (c.tag_ids[k] as usize, c.tag_weights[k]);
            s += w * self.tag_value[t];
            blank += w * self.tag_context[t];
        }
        let mut best_item = 0f32;
        for k in o.items.0 as usize..o.items.1 as usize {
            let v = self.item_value[c.item_ids[k] as usize];
            if v > best_item {
                best_item = v;
            }
        }
        if let Some(r) = self.relation_value.get(i) {
            s += r;
        }
        let prior = scoring.popularity + if best_item > 0.0 { scoring.repeat } else { 0.0 };
        (
            s + scoring.item * best_item + prior * o.popularity + o.boost,
            blank + scoring.popularity * o.popularity + o.boost,
        )
    }
}

impl View {
    /// The interests and page context part of offer `i`'s score: what its tags earn it, the
    /// part that a second offer with the same tags repeats.
    /// (`blank`: the same without the shopper, the page context's part alone.)
    fn tag_term(&self, catalog: &Catalog, i: usize, blank: bool) -> f32 {
        let table = if blank {
            &self.tag_context
        } else {
            &self.tag_value
        };
        let (ids, ws) = catalog.offer_tag_slice(i);
        let mut s = 0f32;
        for (&t, &w) in ids.iter().zip(ws) {
            s += w * table[t as usize];
        }
        s
    }

    /// Offer `i`'s score for a slot after `picked`: what its tags earn it counts less the more
    /// it shares them with an offer already picked, so that the slots differ. What its items
    /// and its relations to the shopper's latest items earn it is about this offer, not about
    /// its tags, and stays whole.
    fn diversified(
        &self,
        catalog: &Catalog,
        scoring: &Scoring,
        score: f32,
        i: usize,
        picked: &[Decision],
        blank: bool,
    ) -> f32 {
        if picked.is_empty() || scoring.diversity <= 0.0 {
            return score;
        }
        let sim = picked
            .iter()
            .map(|d| similarity(catalog, i, d.offer))
            .fold(0f32, f32::max);
        if sim <= 0.0 {
            return score;
        }
        score - scoring.diversity * sim * self.tag_term(catalog, i, blank)
    }
}

/// The relation term's parts, from the shopper's recent items: fills `recent` (per item,
/// recency^rank) and `value` (per offer, `relation(o)` times the returned scale, which is
/// `related / max relation`, 0 when nothing is related).
///
/// One pass over the recent items and the lists that name them: the loop over offers then
/// reads one number per offer.
fn relations(
    catalog: &Catalog,
    profile: &Profile,
    scoring: &Scoring,
    recent: &mut [f32],
    value: &mut [f32],
) -> f32 {
    // Per offer, for the current recent item j: listed(o, j) and listing(j, o).
    let mut listed = vec![0f32; catalog.len()];
    let mut listing = vec![0f32; catalog.len()];
    let mut touched: Vec<u32> = Vec::new();
    let mut weight = 1f32;
    for item in profile.recent.iter().rev() {
        if let Some(j) = catalog.item_id(item) {
            recent[j as usize] = weight;
            for &(o, s) in catalog.offers_listing(j) {
                if listed[o as usize] == 0.0 && listing[o as usize] == 0.0 {
                    touched.push(o);
                }
                listed[o as usize] += s;
            }
            for &by in catalog.offers_with_item(j) {
                let (rel, sims) = catalog.offer_related_slice(by as usize);
                for (&r, &s) in rel.iter().zip(sims) {
                    for &o in catalog.offers_with_item(r) {
                        if listed[o as usize] == 0.0 && listing[o as usize] == 0.0 {
                            touched.push(o);
                        }
                        listing[o as usize] = listing[o as usize].max(s);
                    }
                }
            }
            for o in touched.drain(..) {
                let o = o as usize;
                value[o] += weight * (listed[o] + listing[o]);
                listed[o] = 0.0;
                listing[o] = 0.0;
            }
        }
        weight *= scoring.recency;
    }
    let max = value.iter().copied().fold(0f32, f32::max);
    if max <= 0.0 {
        return 0.0;
    }
    let scale = scoring.related / max;
    value.iter_mut().for_each(|v| *v *= scale);
    scale
}

/// `listed(o, j) + listing(j, o)` for one offer and one item (see the module's docs): what
/// [`relations`] adds up, for the explanation.
fn pair(catalog: &Catalog, o: usize, j: u32) -> f32 {
    let (rel, sims) = catalog.offer_related_slice(o);
    let listed: f32 = rel
        .iter()
        .zip(sims)
        .filter(|(&r, _)| r == j)
        .map(|(_, &s)| s)
        .sum();
    let items = catalog.offer_item_slice(o);
    let mut listing = 0f32;
    for &by in catalog.offers_with_item(j) {
        let (rel, sims) = catalog.offer_related_slice(by as usize);
        for (&r, &s) in rel.iter().zip(sims) {
            if items.contains(&r) {
                listing = listing.max(s);
            }
        }
    }
    listed + listing
}

fn similarity(catalog: &Catalog, a: usize, b: usize) -> f32 {
    let (ia, wa) = catalog.offer_tag_slice(a);
    let (ib, wb) = catalog.offer_tag_slice(b);
    let total: f32 = wa.iter().sum();
    if total <= 0.0 {
        return 0.0;
    }
    let mut shared = 0f32;
    for (t, w) in ia.iter().zip(wa) {
        if let Some(k) = ib.iter().position(|x| x == t) {
            shared += w.min(wb[k]);
        }
    }
    shared / total
}

/// What a site asks when it asks for a decision, as far as it does not depend on the shopper:
/// the catalog, the page context, how many slots, what is excluded, and which offers are
/// within their dates (not the day: a question asked again on another day of the window is the
/// same question, see `Engine::choose`). Its answer is one of [`Question::candidates`] offers (or none) per
/// slot, so it can say at most [`crate::privacy::answer_bits`] about the profile.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Question {
    /// Equal for the same question.
    pub key: u64,
    /// Offers the answer can name: within their dates and not excluded.
    pub candidates: usize,
    /// Slots asked for (at least one, at most the candidates).
    pub slots: usize,
}

impl Question {
    /// The question `req` asks of `catalog`.
    pub fn of(catalog: &Catalog, req: &Request) -> Question {
        use std::hash::Hasher;
        let mut h = crate::hash::Fx::default();
        h.write_u64(catalog.content_hash());
        h.write_usize(req.count.max(1));
        for list in [req.context, req.exclude] {
            let mut sorted: Vec<&str> = list.iter().map(String::as_str).collect();
            crate::sort::sort_by(&mut sorted, Ord::cmp);
            sorted.dedup();
            h.write_usize(sorted.len());
            for s in sorted {
                h.write(s.as_bytes());
                h.write_u8(0xff);
            }
        }
        let mut candidates = 0;
        for i in 0..catalog.len() {
            let o = catalog.offer(i);
            let dated = o.start.is_none_or(|s| req.now >= s) && o.end.is_none_or(|e| req.now < e);
            if dated && !req.exclude.contains(&o.id) {
                candidates += 1;
                h.write_usize(i);
            }
        }
        Question {
            key: h.finish(),
            candidates,
            slots: req.count.max(1).min(candidates.max(1)),
        }
    }

    /// The most its answer can say, in bits.
    pub fn bits(&self) -> f64 {
        crate::privacy::answer_bits(self.candidates, self.slots)
    }
}

/// The decisions for offers already picked (a remembered answer), with their contributions
/// computed afresh.
pub fn decisions_for(
    catalog: &Catalog,
    profile: &Profile,
    settings: &Settings,
    scoring: &Scoring,
    req: &Request,
    picks: &[(usize, Reason)],
) -> Vec<Decision> {
    let personal = !profile.paused && !profile.is_empty();
    let view = View::build(catalog, profile, settings, scoring, req, personal);
    picks
        .iter()
        .map(|&(i, reason)| {
            let s = view.score(catalog, scoring, i);
            decision(catalog, &view, scoring, profile, req, i, s, reason)
        })
        .collect()
}

/// The best `k` of a stream of `(score, offer)` pairs, best first (higher score, then lower
/// offer index: the order of a stable sort of the whole catalog).
///
/// Each pair is one `u64` whose ascending order is that order (see [`Shortlist::key`]), kept
/// in a binary heap with the worst kept on top: an offer that cannot enter costs one integer
/// comparison, one that can `log k` of them, and nothing allocates after the start (a sort
/// or a selection here would instantiate kilobytes of the standard library's sorts).
struct Shortlist {
    k: usize,
    heap: Vec<u64>,
}

impl Shortlist {
    fn new(k: usize) -> Shortlist {
        Shortlist {
            k,
            heap: Vec::with_capacity(k),
        }
    }

    /// `(score, i)` as a key: the score's bits mapped to an integer in `f32::total_cmp`'s
    /// order and inverted (higher scores first), then the offer index.
    #[inline(always)]
    fn key(score: f32, i: usize) -> u64 {
        let bits = score.to_bits() as i32;
        let ordered = (bits ^ ((((bits >> 31) as u32) >> 1) as i32)) as u32 ^ 0x8000_0000;
        ((!ordered as u64) << 32) | i as u64
    }

    /// The inverse of [`Shortlist::key`].
    fn unkey(key: u64) -> (f32, usize) {
        let ordered = (!((key >> 32) as u32) ^ 0x8000_0000) as i32;
        let bits = ordered ^ ((((ordered >> 31) as u32) >> 1) as i32);
        (f32::from_bits(bits as u32), (key & 0xffff_ffff) as usize)
    }

    #[inline(always)]
    fn offer(&mut self, score: f32, i: usize) {
        let key = Shortlist::key(score, i);
        if self.heap.len() < self.k {
            self.heap.push(key);
            self.sift_up(self.heap.len() - 1);
        } else if self.k > 0 && key < self.heap[0] {
            self.heap[0] = key;
            sift_down(&mut self.heap, 0);
        }
    }

    fn sift_up(&mut self, mut at: usize) {
        while at > 0 {
            let parent = (at - 1) / 2;
            if self.heap[parent] >= self.heap[at] {
                break;
            }
            self.heap.swap(parent, at);
            at = parent;
        }
    }

    /// The kept offers, best first.
    fn into_sorted(mut self) -> Vec<(f32, usize)> {
        // Heap sort: the worst goes to the end, and so on.
        let mut end = self.heap.len();
        while end > 1 {
            end -= 1;
            self.heap.swap(0, end);
            sift_down(&mut self.heap[..end], 0);
        }
        self.heap.into_iter().map(Shortlist::unkey).collect()
    }
}

/// Restores the max-heap below `at` in `heap`.
fn sift_down(heap: &mut [u64], mut at: usize) {
    loop {
        let (l, r) = (2 * at + 1, 2 * at + 2);
        let mut top = at;
        if l < heap.len() && heap[l] > heap[top] {
            top = l;
        }
        if r < heap.len() && heap[r] > heap[top] {
            top = r;
        }
        if top == at {
            return;
        }
        heap.swap(at, top);
        at = top;
    }
}

/// Chooses up to `req.count` distinct offers. Deterministic given the catalog, the
/// profile, the request, the settings and the random source's state.
pub fn choose(
    catalog: &Catalog,
    profile: &Profile,
    settings: &Settings,
    scoring: &Scoring,
    req: &Request,
    rng: &mut dyn Random,
) -> Vec<Decision> {
    let count = req.count.max(1).min(catalog.len());
    let personal = !profile.paused && !profile.is_empty();
    let view = View::build(catalog, profile, settings, scoring, req, personal);

    // Only the best few can be chosen: a shortlist, from which the slots are picked greedily
    // (for diversity). What the choice would be without the shopper (the same eligible offers
    // scored by the page context and the server's priors only) decides whether a pick is
    // `personal`, and comes from a shortlist of the best blank scores. One pass over the
    // catalog fills both; an offer that cannot enter a shortlist costs one comparison.
    let shortlist = (count * 8).max(16);
    let mut eligible = Shortlist::new(shortlist);
    let mut blank = Shortlist::new(if personal { shortlist } else { 0 });
    let mut fallback_score = None;
    let fallback = catalog.fallback();
    let columns = catalog.columns();
    // The blank choice is made among the offers eligible without the shopper: an offer
    // that only the profile let in (or kept out) changes the choice.
    for i in 0..catalog.len() {
        let with = view.eligible_in(&columns, i, req.now);
        let without = personal && view.eligible_blank_in(&columns, i, req.now);
        if with || without {
            let (s, b) = view.scores_in(&columns, scoring, i);
            if with && !personal && fallback == Some(i) {
                // Without a profile the fallback goes first, whatever its score.
                fallback_score = Some(s);
                continue;
            }
            if with {
                eligible.offer(s, i);
            }
            if without {
                blank.offer(b, i);
            }
        }
    }
    let make = |i: usize, s: f32, reason: Reason| {
        decision(catalog, &view, scoring, profile, req, i, s, reason)
    };
    let mut out: Vec<Decision> = Vec::with_capacity(count);
    if let (Some(f), Some(s)) = (fallback, fallback_score) {
        out.push(make(f, s, Reason::Fallback));
    }
    let fallback_eligible =
        fallback.filter(|&f| personal && view.eligible_blank_in(&columns, f, req.now));
    let blank = blank.into_sorted();
    let mut eligible = eligible.into_sorted();
    // Exploration draws from every eligible offer, not only the shortlist (gathered only
    // when a slot explores).
    let mut explore_pool: Option<Vec<usize>> = None;

    while out.len() < count && !eligible.is_empty() {
        // With several slots the first always holds the best offer: exploration uses the others.
        let may_explore = count == 1 || !out.is_empty();
        if personal
            && may_explore
            && scoring.exploration > 0.0
            && rng.next_f64() < scoring.exploration
        {
            let pool = explore_pool.get_or_insert_with(|| {
                (0..catalog.len())
                    .filter(|&i| view.eligible(catalog, i, req.now))
                    .collect()
            });
            let candidates: Vec<usize> = pool
                .iter()
                .copied()
                .filter(|i| out.iter().all(|d| d.offer != *i))
                .collect();
            if !candidates.is_empty() {
                let i = candidates[rng.below(candidates.len())];
                eligible.retain(|&(_, j)| j != i);
                let s = view.score(catalog, scoring, i);
                out.push(make(i, s, Reason::Explore));
                continue;
            }
        }
        let pick = if out.is_empty() || scoring.diversity <= 0.0 {
            0
        } else {
            let adjusted =
                |&(s, i): &(f32, usize)| view.diversified(catalog, scoring, s, i, &out, false);
            let mut best = 0;
            let mut best_value = adjusted(&eligible[0]);
            for (k, e) in eligible.iter().enumerate().skip(1) {
                let v = adjusted(e);
                if v > best_value {
                    best = k;
                    best_value = v;
                }
            }
            best
        };
        let (s, i) = eligible.remove(pick);
        // What the same rule picks without the profile: the fallback first (as for an empty
        // profile), then the best blank score, diversity included.
        let unchanged = || {
            if let Some(f) = fallback_eligible {
                if out.iter().all(|d| d.offer != f) {
                    return f == i;
                }
            }
            if out.is_empty() || scoring.diversity <= 0.0 {
                // Nothing adjusts the blank scores: the best is the first not yet picked.
                return blank
                    .iter()
                    .find(|&&(_, j)| out.iter().all(|d| d.offer != j))
                    .is_some_and(|&(_, j)| j == i);
            }
            blank
                .iter()
                .filter(|&&(_, j)| out.iter().all(|d| d.offer != j))
                .map(|&(b, j)| (view.diversified(catalog, scoring, b, j, &out, true), j))
                // The shortlist's order: the best adjusted score, then the earlier offer.
                .min_by_key(|&(b, j)| Shortlist::key(b, j))
                .is_some_and(|(_, j)| j == i)
        };
        let mut d = make(i, s, Reason::Personal);
        let changed =
            personal && d.contributions.iter().any(Contribution::is_personal) && !unchanged();
        if !changed {
            d.reason = if catalog.fallback() == Some(i) {
                Reason::Fallback
            } else {
                Reason::Popular
            };
        }
        out.push(d);
    }
    out
}

#[allow(clippy::too_many_arguments)]
fn decision(
    catalog: &Catalog,
    view: &View,
    scoring: &Scoring,
    profile: &Profile,
    req: &Request,
    i: usize,
    score: f32,
    reason: Reason,
) -> Decision {
    let mut contributions = Vec::new();
    let (ids, ws) = catalog.offer_tag_slice(i);
    for (&t, &w) in ids.iter().zip(ws) {
        let tag = catalog.tag_name(t);
        // The same term the score added (from the view, not looked up again).
        let interest = view.tag_sat[t as usize];
        if interest > 0.0 && !profile.paused {
            let amount = w * scoring.affinity * interest;
            contributions.push(Contribution {
                factor: Factor::Interest(tag.to_string()),
                amount,
            });
        }
        if req.context.iter().any(|c| c == tag) {
            contributions.push(Contribution {
                factor: Factor::Context(tag.to_string()),
                amount: w * scoring.context,
            });
        }
    }
    let mut has_history = false;
    if !profile.paused {
        let mut best: Option<(f32, &str)> = None;
        for &it in catalog.offer_item_slice(i) {
            let v = view.item_value[it as usize];
            if v > 0.0 && best.is_none_or(|(b, _)| v > b) {
                let name = catalog.items_of(i).nth(
                    catalog
                        .offer_item_slice(i)
                        .iter()
                        .position(|&x| x == it)
                        .unwrap_or(0),
                );
                best = name.map(|n| (v, n));
            }
        }
        has_history = best.is_some();
        if let Some((v, name)) = best {
            contributions.push(Contribution {
                factor: Factor::Item(name.to_string()),
                amount: scoring.item * v,
            });
        }
        // The relation term, under the recent item behind each part of it.
        let mut related: Vec<(u32, f32)> = Vec::new();
        if view.relation_scale > 0.0 {
            for item in &profile.recent {
                if let Some(j) = catalog.item_id(item) {
                    let w = view.recent_value[j as usize];
                    related.push((j, view.relation_scale * w * pair(catalog, i, j)));
                }
            }
        }
        for (it, amount) in related {
            if amount > 0.0 {
                contributions.push(Contribution {
                    factor: Factor::Related(catalog.item_name(it).to_string()),
                    amount,
                });
            }
        }
    }
    let o = catalog.offer(i);
    let prior = scoring.popularity + if has_history { scoring.repeat } else { 0.0 };
    if o.popularity > 0.0 && prior > 0.0 {
        contributions.push(Contribution {
            factor: Factor::Popularity,
            amount: prior * o.popularity,
        });
    }
    if o.boost != 0.0 {
        contributions.push(Contribution {
            factor: Factor::Boost,
            amount: o.boost,
        });
    }
    // Every term, so that they add up to the score; the explanation names the largest.
    crate::sort::sort_by(&mut contributions, |a, b| b.amount.total_cmp(&a.amount));
    Decision {
        offer: i,
        offer_id: o.id.clone(),
        score,
        reason,
        contributions,
    }
}

/// A tag in the shopper's words: `category:running` → `running`.
pub fn plain_tag(tag: &str) -> &str {
    tag.rsplit(':').next().unwrap_or(tag)
}

/// Private choice: each slot is drawn by the exponential mechanism
/// ([`crate::privacy::exponential_choice`]) over the scores of the eligible offers, normalized
/// to [0, 1], so that what is shown is `epsilon`-differentially-private per slot with respect
/// to the shopper's interests and items. `requires` and `excludes` look at the page context
/// only (an offer that needs an interest would otherwise reveal it by being drawable at all);
/// caps, dismissals and just-bought items still apply, as they are the shopper's own actions.
pub fn choose_private(
    catalog: &Catalog,
    profile: &Profile,
    settings: &Settings,
    scoring: &Scoring,
    req: &Request,
    epsilon: f64,
    rng: &mut dyn Random,
) -> Vec<Decision> {
    let count = req.count.max(1).min(catalog.len());
    let mut view = View::build(catalog, profile, settings, scoring, req, true);
    view.tag_present = view.tag_in_context.clone();
    let mut eligible: Vec<(f32, usize)> = (0..catalog.len())
        .filter(|&i| view.eligible(catalog, i, req.now))
        .map(|i| (view.score(catalog, scoring, i), i))
        .collect();
    let mut out = Vec::with_capacity(count);
    while out.len() < count && !eligible.is_empty() {
        let scores: Vec<f32> = eligible.iter().map(|e| e.0).collect();
        let Some(k) = crate::privacy::exponential_choice(&scores, epsilon, rng) else {
            break;
        };
        let (s, i) = eligible.remove(k);
        out.push(decision(
            catalog,
            &view,
            scoring,
            profile,
            req,
            i,
            s,
            Reason::Private,
        ));
    }
    out
}

// proptest is a native dev-dependency (the wasm32 test build has none).
#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests {
    use super::Shortlist;
    use proptest::prelude::*;

    fn by_score(a: &(f32, usize), b: &(f32, usize)) -> std::cmp::Ordering {
        b.0.total_cmp(&a.0).then(a.1.cmp(&b.1))
    }

    proptest! {
        /// Keys sort as `(score, offer)` pairs do (higher score first, then lower index, in
        /// `total_cmp`'s order: -0 below +0, NaNs at the ends), and give the pair back.
        #[test]
        fn keys_order_as_the_pairs_and_give_them_back(bits in proptest::collection::vec((any::<u32>(), 0usize..50_000), 2..40), special in proptest::collection::vec((0usize..7, 0usize..50_000), 0..10)) {
            let specials = [0.0f32, -0.0, f32::INFINITY, f32::NEG_INFINITY, f32::NAN, -f32::NAN, f32::MIN_POSITIVE];
            let mut pairs: Vec<(f32, usize)> = bits.iter().map(|&(b, i)| (f32::from_bits(b), i)).collect();
            pairs.extend(special.iter().map(|&(k, i)| (specials[k], i)));
            for &(s, i) in &pairs {
                let (s2, i2) = Shortlist::unkey(Shortlist::key(s, i));
                prop_assert_eq!((s.to_bits(), i), (s2.to_bits(), i2));
            }
            for a in &pairs {
                for b in &pairs {
                    prop_assert_eq!(Shortlist::key(a.0, a.1).cmp(&Shortlist::key(b.0, b.1)), by_score(a, b));
                }
            }
        }

        /// The shortlist keeps the best `k` of any stream, as sorting all of it would.
        #[test]
        fn the_shortlist_is_the_head_of_the_sorted_stream(scores in proptest::collection::vec(0u8..6, 0..400), k in 1usize..40) {
            let mut list = Shortlist::new(k);
            for (i, &s) in scores.iter().enumerate() {
                list.offer(s as f32 / 2.0 - 1.0, i);
            }
            let mut all: Vec<(f32, usize)> = scores.iter().enumerate().map(|(i, &s)| (s as f32 / 2.0 - 1.0, i)).collect();
            all.sort_by(by_score);
            all.truncate(k);
            prop_assert_eq!(list.into_sorted(), all);
        }
    }
}
