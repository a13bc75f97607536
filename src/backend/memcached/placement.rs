//! Where a key lives among several memcached servers (filled in by the placement work).
