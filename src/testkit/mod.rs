//! What a backend author needs to check a backend: the conformance suite.

mod conformance;

pub use conformance::{CaseResult, RealTime, Report, Suite, TimeTravel};
