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

/// Length of a [`SessionKeys`] key.
pub const SESSION_KEY_LEN: usize = 40;

/// One 40-byte key per item, `"session:"` + 32 hex digits (16 random, then
/// the item's number), all in one `String` (item `i` at `40 · i`) and made
/// before any clock starts. One buffer rather than a `String` per item: the
/// addresses of separately allocated keys depended on the heap left by
/// earlier runs, which moved the timed 40-byte rows by ±15 % from run to run,
/// and each read chased a pointer first.
pub struct SessionKeys(String);

impl SessionKeys {
    pub fn new(items: usize, seed: u64) -> Self {
        let mut rng = Rng::new(seed ^ 0xABCD);
        let mut all = String::with_capacity(items * SESSION_KEY_LEN);
        for i in 0..items as u64 {
            all.push_str(&format!("session:{:016x}{:016x}", rng.next_u64(), i));
        }
        SessionKeys(all)
    }

    /// Item `i`'s key.
    #[inline]
    pub fn key(&self, i: usize) -> &str {
        &self.0[i * SESSION_KEY_LEN..(i + 1) * SESSION_KEY_LEN]
    }
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
