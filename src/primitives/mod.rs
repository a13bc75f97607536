//! The primitives every layer uses: errors, Ellar's keys, TTLs, values and
//! their wire format, and the clock. Pure: no I/O, no platform.

pub mod clock;
pub mod error;
pub mod key;
pub mod order;
pub mod serializer;
pub mod ttl;
pub mod value;
