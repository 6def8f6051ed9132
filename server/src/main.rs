//! `essaim`: the relay binary. The relay itself lands with its own issue.

fn main() {
    println!(
        "essaim: built (automerge-repo protocol {}). The relay is not implemented yet; see the issue \"The relay server\".",
        server::PROTOCOL_VERSION
    );
}
