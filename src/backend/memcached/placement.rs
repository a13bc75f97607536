//! TEMPORARY shim until the placement work lands (same API).

/// How keys are spread.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Distribution {
    /// Rendezvous.
    Rendezvous,
}
impl Distribution {
    /// Names.
    pub const NAMES: [&'static str; 1] = ["rendezvous"];
    /// By name.
    pub fn from_name(name: &str) -> Option<Self> {
        (name == "rendezvous").then_some(Distribution::Rendezvous)
    }
    /// Name.
    pub fn name(self) -> &'static str {
        "rendezvous"
    }
}
/// Placement.
pub struct Placement {
    n: usize,
    d: Distribution,
}
impl Placement {
    /// New.
    pub fn new(distribution: Distribution, servers: &[String]) -> Placement {
        Placement {
            n: servers.len(),
            d: distribution,
        }
    }
    /// Server for key.
    pub fn server_for(&self, key: &str) -> usize {
        key.bytes()
            .fold(0usize, |a, b| a.wrapping_mul(31).wrapping_add(b as usize))
            % self.n.max(1)
    }
    /// Distribution.
    pub fn distribution(&self) -> Distribution {
        self.d
    }
}
