//! Fuzz target `agenda_reader`: its body is `fuzz_harness::Target`'s, shared with
//! the corpus replay run by `cargo test`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| fuzz_harness::Target::AgendaReader.run(data));
