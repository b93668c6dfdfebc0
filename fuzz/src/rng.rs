//! xorshift64*: the deterministic choices a target derives from its input (read sizes,
//! interleavings), so that every input replays the same way.

/// A small deterministic generator.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    /// A generator seeded from `seed` (any value, 0 included).
    pub fn new(seed: u64) -> Rng {
        Rng(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1)
    }

    /// The next 64 random bits.
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// A value in `0..n` (`0` when `n == 0`).
    pub fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            return 0;
        }
        usize::try_from(self.next() % u64::try_from(n).unwrap_or(u64::MAX)).unwrap_or(0)
    }

    /// Read sizes that cut `len` bytes: mostly small reads, sometimes large ones.
    pub fn cuts(&mut self, len: usize) -> Vec<usize> {
        let mut cuts = Vec::new();
        let mut done = 0;
        while done < len {
            let size = if self.below(4) == 0 {
                1 + self.below(256)
            } else {
                1 + self.below(8)
            };
            let size = size.min(len - done);
            cuts.push(size);
            done += size;
        }
        cuts
    }
}
