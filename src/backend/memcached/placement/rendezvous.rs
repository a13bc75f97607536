//! pymemcache's `HashClient`: rendezvous (highest random weight) hashing.

use super::hash::murmur3_32;

/// One node per configured server, in order.
pub(super) struct Rendezvous {
    nodes: Vec<Node>,
}

struct Node {
    /// pymemcache's node key, which ties compare.
    name: String,
    /// `name` and the `-` that joins it to the key, as hashed.
    prefix: Vec<u8>,
}

impl Rendezvous {
    pub(super) fn new(servers: &[String]) -> Self {
        let nodes = servers
            .iter()
            .map(|server| {
                let name = node_name(server);
                let mut prefix = latin1(&name);
                prefix.push(b'-');
                Node { name, prefix }
            })
            .collect();
        Rendezvous { nodes }
    }

    /// Each node scores `murmur3_32(f"{node}-{key}")`; the highest wins, a
    /// tie goes to the greater node name (pymemcache's `max(str(node),
    /// str(winner))`), and a server listed twice is one node, the first.
    /// pymemcache hashes the key before its own `key_prefix` is added (Ellar
    /// sets none and prefixes keys itself), so with that option the key here
    /// is the unprefixed one.
    pub(super) fn pick(&self, key: &str) -> usize {
        let key = latin1(key);
        let mut hashed = Vec::new();
        let mut best: Option<(u32, &str, usize)> = None;
        for (index, node) in self.nodes.iter().enumerate() {
            hashed.clear();
            hashed.extend_from_slice(&node.prefix);
            hashed.extend_from_slice(&key);
            let score = murmur3_32(&hashed);
            let wins = match best {
                None => true,
                Some((high, name, _)) => score > high || (score == high && node.name.as_str() > name),
            };
            if wins {
                best = Some((score, &node.name, index));
            }
        }
        best.map_or(0, |(_, _, index)| index)
    }
}

/// What pymemcache's murmur3 reads: it hashes a `str`, one `ord(c) & 0xFF`
/// per character with the character count as the length, not the UTF-8
/// bytes ("€" is one byte, 0xAC, and "ĩ", U+0129, hashes like ")").
fn latin1(s: &str) -> Vec<u8> {
    s.chars().map(|c| c as u32 as u8).collect()
}

/// pymemcache's node key for a server: `normalize_server_spec` then
/// `HashClient._make_client_key`. "host:port" and "host" (port 11211)
/// become "host:port" with the port as a number; "[v6]:port" loses its
/// brackets; a Unix socket ("/path" or "unix:/path") is its path. (Ellar's
/// `PyMemcacheCacheBackend` splits on ":" itself: the same names for
/// "host:port" and "host", but it cannot use a Unix socket.)
fn node_name(server: &str) -> String {
    if let Some(path) = server.strip_prefix("unix:") {
        return path.to_string();
    }
    if server.starts_with('/') {
        return server.to_string();
    }
    let (host, port) = match server.rsplit_once(':') {
        Some((host, port)) if !server.ends_with(']') => {
            (host, port.parse::<u32>().map_or(port.to_string(), |p| p.to_string()))
        }
        _ => (server, "11211".to_string()),
    };
    let host = if host.starts_with('[') {
        host.trim_matches(['[', ']'])
    } else {
        host
    };
    format!("{host}:{port}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn node_names_follow_pymemcache() {
        assert_eq!(node_name("127.0.0.1:11211"), "127.0.0.1:11211");
        assert_eq!(node_name("localhost"), "localhost:11211");
        assert_eq!(node_name("cache:011212"), "cache:11212");
        assert_eq!(node_name("[::1]:11212"), "::1:11212");
        assert_eq!(node_name("[::1]"), "::1:11211");
        assert_eq!(node_name("/var/run/memcached.sock"), "/var/run/memcached.sock");
        assert_eq!(node_name("unix:/var/run/memcached.sock"), "/var/run/memcached.sock");
    }

    #[test]
    fn keys_are_hashed_one_byte_per_character() {
        assert_eq!(latin1("aé€😀"), [b'a', 0xe9, 0xac, 0x00]);
    }
}
