//! TEMPORARY shim until the flags work lands (same API).
use crate::primitives::error::Result;
use crate::primitives::serializer::Serializer;
use crate::primitives::value::Value;

/// How values are written.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ValueFormat {
    /// Framed.
    #[default]
    Framed,
}
impl ValueFormat {
    /// Names.
    pub const NAMES: [&'static str; 1] = ["framed"];
    /// By name.
    pub fn from_name(name: &str) -> Option<Self> {
        (name == "framed").then_some(ValueFormat::Framed)
    }
    /// Name.
    pub fn name(self) -> &'static str {
        "framed"
    }
    /// Encode.
    pub fn encode(self, value: &Value) -> Result<(u32, Vec<u8>)> {
        Ok((0, Serializer::Framed.encode(value)?))
    }
    /// Decode.
    pub fn decode(self, _flags: u32, bytes: &[u8]) -> Result<Value> {
        Serializer::Framed.decode(bytes)
    }
}
