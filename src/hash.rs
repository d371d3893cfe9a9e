//! The crate's one 64-bit hash: a multiply-xorshift over 8-byte words. It keys the in-memory
//! maps ([`Fx`], for the short strings a catalog interns), the catalog's content hash (the
//! catalog guard), a question's key ([`crate::rank::Question`]) and the binary catalog's
//! checksum. Fast and not cryptographic: catalogs come from the retailer's own server, so hash
//! flooding is not a concern, and nothing here protects against tampering.

use std::hash::Hasher;

/// One step: mixes the word `x` into the state `h`.
pub(crate) fn mix(h: u64, x: u64) -> u64 {
    let v = (h ^ x).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    v ^ (v >> 29)
}

/// Mixes `bytes` into `h`, 8 bytes at a time (the tail zero-padded).
fn mix_bytes(mut h: u64, bytes: &[u8]) -> u64 {
    let mut chunks = bytes.chunks_exact(8);
    for c in &mut chunks {
        h = mix(
            h,
            u64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]),
        );
    }
    let mut tail = [0u8; 8];
    tail[..chunks.remainder().len()].copy_from_slice(chunks.remainder());
    mix(h, u64::from_le_bytes(tail))
}

/// A 64-bit checksum of bytes (the binary catalog's trailer; part of its format).
pub fn checksum(bytes: &[u8]) -> u64 {
    mix_bytes(0x243f_6a88_85a3_08d3u64 ^ bytes.len() as u64, bytes)
}

/// The same hash as a [`Hasher`], for hash maps and for keys built from several fields.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct Fx(u64);

impl Hasher for Fx {
    fn write(&mut self, bytes: &[u8]) {
        self.0 = mix_bytes(self.0, bytes);
    }
    fn write_u8(&mut self, b: u8) {
        self.0 = mix(self.0, b as u64);
    }
    fn write_u64(&mut self, n: u64) {
        self.0 = mix(self.0, n);
    }
    fn write_usize(&mut self, n: usize) {
        self.0 = mix(self.0, n as u64);
    }
    fn finish(&self) -> u64 {
        self.0
    }
}
