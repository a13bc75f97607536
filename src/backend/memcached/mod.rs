//! memcached behind the backend trait: the text protocol over a byte stream
//! (Workers TCP sockets, std TCP and Unix sockets) or through an HTTP
//! gateway (nginx with the memc module), across several servers placed as
//! pymemcache, pylibmc and twemproxy place them.

pub mod flags;
pub mod placement;
