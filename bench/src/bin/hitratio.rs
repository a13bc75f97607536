//! Hit-ratio replay: real traces and seeded Zipf workloads through edgecache's
//! store, `lru`, `quick_cache`, `moka` and Bélády's OPT, as "get; on a miss,
//! insert". Prints one Markdown table.
//!
//! Usage: `cargo run --release -p edgecache-bench --bin hitratio -- [--traces DIR] [--only SUBSTR]...`
//! (`$EDGECACHE_TRACES` also sets the trace directory; default `../shared/traces`
//! seen from the repository root).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use edgecache_bench::sims::{self, Capacity, Sim};

struct Workload {
    name: String,
    /// (key, size) requests; size 1 for unsized traces.
    requests: Arc<Vec<(u64, u64)>>,
    caps: Vec<(String, Capacity)>,
}

const CACHES: [&str; 5] = ["edgecache", "lru", "quick_cache", "moka", "OPT"];

fn run(cache: &str, requests: &[(u64, u64)], cap: Capacity) -> Option<f64> {
    let mut sim: Box<dyn Sim> = match (cache, cap) {
        ("edgecache", _) => Box::new(sims::Edge::new(cap)),
        ("lru", _) => Box::new(sims::Lru::new(cap)),
        ("quick_cache", Capacity::Entries(n)) => Box::new(sims::QuickUnit::new(n)),
        ("quick_cache", _) => Box::new(sims::Quick::new(cap)),
        ("moka", _) => Box::new(sims::Moka::new(cap)),
        ("OPT", Capacity::Entries(n)) => {
            let keys: Vec<u64> = requests.iter().map(|r| r.0).collect();
            return Some(sims::opt_hit_ratio(&keys, n));
        }
        _ => return None,
    };
    let mut hits = 0u64;
    for &(k, s) in requests {
        hits += sim.access(k, s) as u64;
    }
    Some(hits as f64 / requests.len().max(1) as f64)
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut traces_flag = None;
    let mut only: Vec<String> = Vec::new();
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--traces" => traces_flag = it.next().cloned(),
            "--only" => only.extend(it.next().cloned()),
            other => {
                eprintln!("unknown argument {other}; usage: hitratio [--traces DIR] [--only SUBSTR]...");
                std::process::exit(2);
            }
        }
    }
    let dir = edgecache_bench::traces_dir(traces_flag.as_deref());
    let wanted = |name: &str| only.is_empty() || only.iter().any(|o| name.contains(o.as_str()));

    let mut workloads = Vec::new();
    let entry_traces: [(&str, &[usize]); 4] = [
        ("web07", &[500, 1000, 2000]),
        ("OLTP", &[1000, 2000, 5000]),
        ("orm-busy", &[1000, 5000]),
        ("loop", &[256, 512, 768]),
    ];
    for (name, caps) in entry_traces {
        if !wanted(name) {
            continue;
        }
        let path = dir.join(format!("{name}.u64.gz"));
        let keys = edgecache_bench::read_u64_trace(&path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
        workloads.push(Workload {
            name: name.to_string(),
            requests: Arc::new(keys.into_iter().map(|k| (k, 1)).collect()),
            caps: caps.iter().map(|&c| (c.to_string(), Capacity::Entries(c))).collect(),
        });
    }
    let zipfs: [(usize, f64, &[usize]); 2] = [(100_000, 0.9, &[1000, 10_000]), (10_000, 1.0, &[100, 1000, 10_000])];
    for (n, s, caps) in zipfs {
        let name = format!("zipf-{s:.1}-{}k", n / 1000);
        if !wanted(&name) {
            continue;
        }
        let keys = edgecache_bench::zipf_trace(n, s, 2_000_000, 42);
        workloads.push(Workload {
            name,
            requests: Arc::new(keys.into_iter().map(|k| (k, 1)).collect()),
            caps: caps.iter().map(|&c| (c.to_string(), Capacity::Entries(c))).collect(),
        });
    }
    if wanted("cdn") {
        let path = dir.join("cdn-sizes.txt.gz");
        let reqs =
            edgecache_bench::read_sized_trace(&path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
        let mut seen = std::collections::HashSet::new();
        let unique: u64 = reqs.iter().filter(|r| seen.insert(r.0)).map(|r| r.1).sum();
        workloads.push(Workload {
            name: "cdn (bytes)".to_string(),
            requests: Arc::new(reqs),
            caps: [1u64, 5, 10, 25]
                .iter()
                .map(|&p| {
                    (
                        format!("{p}% = {} B", unique * p / 100),
                        Capacity::Bytes(unique * p / 100),
                    )
                })
                .collect(),
        });
    }

    // Jobs: (workload, capacity, cache), run on a pool of one thread per core.
    let mut jobs = Vec::new();
    for (w, wl) in workloads.iter().enumerate() {
        for c in 0..wl.caps.len() {
            for cache in 0..CACHES.len() {
                jobs.push((w, c, cache));
            }
        }
    }
    let results = Mutex::new(vec![None; jobs.len()]);
    let next = AtomicUsize::new(0);
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    std::thread::scope(|s| {
        for _ in 0..threads {
            s.spawn(|| loop {
                let j = next.fetch_add(1, Ordering::Relaxed);
                let Some(&(w, c, cache)) = jobs.get(j) else {
                    break;
                };
                let wl = &workloads[w];
                let r = run(CACHES[cache], &wl.requests, wl.caps[c].1);
                results.lock().expect("not poisoned")[j] = r;
            });
        }
    });
    let results = results.into_inner().expect("not poisoned");

    println!(
        "| trace | capacity | {} | edgecache − best anchor | edgecache − lru |",
        CACHES.join(" | ")
    );
    println!("|---|---|{}---|---|", "---:|".repeat(CACHES.len()));
    let mut j = 0;
    for wl in &workloads {
        for (label, _) in &wl.caps {
            let row = &results[j..j + CACHES.len()];
            j += CACHES.len();
            let pct = |r: Option<f64>| r.map_or("–".to_string(), |h| format!("{:.2}", h * 100.0));
            let edge = row[0].unwrap_or(0.0);
            // The anchors: lru, quick_cache and moka (OPT is the bound, not an anchor).
            let best_anchor = row[1..4].iter().flatten().fold(0.0f64, |a, &b| a.max(b));
            println!(
                "| {} | {} | {} | {:+.2} | {:+.2} |",
                wl.name,
                label,
                row.iter().map(|&r| pct(r)).collect::<Vec<_>>().join(" | "),
                (edge - best_anchor) * 100.0,
                (edge - row[1].unwrap_or(0.0)) * 100.0
            );
        }
    }
}
