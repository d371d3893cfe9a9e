//! Randomness, passed in to every function that draws, so that every decision can be replayed
//! (the engine seeds it from the browser's `crypto.getRandomValues`, tests from a fixed seed).

/// A source of random numbers, passed in so that every decision can be replayed.
pub trait Random {
    /// 64 random bits.
    fn next_u64(&mut self) -> u64;

    /// A uniform number in [0, 1).
    fn next_f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    /// A uniform integer in [0, n), n > 0.
    fn below(&mut self, n: usize) -> usize {
        ((self.next_u64() as u128 * n as u128) >> 64) as usize
    }
}

/// SplitMix64: small, fast, and enough for exploration. Seeded by the caller.
#[derive(Debug, Clone)]
pub struct SplitMix64(pub u64);

impl Random for SplitMix64 {
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
}
