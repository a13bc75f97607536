//! Reading the shared traces (gzip files under `../shared/traces`).

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};

/// Where the traces live: `$EDGECACHE_TRACES` if set, else `../shared/traces`
/// seen from the repository root (tried from the current directory and from
/// this crate's manifest directory).
pub fn traces_dir(flag: Option<&str>) -> PathBuf {
    if let Some(dir) = flag {
        return PathBuf::from(dir);
    }
    if let Ok(dir) = std::env::var("EDGECACHE_TRACES") {
        return PathBuf::from(dir);
    }
    let candidates = [
        PathBuf::from("../shared/traces"),
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/traces"),
        PathBuf::from("../../shared/traces"),
    ];
    for c in &candidates {
        if c.is_dir() {
            return c.clone();
        }
    }
    candidates[0].clone()
}

fn open_gz(path: &Path) -> std::io::Result<impl Read> {
    let file = std::fs::File::open(path)?;
    Ok(flate2::read::GzDecoder::new(BufReader::new(file)))
}

/// Reads a gzip of little-endian u64 keys.
pub fn read_u64_trace(path: &Path) -> std::io::Result<Vec<u64>> {
    let mut bytes = Vec::new();
    open_gz(path)?.read_to_end(&mut bytes)?;
    Ok(bytes
        .chunks_exact(8)
        .map(|c| u64::from_le_bytes(c.try_into().expect("8 bytes")))
        .collect())
}

/// Reads a gzip of `time id size` lines into `(id, size)` requests.
pub fn read_sized_trace(path: &Path) -> std::io::Result<Vec<(u64, u64)>> {
    let mut out = Vec::new();
    for line in BufReader::new(open_gz(path)?).lines() {
        let line = line?;
        let mut it = line.split_ascii_whitespace();
        let (_, id, size) = (it.next(), it.next(), it.next());
        if let (Some(id), Some(size)) = (id, size) {
            if let (Ok(id), Ok(size)) = (id.parse(), size.parse()) {
                out.push((id, size));
            }
        }
    }
    Ok(out)
}
