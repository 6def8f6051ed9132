//! Keeps `sync-core/src` pure: no IO, no clock, no threads, no async runtime.

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

#[test]
fn core_sources_do_no_io_read_no_clock_and_spawn_nothing() {
    // Everything under src/, its unit tests and simulator included; this
    // check itself lives outside src/ because it has to read files.
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
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
