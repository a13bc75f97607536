//! libmemcached's ketama continuum (pylibmc's `ketama` and `ketama_weighted`)
//! and twemproxy's, which is the weighted one.

use super::hash::{md5_words, one_at_a_time};

/// Points on a ring of `u32`, sorted; a key goes to the first point at or
/// after its hash, wrapping to the first point.
pub(super) struct Continuum {
    /// (value, server index), sorted by value.
    points: Vec<(u32, usize)>,
    md5: bool,
}

impl Continuum {
    /// `md5: false` is pylibmc `{"ketama": True}`: 100 points per server,
    /// each `one_at_a_time("<name>-<i>")`, and keys hashed with
    /// one_at_a_time too. `md5: true` is `{"ketama_weighted": True}` and
    /// twemproxy's `distribution: ketama` with `hash: md5`: 160 points per
    /// server (for equal weights), four from each `md5("<name>-<i>")`, and
    /// keys hashed with md5. The two rings share no point, so they place
    /// keys differently (figures in the module doc).
    pub(super) fn new(servers: &[String], md5: bool) -> Self {
        let mut points = Vec::new();
        for (index, server) in servers.iter().enumerate() {
            let name = point_name(server);
            if md5 {
                for i in 0..md5_hashes_per_server(servers.len()) {
                    points.extend(md5_words(format!("{name}-{i}").as_bytes()).map(|value| (value, index)));
                }
            } else {
                points.extend((0..100).map(|i| (one_at_a_time(format!("{name}-{i}").as_bytes()), index)));
            }
        }
        // Stable: equal points (about a 1 in 40,000 chance for three
        // servers) keep server order; the C clients' qsort promises nothing.
        points.sort_by_key(|&(value, _)| value);
        Continuum { points, md5 }
    }

    pub(super) fn pick(&self, key: &str) -> usize {
        let hash = if self.md5 {
            md5_words(key.as_bytes())[0]
        } else {
            one_at_a_time(key.as_bytes())
        };
        let at = self.points.partition_point(|&(value, _)| value < hash);
        self.points
            .get(at)
            .or(self.points.first())
            .map_or(0, |&(_, index)| index)
    }
}

/// How many md5 digests (four points each) a server gets out of n equally
/// weighted servers: both C clients compute `floor(1/n * 160 / 4 * n)` in
/// single precision, which is 40, except that rounding makes it 39 for 25,
/// 47, 50, 55, ... servers (10,202 of the first 100,000 n).
fn md5_hashes_per_server(n: usize) -> u32 {
    let n = n as f32;
    let pct = 1.0_f32 / n;
    let hashes = ((pct * 160.0 / 4.0 * n) as f64 + 0.000_000_000_1) as f32;
    (hashes as f64).floor() as u32
}

/// The name a server's ring points are made from, as libmemcached 1.0.16
/// builds it from pylibmc's server spec: "host" when the port is 11211 (the
/// default port is left out), else "host:port", the port as a number and an
/// IPv6 address without brackets. twemproxy names unnamed TCP servers the
/// same way (its docs say "host:port:weight"; the weight is not part of
/// it). A Unix socket path ("/path") has port 0 in libmemcached, so its
/// points are `"/path:0-<i>"`; twemproxy names the same socket "/path:"
/// (measured: 333 of 500 keys differ), so over Unix sockets this follows
/// pylibmc, not twemproxy.
fn point_name(server: &str) -> String {
    if server.starts_with('/') {
        return format!("{server}:0");
    }
    let (host, port) = if let Some(v6) = server.strip_prefix('[') {
        match v6.rsplit_once("]:") {
            Some((host, port)) => (host, port),
            None => (v6.trim_end_matches(']'), "11211"),
        }
    } else {
        server.split_once(':').unwrap_or((server, "11211"))
    };
    match port.parse::<u16>() {
        // libmemcached takes port 0 for the default.
        Ok(0 | 11211) => host.to_string(),
        Ok(port) => format!("{host}:{port}"),
        Err(_) => format!("{host}:{port}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn point_names_follow_libmemcached() {
        assert_eq!(point_name("127.0.0.1:11211"), "127.0.0.1");
        assert_eq!(point_name("localhost"), "localhost");
        assert_eq!(point_name("cache:11212"), "cache:11212");
        assert_eq!(point_name("cache:011212"), "cache:11212");
        assert_eq!(point_name("[::1]:11212"), "::1:11212");
        assert_eq!(point_name("[::1]"), "::1");
        assert_eq!(point_name("/var/run/memcached.sock"), "/var/run/memcached.sock:0");
    }

    #[test]
    fn equal_weights_get_160_points_but_not_always() {
        assert_eq!(md5_hashes_per_server(1), 40);
        assert_eq!(md5_hashes_per_server(3), 40);
        assert_eq!(md5_hashes_per_server(24), 40);
        assert_eq!(md5_hashes_per_server(25), 39);
        assert_eq!(md5_hashes_per_server(50), 39);
    }
}
