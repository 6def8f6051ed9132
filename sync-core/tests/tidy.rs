//! Keeps `sync-core/src` pure (no IO, no clock, no threads, no async
//! runtime) and its two halves apart: the protocol never names the domain.

use std::path::{Path, PathBuf};

const FORBIDDEN: &[&str] = &[
    "SystemTime::now",
    "Instant::now",
    "std::fs",
    "std::net",
    "tokio",
    "thread::spawn",
    "web_sys",
    "getrandom",
    "rand::",
];

/// The domain half of the crate: the territory document and what is built
/// on it. Every other module under `src/` (except the crate root and the
/// tests, which see both halves) is protocol, new ones included.
const DOMAIN: &[&str] = &["agenda", "rythme", "flux"];

/// Files that may name both halves.
const BOTH: &[&str] = &["lib.rs", "tests.rs", "tests"];

fn rust_files(dir: &Path, found: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("readable source dir") {
        let path = entry.expect("dir entry").path();
        if path.is_dir() {
            rust_files(&path, found);
        } else if path.extension().is_some_and(|e| e == "rs") {
            found.push(path);
        }
    }
}

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

#[test]
fn core_sources_do_no_io_read_no_clock_and_spawn_nothing() {
    // Everything under src/, its unit tests and simulator included; this
    // check itself lives outside src/ because it has to read files.
    let mut files = Vec::new();
    rust_files(&src(), &mut files);
    assert!(files.len() >= 5, "expected the core's modules, found {files:?}");

    let mut violations = Vec::new();
    for file in &files {
        let text = std::fs::read_to_string(file).expect("readable source");
        for (n, line) in text.lines().enumerate() {
            for word in FORBIDDEN {
                if line.contains(word) {
                    violations.push(format!("{}:{}: {word}", file.display(), n + 1));
                }
            }
        }
    }
    assert!(violations.is_empty(), "sync-core must stay sans-IO:\n{}", violations.join("\n"));
}

/// Where a line of a protocol file names a domain module: a path
/// (`crate::agenda`, `super::flux`, also in doc links) anywhere, or the
/// module's name as a word in code (`use crate::{agenda, …}`, `agenda::Edit`).
fn names_the_domain(line: &str) -> Option<&'static str> {
    let code = line.split("//").next().unwrap_or_default();
    DOMAIN.iter().copied().find(|module| {
        let path = ["crate::", "super::", "sync_core::"].iter().any(|p| line.contains(&format!("{p}{module}")));
        let word = code.split(|c: char| !(c.is_alphanumeric() || c == '_')).any(|w| w == *module);
        path || word
    })
}

fn protocol_violations(root: &Path) -> Vec<String> {
    let mut files = Vec::new();
    rust_files(root, &mut files);
    let mut violations = Vec::new();
    for file in &files {
        let relative = file.strip_prefix(root).expect("under src");
        let first = relative.components().next().and_then(|c| c.as_os_str().to_str()).unwrap_or_default();
        let first = first.trim_end_matches(".rs");
        if DOMAIN.contains(&first) || BOTH.contains(&first) || BOTH.contains(&relative.to_str().unwrap_or_default()) {
            continue;
        }
        let text = std::fs::read_to_string(file).expect("readable source");
        for (n, line) in text.lines().enumerate() {
            if let Some(module) = names_the_domain(line) {
                violations.push(format!("{}:{}: names `{module}`", relative.display(), n + 1));
            }
        }
    }
    violations
}

#[test]
fn the_protocol_never_names_the_domain() {
    // The dependency runs one way: `agenda/` (and `rythme/`, `flux/`)
    // build on `Repo`'s methods; the protocol modules (ids, wire, limits,
    // storage, changes_job, repo/) know nothing of them.
    let violations = protocol_violations(&src());
    assert!(violations.is_empty(), "a protocol module names the domain:\n{}", violations.join("\n"));
}

#[test]
fn the_domain_check_sees_a_mention() {
    for line in [
        "use crate::agenda;",
        "use crate::{agenda, ids};",
        "    let e: agenda::Edit = todo();",
        "/// See [`crate::flux::ics`].",
        "use super::rythme::Regle;",
    ] {
        assert!(names_the_domain(line).is_some(), "{line}");
    }
    for line in ["// the agenda is elsewhere", "let fluxes = 1;", "/// the domain side (`agenda/`)"] {
        assert!(names_the_domain(line).is_none(), "{line}");
    }
}
