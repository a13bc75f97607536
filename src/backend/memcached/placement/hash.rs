//! The three hashes the reference clients place keys with, bit for bit.

use md5::{Digest, Md5};

/// Jenkins' one-at-a-time hash as libmemcached's hashkit computes it (the
/// key hash of pylibmc's modula and ketama, and the hash of ketama's ring
/// points). hashkit reads each byte through a `char`, which is signed on
/// x86-64 Linux (where the pylibmc wheels run), so bytes of 0x80 and above
/// enter sign-extended: hashing them unsigned moves every key with a
/// non-ASCII byte (figures in the module doc). On platforms where `char`
/// is unsigned (ARM Linux) libmemcached itself places such keys
/// differently; this follows x86-64.
pub(super) fn one_at_a_time(bytes: &[u8]) -> u32 {
    let mut h: u32 = 0;
    for &b in bytes {
        h = h.wrapping_add(b as i8 as u32);
        h = h.wrapping_add(h << 10);
        h ^= h >> 6;
    }
    h = h.wrapping_add(h << 3);
    h ^= h >> 11;
    h.wrapping_add(h << 15)
}

/// The MD5 digest of `bytes` as four little-endian words: word 0 is the key
/// hash of libmemcached's and twemproxy's `md5`, and a ketama ring point
/// name yields all four as points.
pub(super) fn md5_words(bytes: &[u8]) -> [u32; 4] {
    let d = Md5::digest(bytes);
    core::array::from_fn(|i| u32::from_le_bytes([d[4 * i], d[4 * i + 1], d[4 * i + 2], d[4 * i + 3]]))
}

/// MurmurHash3 x86_32 with seed 0, pymemcache's `murmur3_32`.
pub(super) fn murmur3_32(bytes: &[u8]) -> u32 {
    murmur3::murmur3_32(&mut &bytes[..], 0).expect("reading a byte slice cannot fail")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reference_values() {
        // From pymemcache's murmur3_32 (on the one-byte-per-character input
        // of "aé€😀" and "abcd€") and the bundled libmemcached's
        // memcached_generate_hash_value.
        assert_eq!(murmur3_32(b""), 0);
        assert_eq!(murmur3_32(b"hello world"), 0x5e92_8f0f);
        assert_eq!(murmur3_32(&[b'a', 0xe9, 0xac, 0x00]), 0xbb7c_3550);
        assert_eq!(murmur3_32(&[b'a', b'b', b'c', b'd', 0xac]), 0x4cf0_a632);
        assert_eq!(one_at_a_time(b""), 0);
        assert_eq!(one_at_a_time(b"a"), 0xca2e_9442);
        assert_eq!(one_at_a_time("é€😀".as_bytes()), 0x1a03_010a);
        assert_eq!(one_at_a_time(b"\xff\x80abc"), 0xea10_f0b9);
        assert_eq!(md5_words(b"")[0], 0xd98c_1dd4);
        assert_eq!(md5_words("é€😀".as_bytes())[0], 0x9fa3_073b);
    }
}
