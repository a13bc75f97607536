//! Value formats in memcached item flags (filled in by the flags work).
