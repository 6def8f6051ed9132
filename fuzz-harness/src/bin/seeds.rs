//! Writes the seed corpus into `fuzz/seeds/<target>/` (replacing the files
//! it generated before). Run `cargo run -p fuzz-harness --bin seeds`.

use fuzz_harness::{Target, corpus, seeds};

fn main() -> std::io::Result<()> {
    let root = corpus::fuzz_dir().join("seeds");
    for target in Target::ALL {
        let dir = root.join(target.name());
        if dir.exists() {
            std::fs::remove_dir_all(&dir)?;
        }
        std::fs::create_dir_all(&dir)?;
    }
    let all = seeds::all();
    for (target, name, bytes) in &all {
        std::fs::write(root.join(target.name()).join(name), bytes)?;
    }
    println!("{} seeds written under {}", all.len(), root.display());
    Ok(())
}
