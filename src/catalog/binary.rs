//! The compact binary catalog: the same catalog as the JSON form, columnar, with tags,
//! items and rules interned, so that a browser reads it without parsing text.
//!
//! Layout (little-endian; version 1; every section 4-byte aligned):
//!
//! ```text
//! "PRCB" u16 version u16 0
//! u32 offers  u32 tags  u32 items
//! string catalog id          u32 fallback (u32::MAX: none)
//! table tag names  table item names  table offer IDs        (u32 ends[count], bytes, padding)
//! f32 boost[offers]  f32 popularity[offers]
//! u32 per_hour[offers] per_day[offers] per_week[offers] total[offers] (u32::MAX: none)
//! i64 start[offers] end[offers] (i64::MIN: none)   u32 flags[offers] (1: buyAgain, 2: creative)
//! u32 tag_end[offers] u32 tag[…] f32 weight[…]   u32 item_end[offers] u32 item[…]
//! u32 requires_end[offers] u32 requires[…]       u32 excludes_end[offers] u32 excludes[…]
//! table creatives (offers)
//! version 2 only: u32 related_end[offers] u32 related_item[…] f32 similarity[…]
//! u64 checksum of everything before
//! ```
//!
//! A catalog without relations is written as version 1, byte for byte as before, so that
//! older readers still take it; one with relations (`related`) is version 2.
//!
//! Decoding applies the same checks as the JSON form and refuses with the same codes
//! (plus `catalog.invalid_binary` for a truncated, corrupt or unknown-version file).

use super::{
    check_id, check_label, check_related, Caps, Catalog, HashMap, Offer, MAX_CATALOG_BYTES,
    MAX_CREATIVE_BYTES, MAX_ID_LEN, MAX_ITEMS_PER_OFFER, MAX_OFFERS, MAX_RULES_PER_OFFER,
    MAX_TAGS_PER_OFFER, MAX_TOTAL_CAP, MAX_WINDOW_CAP,
};
use crate::error::{Code, Error, Result};

/// The first bytes of a binary catalog.
pub const MAGIC: &[u8; 4] = b"PRCB";
/// The newest binary format version, written for catalogs with relations (version 1, the
/// same without the relations section, is written for the others and still read).
pub const BINARY_VERSION: u16 = 2;
const NONE: u32 = u32::MAX;

pub use crate::hash::checksum;

struct Writer(Vec<u8>);

impl Writer {
    fn u32(&mut self, v: u32) {
        self.0.extend_from_slice(&v.to_le_bytes());
    }
    fn f32(&mut self, v: f32) {
        self.0.extend_from_slice(&v.to_le_bytes());
    }
    fn i64(&mut self, v: i64) {
        self.0.extend_from_slice(&v.to_le_bytes());
    }
    fn pad(&mut self) {
        while self.0.len() % 4 != 0 {
            self.0.push(0);
        }
    }
    fn table<'a>(&mut self, strings: impl Iterator<Item = &'a str> + Clone) {
        let mut end = 0u32;
        for s in strings.clone() {
            end += s.len() as u32;
            self.u32(end);
        }
        for s in strings {
            self.0.extend_from_slice(s.as_bytes());
        }
        self.pad();
    }
    fn ends(&mut self, n: usize, len: impl Fn(usize) -> usize) {
        let mut end = 0u32;
        for i in 0..n {
            end += len(i) as u32;
            self.u32(end);
        }
    }
}

impl Catalog {
    /// The catalog in the compact binary form, which [`Catalog::from_bytes`] reads back.
    pub fn to_bytes(&self) -> Vec<u8> {
        let n = self.offers.len();
        let mut w = Writer(Vec::with_capacity(64 + n * 64 + self.tag_ids.len() * 8));
        let version: u16 = if self.has_relations() { 2 } else { 1 };
        w.0.extend_from_slice(MAGIC);
        w.0.extend_from_slice(&version.to_le_bytes());
        w.0.extend_from_slice(&0u16.to_le_bytes());
        w.u32(n as u32);
        w.u32(self.tag_names.len() as u32);
        w.u32(self.item_names.len() as u32);
        w.u32(self.id.len() as u32);
        w.0.extend_from_slice(self.id.as_bytes());
        w.pad();
        w.u32(self.fallback.map_or(NONE, |f| f as u32));
        w.table(self.tag_names.iter().map(String::as_str));
        w.table(self.item_names.iter().map(String::as_str));
        w.table(self.offers.iter().map(|o| o.id.as_str()));
        for o in &self.offers {
            w.f32(o.boost);
        }
        for o in &self.offers {
            w.f32(o.popularity);
        }
        for cap in [
            |c: &Caps| c.per_hour,
            |c: &Caps| c.per_day,
            |c: &Caps| c.per_week,
            |c: &Caps| c.total,
        ] {
            for o in &self.offers {
                w.u32(cap(&o.caps).unwrap_or(NONE));
            }
        }
        for o in &self.offers {
            w.i64(o.start.unwrap_or(i64::MIN));
        }
        for o in &self.offers {
            w.i64(o.end.unwrap_or(i64::MIN));
        }
        for o in &self.offers {
            w.u32(o.buy_again as u32 | (o.creative.is_some() as u32) << 1);
        }
        w.ends(n, |i| {
            (self.offers[i].tags.1 - self.offers[i].tags.0) as usize
        });
        for &t in &self.tag_ids {
            w.u32(t);
        }
        for &x in &self.tag_weights {
            w.f32(x);
        }
        w.ends(n, |i| {
            (self.offers[i].items.1 - self.offers[i].items.0) as usize
        });
        for &t in &self.item_ids {
            w.u32(t);
        }
        w.ends(n, |i| self.offers[i].requires.len());
        for o in &self.offers {
            for &t in &o.requires {
                w.u32(t);
            }
        }
        w.ends(n, |i| self.offers[i].excludes.len());
        for o in &self.offers {
            for &t in &o.excludes {
                w.u32(t);
            }
        }
        w.table(
            self.offers
                .iter()
                .map(|o| o.creative.as_deref().unwrap_or("")),
        );
        if version >= 2 {
            w.ends(n, |i| {
                (self.offers[i].related.1 - self.offers[i].related.0) as usize
            });
            for &t in &self.related_ids {
                w.u32(t);
            }
            for &x in &self.related_weights {
                w.f32(x);
            }
        }
        let sum = checksum(&w.0);
        w.0.extend_from_slice(&sum.to_le_bytes());
        w.0
    }

    /// Reads a binary catalog, with the same checks and error codes as the JSON form.
    pub fn from_bytes(bytes: &[u8]) -> Result<Catalog> {
        if bytes.len() > MAX_CATALOG_BYTES {
            return Err(Error::new(
                Code::CatalogTooLarge,
                format!(
                    "the catalog is {} bytes; the limit is {MAX_CATALOG_BYTES}",
                    bytes.len()
                ),
            ));
        }
        if bytes.len() < 12 || &bytes[..4] != MAGIC {
            return Err(bad("this is not a pocketrank binary catalog"));
        }
        let version = u16::from_le_bytes([bytes[4], bytes[5]]);
        if !(1..=BINARY_VERSION).contains(&version) {
            return Err(bad(format!("binary format version {version} is not supported; this library reads versions 1 to {BINARY_VERSION}")));
        }
        if bytes.len() < 20 || bytes.len() % 4 != 0 {
            return Err(bad("the file is truncated"));
        }
        let (body, sum) = bytes.split_at(bytes.len() - 8);
        if checksum(body) != u64::from_le_bytes(sum.try_into().unwrap_or_default()) {
            return Err(bad(
                "the checksum does not match: the file is truncated or corrupt",
            ));
        }
        Reader { b: body, at: 8 }.catalog(version)
    }
}

fn bad(why: impl Into<String>) -> Error {
    Error::new(Code::CatalogInvalidBinary, why.into())
}

struct Reader<'a> {
    b: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8]> {
        let end = self
            .at
            .checked_add(n)
            .filter(|&e| e <= self.b.len())
            .ok_or_else(|| bad("the file is truncated"))?;
        let s = &self.b[self.at..end];
        self.at = end;
        Ok(s)
    }
    fn u32(&mut self) -> Result<u32> {
        let s = self.take(4)?;
        Ok(u32::from_le_bytes([s[0], s[1], s[2], s[3]]))
    }
    fn count(&mut self, limit: usize) -> Result<usize> {
        let n = self.u32()? as usize;
        // Every counted thing takes at least a byte: a count beyond the file is corrupt.
        if n > limit.min(self.b.len()) {
            return Err(bad(format!("a count of {n} is beyond the file")));
        }
        Ok(n)
    }
    fn align(&mut self) -> Result<()> {
        let pad = (4 - self.at % 4) % 4;
        self.take(pad).map(|_| ())
    }
    fn array<T, const W: usize>(&mut self, n: usize, f: fn([u8; W]) -> T) -> Result<Vec<T>> {
        let s = self.take(
            n.checked_mul(W)
                .ok_or_else(|| bad("a count is beyond the file"))?,
        )?;
        Ok(s.chunks_exact(W)
            .map(|c| f(c.try_into().unwrap_or([0; W])))
            .collect())
    }
    fn u32s(&mut self, n: usize) -> Result<Vec<u32>> {
        self.array(n, u32::from_le_bytes)
    }
    fn f32s(&mut self, n: usize) -> Result<Vec<f32>> {
        self.array(n, f32::from_le_bytes)
    }
    fn i64s(&mut self, n: usize) -> Result<Vec<i64>> {
        self.array(n, i64::from_le_bytes)
    }
    /// Cumulative ends → (start, end) ranges, checked to be monotonic and within `total`.
    fn ranges(&mut self, n: usize) -> Result<(Vec<(u32, u32)>, usize)> {
        let ends = self.u32s(n)?;
        let mut out = Vec::with_capacity(n);
        let mut start = 0u32;
        for e in ends {
            if e < start {
                return Err(bad("a column's offsets go backwards"));
            }
            out.push((start, e));
            start = e;
        }
        if start as usize > self.b.len() {
            return Err(bad("a column is longer than the file"));
        }
        Ok((out, start as usize))
    }
    fn table(&mut self, n: usize) -> Result<Vec<&'a str>> {
        let (ranges, total) = self.ranges(n)?;
        let bytes = self.take(total)?;
        let text = std::str::from_utf8(bytes).map_err(|_| bad("a string is not UTF-8"))?;
        let mut out = Vec::with_capacity(n);
        for (a, b) in ranges {
            out.push(
                text.get(a as usize..b as usize)
                    .ok_or_else(|| bad("a string is cut inside a character"))?,
            );
        }
        self.align()?;
        Ok(out)
    }

    fn catalog(&mut self, version: u16) -> Result<Catalog> {
        let n = self.u32()? as usize;
        if n == 0 {
            return Err(Error::at_field(
                Code::CatalogEmpty,
                "offers",
                "the catalog has no offers",
            ));
        }
        if n > MAX_OFFERS {
            return Err(Error::at_field(
                Code::CatalogTooManyOffers,
                "offers",
                format!("{n} offers; the limit is {MAX_OFFERS}"),
            ));
        }
        let n_tags = self.count(usize::MAX)?;
        let n_items = self.count(usize::MAX)?;
        let id_len = self.count(usize::MAX)?;
        let id = std::str::from_utf8(self.take(id_len)?)
            .map_err(|_| bad("the catalog ID is not UTF-8"))?
            .to_string();
        self.align()?;
        if id.len() > MAX_ID_LEN {
            return Err(Error::at_field(
                Code::CatalogInvalidId,
                "id",
                format!("longer than {MAX_ID_LEN} bytes"),
            ));
        }
        let fallback = self.u32()?;
        let tag_names = self.table(n_tags)?;
        let item_names = self.table(n_items)?;
        let ids = self.table(n)?;
        let boost = self.f32s(n)?;
        let popularity = self.f32s(n)?;
        let caps: Vec<Vec<u32>> = (0..4).map(|_| self.u32s(n)).collect::<Result<_>>()?;
        let start = self.i64s(n)?;
        let end = self.i64s(n)?;
        let flags = self.u32s(n)?;
        let (tag_ranges, n_tag_refs) = self.ranges(n)?;
        let tag_ids = self.u32s(n_tag_refs)?;
        let tag_weights = self.f32s(n_tag_refs)?;
        let (item_ranges, n_item_refs) = self.ranges(n)?;
        let item_ids = self.u32s(n_item_refs)?;
        let (req_ranges, n_req) = self.ranges(n)?;
        let req_ids = self.u32s(n_req)?;
        let (exc_ranges, n_exc) = self.ranges(n)?;
        let exc_ids = self.u32s(n_exc)?;
        let creatives = self.table(n)?;
        let (rel_ranges, n_rel) = if version >= 2 {
            self.ranges(n)?
        } else {
            (vec![(0, 0); n], 0)
        };
        let rel_ids = self.u32s(n_rel)?;
        let rel_weights = self.f32s(n_rel)?;
        if self.at != self.b.len() {
            return Err(bad("there are bytes after the last section"));
        }

        // Vocabularies: each string checked once, blamed on the first offer that uses it.
        let first_user = |vocab: usize, ranges: &[(u32, u32)], refs: &[u32]| {
            ranges
                .iter()
                .position(|&(a, b)| refs[a as usize..b as usize].contains(&(vocab as u32)))
                .unwrap_or(0)
        };
        let mut tag_index = HashMap::with_capacity_and_hasher(n_tags, Default::default());
        for (k, t) in tag_names.iter().enumerate() {
            if let Err(r) = check_label(t) {
                let field_of = [
                    (&tag_ranges, &tag_ids, "tags"),
                    (&req_ranges, &req_ids, "requires"),
                    (&exc_ranges, &exc_ids, "excludes"),
                ];
                let (i, field) = field_of
                    .iter()
                    .find_map(|(rg, ids, f)| {
                        rg.iter()
                            .position(|&(a, b)| ids[a as usize..b as usize].contains(&(k as u32)))
                            .map(|i| (i, *f))
                    })
                    .unwrap_or((0, "tags"));
                return Err(Error::at_offer(Code::CatalogInvalidId, i, field, r));
            }
            if tag_index.insert(t.to_string(), k as u32).is_some() {
                return Err(bad(format!(
                    "the tag {t:?} is listed twice in the vocabulary"
                )));
            }
        }
        let mut item_index = HashMap::with_capacity_and_hasher(n_items, Default::default());
        for (k, t) in item_names.iter().enumerate() {
            if let Err(r) = check_label(t) {
                let used = |rg: &[(u32, u32)], ids: &[u32]| {
                    rg.iter()
                        .any(|&(a, b)| ids[a as usize..b as usize].contains(&(k as u32)))
                };
                let (i, field) = if used(&item_ranges, &item_ids) || !used(&rel_ranges, &rel_ids) {
                    (first_user(k, &item_ranges, &item_ids), "items")
                } else {
                    (first_user(k, &rel_ranges, &rel_ids), "related")
                };
                return Err(Error::at_offer(Code::CatalogInvalidId, i, field, r));
            }
            if item_index.insert(t.to_string(), k as u32).is_some() {
                return Err(bad(format!(
                    "the item {t:?} is listed twice in the vocabulary"
                )));
            }
        }
        if tag_ids
            .iter()
            .chain(&req_ids)
            .chain(&exc_ids)
            .any(|&t| t as usize >= n_tags)
            || item_ids
                .iter()
                .chain(&rel_ids)
                .any(|&t| t as usize >= n_items)
        {
            return Err(bad("a reference points past its vocabulary"));
        }

        let mut offers = Vec::with_capacity(n);
        let mut offer_index = HashMap::with_capacity_and_hasher(n, Default::default());
        for i in 0..n {
            check_id(ids[i]).map_err(|r| Error::at_offer(Code::CatalogInvalidId, i, "id", r))?;
            let (ta, tb) = tag_ranges[i];
            let (ia, ib) = item_ranges[i];
            let (ra, rb) = req_ranges[i];
            let (ea, eb) = exc_ranges[i];
            let (la, lb) = rel_ranges[i];
            if (tb - ta) as usize > MAX_TAGS_PER_OFFER {
                return Err(Error::at_offer(
                    Code::CatalogTooManyTags,
                    i,
                    "tags",
                    format!("{} tags; the limit is {MAX_TAGS_PER_OFFER}", tb - ta),
                ));
            }
            if (ib - ia) as usize > MAX_ITEMS_PER_OFFER {
                return Err(Error::at_offer(
                    Code::CatalogTooManyTags,
                    i,
                    "items",
                    format!("{} items; the limit is {MAX_ITEMS_PER_OFFER}", ib - ia),
                ));
            }
            for (field, len) in [("requires", rb - ra), ("excludes", eb - ea)] {
                if len as usize > MAX_RULES_PER_OFFER {
                    return Err(Error::at_offer(
                        Code::CatalogTooManyTags,
                        i,
                        field,
                        format!("{len} tags; the limit is {MAX_RULES_PER_OFFER}"),
                    ));
                }
            }
            if !(boost[i].is_finite() && (-1.0..=1.0).contains(&boost[i])) {
                return Err(Error::at_offer(
                    Code::CatalogInvalidWeight,
                    i,
                    "boost",
                    format!("{} is outside [-1, 1]", boost[i]),
                ));
            }
            if !(popularity[i].is_finite() && (0.0..=1.0).contains(&popularity[i])) {
                return Err(Error::at_offer(
                    Code::CatalogInvalidWeight,
                    i,
                    "popularity",
                    format!("{} is outside [0, 1]", popularity[i]),
                ));
            }
            let ids_here = &tag_ids[ta as usize..tb as usize];
            for (k, (&t, &w)) in ids_here
                .iter()
                .zip(&tag_weights[ta as usize..tb as usize])
                .enumerate()
            {
                if !(w.is_finite() && (0.0..=1.0).contains(&w)) {
                    let tag = tag_names[t as usize];
                    return Err(Error::at_offer(
                        Code::CatalogInvalidWeight,
                        i,
                        "tags",
                        format!("the weight of {tag:?} is {w}; weights are in [0, 1]"),
                    ));
                }
                if ids_here[..k].contains(&t) {
                    return Err(Error::at_offer(
                        Code::CatalogInvalidField,
                        i,
                        "tags",
                        format!("{:?} is listed twice", tag_names[t as usize]),
                    ));
                }
            }
            check_related(
                i,
                &rel_ids[la as usize..lb as usize],
                &rel_weights[la as usize..lb as usize],
                &item_names,
            )?;
            let cap = |k: usize, max: u32, field: &str| -> Result<Option<u32>> {
                match caps[k][i] {
                    NONE => Ok(None),
                    c if c <= max => Ok(Some(c)),
                    c => Err(Error::at_offer(
                        Code::CatalogInvalidCap,
                        i,
                        field,
                        format!("{c} is not a whole number from 0 to {max}"),
                    )),
                }
            };
            let caps = Caps {
                per_hour: cap(0, MAX_WINDOW_CAP, "caps.perHour")?,
                per_day: cap(1, MAX_WINDOW_CAP, "caps.perDay")?,
                per_week: cap(2, MAX_WINDOW_CAP, "caps.perWeek")?,
                total: cap(3, MAX_TOTAL_CAP, "caps.total")?,
            };
            let s = (start[i] != i64::MIN).then_some(start[i]);
            let e = (end[i] != i64::MIN).then_some(end[i]);
            if let (Some(s), Some(e)) = (s, e) {
                if s > e {
                    return Err(Error::at_offer(
                        Code::CatalogInvalidWindow,
                        i,
                        "start",
                        "is after end",
                    ));
                }
            }
            let creative = if flags[i] & 2 != 0 {
                let c = creatives[i];
                if c.len() > MAX_CREATIVE_BYTES {
                    return Err(Error::at_offer(
                        Code::CatalogTooLarge,
                        i,
                        "creative",
                        format!("{} bytes; the limit is {MAX_CREATIVE_BYTES}", c.len()),
                    ));
                }
                serde_json::from_str::<serde::de::IgnoredAny>(c).map_err(|e| {
                    Error::at_offer(
                        Code::CatalogInvalidField,
                        i,
                        "creative",
                        format!("not JSON: {e}"),
                    )
                })?;
                Some(c.to_string())
            } else {
                None
            };
            if flags[i] & !3 != 0 {
                return Err(bad(format!("offer {i} has unknown flags")));
            }
            if offer_index.insert(ids[i].to_string(), i as u32).is_some() {
                return Err(Error::at_offer(
                    Code::CatalogDuplicateId,
                    i,
                    "id",
                    format!("{:?} is already the ID of an earlier offer", ids[i]),
                ));
            }
            offers.push(Offer {
                id: ids[i].to_string(),
                boost: boost[i],
                popularity: popularity[i],
                caps,
                start: s,
                end: e,
                buy_again: flags[i] & 1 != 0,
                creative,
                tags: (ta, tb),
                items: (ia, ib),
                related: (la, lb),
                requires: req_ids[ra as usize..rb as usize].to_vec(),
                excludes: exc_ids[ea as usize..eb as usize].to_vec(),
            });
        }
        let fallback = match fallback {
            NONE => None,
            f if (f as usize) < n => Some(f as usize),
            f => {
                return Err(Error::at_field(
                    Code::CatalogUnknownFallback,
                    "fallback",
                    format!("offer {f} does not exist"),
                ))
            }
        };
        Ok(Catalog::assemble(
            id,
            offers,
            offer_index,
            fallback,
            (
                tag_names.iter().map(|s| s.to_string()).collect(),
                tag_index,
                tag_ids,
                tag_weights,
            ),
            (
                item_names.iter().map(|s| s.to_string()).collect(),
                item_index,
                item_ids,
            ),
            (rel_ids, rel_weights),
        ))
    }
}
