//! The fuzz corpora on stable: every file of `fuzz/corpus/<target>/` and
//! `fuzz/regressions/<target>/` (inputs that once found a bug) goes through the same
//! `crux::fuzz` function as the cargo-fuzz target, so `cargo test` replays them without
//! nightly or libFuzzer. The list of targets here must be the `[[bin]]`s of
//! `fuzz/Cargo.toml`: a new target cannot escape the test.

use std::path::{Path, PathBuf};

/// A target's name (its `[[bin]]`) and its entry point.
type Target = (&'static str, fn(&[u8]));

const TARGETS: &[Target] = &[
    ("registry", crux::fuzz::registry),
    ("index", crux::fuzz::index),
    ("projects", crux::fuzz::projects),
    ("project_config", crux::fuzz::project_config),
    ("host_json", crux::fuzz::host_json),
    ("host_toml", crux::fuzz::host_toml),
    ("host_import", crux::fuzz::host_import),
    ("crux_cli", crux::fuzz::crux_cli),
    ("age_payload", crux::fuzz::age_payload),
    ("www_authenticate", crux::fuzz::www_authenticate),
    ("as_metadata", crux::fuzz::as_metadata),
    ("resource_metadata", crux::fuzz::resource_metadata),
    ("sse", crux::fuzz::sse),
    ("jsonrpc_from_host", crux::fuzz::jsonrpc_from_host),
    ("jsonrpc_from_server", crux::fuzz::jsonrpc_from_server),
];

fn fuzz_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz")
}

/// The files of a corpus folder, sorted; none when it does not exist.
fn files(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut files: Vec<PathBuf> = entries
        .map(|e| e.expect("a readable corpus folder").path())
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    files
}

#[test]
fn targets_are_the_fuzz_crates_binaries() {
    let manifest = std::fs::read_to_string(fuzz_dir().join("Cargo.toml")).unwrap();
    let doc: toml_edit::DocumentMut = manifest.parse().unwrap();
    let mut bins: Vec<&str> = doc["bin"]
        .as_array_of_tables()
        .expect("[[bin]] tables")
        .iter()
        .map(|t| t["name"].as_str().expect("a bin name"))
        .collect();
    bins.sort_unstable();
    let mut ours: Vec<&str> = TARGETS.iter().map(|(name, _)| *name).collect();
    ours.sort_unstable();
    assert_eq!(ours, bins);
    for name in bins {
        let target = fuzz_dir().join("fuzz_targets").join(format!("{name}.rs"));
        let source = std::fs::read_to_string(&target).unwrap();
        assert!(
            source.contains(&format!("crux::fuzz::{name}(data)")),
            "{} calls crux::fuzz::{name}",
            target.display()
        );
    }
}

#[test]
fn every_corpus_file_runs_clean() {
    let started = std::time::Instant::now();
    for (name, run) in TARGETS {
        let corpus = files(&fuzz_dir().join("corpus").join(name));
        assert!(!corpus.is_empty(), "fuzz/corpus/{name} has no seed");
        let regressions = files(&fuzz_dir().join("regressions").join(name));
        for file in corpus.iter().chain(&regressions) {
            let data = std::fs::read(file).unwrap();
            // A panic names the file: replay it with `cargo +nightly fuzz run <target> <file>`.
            let outcome = std::panic::catch_unwind(|| run(&data));
            assert!(outcome.is_ok(), "{name}: {} fails", file.display());
        }
    }
    // Bounded: the corpora are minimized and small.
    assert!(started.elapsed().as_secs() < 60, "{:?}", started.elapsed());
}
