// The outputs of sync-core's repo, as the wasm client hands them over
// (`wasm-client/src/lib.rs`, `outputs`): one plain object per output, in
// the order they must be carried out. Written by hand until this type is
// generated from Rust; it lives alone so that swap is one import.

export type Output =
  | { kind: "send"; conn: number; bytes: Uint8Array }
  | { kind: "close"; conn: number; reason: string }
  | { kind: "load"; doc: string }
  | { kind: "write"; put: [string, Uint8Array][]; delete: string[] }
  | { kind: "changed"; doc: string }
  | { kind: "unavailable"; doc: string }
  | { kind: "ephemeral"; doc: string; sender: string; data: Uint8Array };
