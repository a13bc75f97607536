//! Seeded workloads, std only (also compiled into the wasm speed benchmark).

/// SplitMix64: a small, seeded, good-enough generator for workloads.
#[derive(Clone, Debug)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    pub fn next_f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }
}

/// Seeded Zipf sampler over ranks `0..n` (rank 0 the most popular), by
/// inverting the exact cumulative distribution.
pub struct Zipf {
    cdf: Vec<f64>,
    rng: Rng,
}

impl Zipf {
    pub fn new(n: usize, exponent: f64, seed: u64) -> Self {
        let mut cdf = Vec::with_capacity(n);
        let mut sum = 0.0;
        for i in 1..=n {
            sum += 1.0 / (i as f64).powf(exponent);
            cdf.push(sum);
        }
        for c in &mut cdf {
            *c /= sum;
        }
        Zipf {
            cdf,
            rng: Rng::new(seed),
        }
    }

    pub fn sample(&mut self) -> u64 {
        let u = self.rng.next_f64();
        self.cdf.partition_point(|&c| c < u).min(self.cdf.len() - 1) as u64
    }
}

/// `ops` Zipf-distributed keys.
pub fn zipf_trace(n: usize, exponent: f64, ops: usize, seed: u64) -> Vec<u64> {
    let mut z = Zipf::new(n, exponent, seed);
    (0..ops).map(|_| z.sample()).collect()
}

/// One 40-byte key per item: `"session:"` + 32 hex digits (16 random, then
/// the item's number), made before any clock starts.
pub fn session_keys(items: usize, seed: u64) -> Vec<String> {
    let mut rng = Rng::new(seed ^ 0xABCD);
    (0..items as u64)
        .map(|i| format!("session:{:016x}{:016x}", rng.next_u64(), i))
        .collect()
}

/// Decimal digits of `n` in `buf`, without allocating (what a caller with
/// numeric keys pays to use the store's `&str` API).
#[inline]
pub fn fmt_u64(buf: &mut [u8; 20], mut n: u64) -> &str {
    let mut i = buf.len();
    loop {
        i -= 1;
        buf[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    std::str::from_utf8(&buf[i..]).unwrap_or("")
}
