//! Interoperability with the real JavaScript automerge-repo 2.5.6, both ways.
//!
//! A. JavaScript clients (`tests/interop/client.mjs`, one scenario per
//!    subcommand) sync through our relay, started in process on 127.0.0.1:0.
//! B. Our Rust client syncs through the reference JavaScript sync server
//!    (`tests/interop/server.mjs`: automerge-repo's `Repo` with its websocket
//!    server adapter and file storage, share policy `false`).
//!
//! The npm packages are pinned in `tests/interop/package-lock.json` and
//! installed by `scripts/setup.sh`; without them, or without `node`, these
//! tests fail with a message saying so. Each Node process is killed when its
//! guard drops, its stdin is held open (it exits when stdin closes, should
//! this process die), every wait has a timeout, and a failure prints the
//! process's stderr, which holds automerge-repo's own debug log
//! (`DEBUG=automerge-repo:*`).
//!
//! Every JavaScript scenario also reports the connections its clients lost
//! while not shutting down; there must be none, since the clients reconnect
//! by themselves and would hide a relay that closes them.

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader, Read};
use std::path::PathBuf;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::thread;
use std::time::Duration;

use client::{Client, ClientError, ClientOptions};
use serde_json::{Value, json};
use sync_core::automerge::transaction::Transactable;
use sync_core::automerge::{Automerge, ObjType, ROOT, ReadDoc};
use sync_core::{AutomergeUrl, DocumentId};
use tempfile::TempDir;
use tokio::sync::mpsc;

use crate::support::{WAIT, edit_concurrently, start_relay, start_relay_with, stored_rows};

/// Upper bound of one Node scenario (each of its own waits is 15 s).
const NODE_WAIT: Duration = Duration::from_secs(30);

fn interop_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("interop")
}

/// A Node process running one of the scripts in `tests/interop`; killed
/// when dropped.
pub(crate) struct Node {
    what: String,
    child: Child,
    /// Held open: the scripts exit when their stdin closes.
    stdin: Option<ChildStdin>,
    /// Lines of its stdout, read by a thread; closed at end of file.
    stdout: mpsc::UnboundedReceiver<String>,
    stderr: Option<thread::JoinHandle<String>>,
}

impl Node {
    pub(crate) fn spawn(script: &str, args: &[&str]) -> Node {
        let dir = interop_dir();
        assert!(
            dir.join("node_modules/@automerge/automerge-repo/package.json").is_file(),
            "the pinned npm packages are not installed in {}: run scripts/setup.sh",
            dir.display()
        );
        let what = format!("node {script} {}", args.join(" "));
        let mut child = Command::new("node")
            .env("DEBUG", "automerge-repo:*")
            .arg(script)
            .args(args)
            .current_dir(&dir)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start `{what}` (is Node 20 installed?): {e}"));
        let stdin = child.stdin.take();
        let stdout = BufReader::new(child.stdout.take().expect("piped stdout"));
        let (lines, stdout_rx) = mpsc::unbounded_channel();
        thread::spawn(move || {
            for line in stdout.lines() {
                let Ok(line) = line else { break };
                if lines.send(line).is_err() {
                    break;
                }
            }
        });
        let mut stderr = child.stderr.take().expect("piped stderr");
        let stderr = thread::spawn(move || {
            let mut text = String::new();
            let _ = stderr.read_to_string(&mut text);
            text
        });
        Node { what, child, stdin, stdout: stdout_rx, stderr: Some(stderr) }
    }

    /// Kills the process and panics with `why` and what it wrote on stderr.
    fn fail(&mut self, why: &str) -> ! {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let stderr = self.stderr.take().and_then(|t| t.join().ok()).unwrap_or_default();
        panic!("`{}`: {why}\n--- its stderr ---\n{stderr}", self.what)
    }

    /// Writes one line to its stdin (a scenario's word to go on).
    pub(crate) fn say(&mut self, line: &str) {
        use std::io::Write;
        let stdin = self.stdin.as_mut().expect("stdin held open");
        if let Err(e) = writeln!(stdin, "{line}").and_then(|()| stdin.flush()) {
            self.fail(&format!("cannot write to its stdin: {e}"));
        }
    }

    /// The next JSON line on stdout.
    pub(crate) async fn next_json(&mut self) -> Value {
        let line = match tokio::time::timeout(NODE_WAIT, self.stdout.recv()).await {
            Ok(Some(line)) => line,
            Ok(None) => self.fail("stdout ended before the expected JSON line"),
            Err(_) => self.fail(&format!("no output within {NODE_WAIT:?}")),
        };
        match serde_json::from_str::<Value>(&line) {
            Ok(value) if value.get("error").is_some() => self.fail(&format!("failed: {}", value["error"])),
            Ok(value) => value,
            Err(e) => self.fail(&format!("not JSON ({e}): {line}")),
        }
    }

    /// The scenario's result (its next JSON line), once it exited with 0.
    pub(crate) async fn result(mut self) -> Value {
        let result = self.next_json().await;
        match tokio::time::timeout(NODE_WAIT, self.stdout.recv()).await {
            Ok(None) => {}
            Ok(Some(line)) => self.fail(&format!("printed more after its result {result}: {line}")),
            Err(_) => self.fail(&format!("did not exit within {NODE_WAIT:?} after printing its result")),
        }
        // Stdout is closed: the process is exiting. Wait for its status
        // (std has no async wait; poll, bounded).
        let give_up = tokio::time::Instant::now() + NODE_WAIT;
        let status = loop {
            match self.child.try_wait() {
                Ok(Some(status)) => break status,
                Ok(None) if tokio::time::Instant::now() < give_up => {
                    tokio::time::sleep(Duration::from_millis(5)).await;
                }
                Ok(None) => self.fail("did not exit after closing its stdout"),
                Err(e) => self.fail(&format!("waiting for it: {e}")),
            }
        };
        if !status.success() {
            self.fail(&format!("exited with {status} after printing {result}"));
        }
        result
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        drop(self.stdin.take());
        let _ = self.child.kill();
        let _ = self.child.wait();
        // A test failing while this process runs: show what it logged.
        if thread::panicking()
            && let Some(stderr) = self.stderr.take().and_then(|t| t.join().ok())
        {
            eprintln!("--- stderr of `{}` ---\n{stderr}", self.what);
        }
    }
}

/// Runs one scenario of `client.mjs` to its end.
async fn js(args: &[&str]) -> Value {
    no_disconnects(Node::spawn("client.mjs", args).result().await)
}

/// The relay closed no JavaScript client's connection during the scenario
/// (the clients reconnect by themselves, which would hide it).
pub(crate) fn no_disconnects(out: Value) -> Value {
    assert_eq!(out["unexpectedDisconnects"], json!([]), "a JS client lost its connection to the relay: {out}");
    out
}

/// Awaits one of the Rust client's waits, with a timeout of its own:
/// `Client::wait_for` re-checks its condition after every event of the
/// client task, and its own queries are such events, so when the condition
/// stays false its timeout never fires (it spins).
pub(crate) async fn bounded<T>(what: &str, wait: impl std::future::Future<Output = Result<T, ClientError>>) -> T {
    match tokio::time::timeout(WAIT + Duration::from_secs(2), wait).await {
        Ok(Ok(value)) => value,
        Ok(Err(e)) => panic!("{what}: {e}"),
        Err(_) => panic!("{what}: not within {WAIT:?}"),
    }
}

pub(crate) fn heads(value: &Value) -> BTreeSet<String> {
    let heads = value["heads"].as_array().unwrap_or_else(|| panic!("no heads in {value}"));
    let heads: BTreeSet<String> = heads.iter().map(|h| h.as_str().expect("hex head").to_owned()).collect();
    assert!(!heads.is_empty(), "empty heads in {value}");
    heads
}

pub(crate) fn rust_heads(am: &Automerge) -> BTreeSet<String> {
    am.get_heads().iter().map(ToString::to_string).collect()
}

fn document(value: &Value) -> DocumentId {
    let url = value["url"].as_str().unwrap_or_else(|| panic!("no url in {value}"));
    url.parse::<AutomergeUrl>().expect("a valid automerge URL").document
}

/// The relay stored at least one chunk of the document.
fn relay_stored(data: &std::path::Path, doc: &DocumentId) -> bool {
    let prefix = format!("{doc}/");
    stored_rows(data).keys().any(|k| k.starts_with(&prefix) && !k.contains("/sync-state"))
}

/// A string at the root: a scalar string (what Rust's `put` of a `&str`
/// writes) or a text object (what JavaScript's Automerge 3 writes for a
/// plain string), with which of the two it is.
fn string(am: &Automerge, key: &str) -> Option<(String, &'static str)> {
    match am.get(ROOT, key).ok().flatten()? {
        (sync_core::automerge::Value::Scalar(s), _) => s.as_str().map(|s| (s.to_owned(), "scalar")),
        (sync_core::automerge::Value::Object(ObjType::Text), id) => am.text(&id).ok().map(|t| (t, "text")),
        _ => None,
    }
}

fn text(am: &Automerge, key: &str) -> Option<String> {
    string(am, key).map(|(s, _)| s)
}

// ---------------------------------------------------------------------------
// A. JavaScript clients through our relay.

#[tokio::test]
async fn js_client_creates_and_another_finds_it_by_url_through_the_relay() {
    let relay = start_relay().await;
    let out = js(&["create-find", &relay.url()]).await;
    let expected = json!({ "title": "Nettoyage du parc", "volontaires": ["Awa", "Brice"] });
    assert_eq!(out["created"]["doc"], expected);
    assert_eq!(out["found"]["doc"], expected, "{out}");
    assert_eq!(out["found"]["url"], out["created"]["url"]);
    assert_eq!(heads(&out["found"]), heads(&out["created"]));
    assert!(relay_stored(relay.data.path(), &document(&out["created"])), "the relay stored the document");
    relay.stop().await;
}

#[tokio::test]
async fn js_concurrent_edits_converge_through_the_relay() {
    let relay = start_relay().await;
    let out = js(&["concurrent", &relay.url()]).await;
    let (alice, bob) = (&out["alice"], &out["bob"]);
    assert_eq!(heads(alice), heads(bob), "{out}");
    assert_eq!(heads(alice).len(), 2, "the two changes were concurrent: {out}");
    assert_eq!(alice["doc"], bob["doc"], "{out}");
    assert_eq!(alice["doc"]["alice"], 1);
    assert_eq!(alice["doc"]["bob"], 2);
    assert!(["a", "b"].contains(&alice["doc"]["both"].as_str().expect("a winner")), "{out}");
    relay.stop().await;
}

#[tokio::test]
async fn js_ephemeral_messages_are_relayed() {
    let relay = start_relay().await;
    let out = js(&["ephemeral", &relay.url()]).await;
    let received = &out["received"];
    assert_eq!(
        received["bob"],
        json!([{ "message": { "curseur": 42, "de": "alice" }, "senderId": out["alicePeerId"] }])
    );
    assert_eq!(received["alice"], json!([{ "message": { "curseur": 7, "de": "bob" }, "senderId": out["bobPeerId"] }]));
    relay.stop().await;
}

#[tokio::test]
async fn js_offline_edits_reach_the_other_client_after_reconnecting() {
    let relay = start_relay().await;
    let storage = TempDir::new().expect("temp dir");
    let dir = storage.path().join("carol");
    let out = js(&["offline", &relay.url(), dir.to_str().expect("UTF-8 path")]).await;
    assert_eq!(out["loadedFromDisk"], true, "the offline edit was kept in file storage: {out}");
    let (alice, carol) = (&out["alice"], &out["carol"]);
    assert_eq!(heads(alice), heads(carol), "{out}");
    assert_eq!(alice["doc"], carol["doc"], "{out}");
    assert_eq!(alice["doc"]["carol"], "écrit hors ligne");
    assert_eq!(alice["doc"]["alice"], "écrit en ligne");
    let offline = heads(&json!({ "heads": out["offlineHeads"] }));
    let merged = heads(alice);
    assert!(offline.iter().all(|h| merged.contains(h)), "carol's offline change is a head: {out}");
    relay.stop().await;
}

#[tokio::test]
async fn js_documents_survive_a_relay_restart() {
    let relay = start_relay().await;
    let created = js(&["create", &relay.url()]).await;
    let data = relay.stop().await;
    assert!(relay_stored(data.path(), &document(&created)), "the relay stored the document");

    let relay = start_relay_with(data, |_| {}).await;
    let url = created["url"].as_str().expect("url");
    let found = js(&["find", &relay.url(), url]).await;
    assert_eq!(found["doc"], json!({ "title": "Avant le redémarrage", "n": 2 }));
    assert_eq!(heads(&found), heads(&created));
    relay.stop().await;
}

#[tokio::test]
async fn js_find_of_an_unknown_document_is_unavailable() {
    let relay = start_relay().await;
    let out = js(&["unknown", &relay.url()]).await;
    // automerge-repo 2.5.6: `find` rejects with "Document <url> is unavailable".
    assert_eq!(out["outcome"], "rejected", "{out}");
    let url = out["docUrl"].as_str().expect("url");
    assert_eq!(out["message"], format!("Document {url} is unavailable"));
    println!("JS find() of an unknown document through our relay rejected after {} ms", out["ms"]);
    relay.stop().await;
}

#[tokio::test]
async fn js_join_with_an_unsupported_protocol_version_is_refused() {
    let relay = start_relay().await;
    let out = js(&["bad-version", &relay.url()]).await;
    let messages = out["messages"].as_array().expect("messages");
    assert_eq!(messages.len(), 1, "one `error` message, then the close: {out}");
    assert_eq!(messages[0]["type"], "error", "{out}");
    let message = messages[0]["message"].as_str().expect("error text");
    assert!(message.contains("unsupported protocol version"), "{out}");
    assert!(out["close"]["code"].as_u64().is_some(), "the relay closed the websocket: {out}");
    assert_eq!(out["socketErrors"], json!([]), "{out}");
    // The relay still serves others.
    let client = relay.client().await;
    bounded("another client joins", client.wait_joined(WAIT)).await;
    relay.stop().await;
}

#[tokio::test]
async fn rust_and_js_clients_converge_on_one_document_through_the_relay() {
    let relay = start_relay().await;
    let rust = relay.client().await;
    let doc = rust.create().await.expect("create");
    rust.change(&doc, |tx| tx.put(ROOT, "rust", "bonjour de Rust")).await.expect("change");
    let heads_now = rust.heads(&doc).await.expect("heads");
    bounded("the relay has the document", rust.wait_relay_has(&doc, heads_now, WAIT)).await;

    let url = doc.url().to_string();
    let mut node = Node::spawn("client.mjs", &["mixed", &relay.url(), &url]);
    let changed = node.next_json().await;
    assert_eq!(changed["event"], "changed", "{changed}");
    bounded("the JS change reaches the Rust client", rust.wait_until(&doc, WAIT, |am| text(am, "js").is_some())).await;
    rust.change(&doc, |tx| tx.put(ROOT, "rust2", "bien reçu")).await.expect("change");
    let out = no_disconnects(node.result().await);

    assert_eq!(out["seen"], json!({ "rust": "bonjour de Rust" }), "JS saw the Rust client's document");
    let expected = heads(&out["final"]);
    let check = expected.clone();
    bounded("same heads on both sides", rust.wait_until(&doc, WAIT, move |am| rust_heads(am) == check)).await;
    let final_doc = &out["final"]["doc"];
    assert_eq!(final_doc, &json!({ "rust": "bonjour de Rust", "js": "bonjour de JavaScript", "rust2": "bien reçu" }));
    // Strings cross as each side's Automerge writes them: JavaScript reads
    // Rust's scalar string as an ImmutableString, Rust reads JavaScript's
    // string as a text object.
    assert_eq!(out["rustStringIsImmutable"], true, "{out}");
    let js_string = rust.read(&doc, |am| string(am, "js")).await.expect("read").flatten();
    assert_eq!(js_string, Some(("bonjour de JavaScript".to_owned(), "text")));
    relay.stop().await;
}

// ---------------------------------------------------------------------------
// B. Our Rust client through the reference JavaScript sync server.

/// The reference server on 127.0.0.1, with its file storage in `data`.
async fn reference_server(data: &TempDir) -> (Node, String) {
    let dir = data.path().join("reference-server");
    let mut node = Node::spawn("server.mjs", &[dir.to_str().expect("UTF-8 path")]);
    let ready = node.next_json().await;
    let port = ready["port"].as_u64().unwrap_or_else(|| panic!("no port in {ready}"));
    (node, format!("ws://127.0.0.1:{port}"))
}

#[tokio::test]
async fn rust_clients_sync_through_the_reference_js_server() {
    let data = TempDir::new().expect("temp dir");
    let (_server, url) = reference_server(&data).await;
    let alice = bounded("alice connects", Client::connect(&url, ClientOptions::default())).await;
    let bob = bounded("bob connects", Client::connect(&url, ClientOptions::default())).await;
    bounded("alice's handshake with the JS server", alice.wait_joined(WAIT)).await;

    let doc = alice.create().await.expect("create");
    alice.change(&doc, |tx| tx.put(ROOT, "title", "Atelier vélo")).await.expect("change");
    let first = alice.heads(&doc).await.expect("heads");
    bounded("the JS server has alice's document", alice.wait_relay_has(&doc, first, WAIT)).await;
    bob.open(&doc).await.expect("open");
    bounded("bob gets the document", bob.wait_until(&doc, WAIT, |am| text(am, "title").is_some())).await;

    edit_concurrently(&alice, &bob, &doc).await;
    let has_both =
        |am: &Automerge| am.get(ROOT, "alice").ok().flatten().is_some() && am.get(ROOT, "bob").ok().flatten().is_some();
    bounded("alice converges", alice.wait_until(&doc, WAIT, has_both)).await;
    bounded("bob converges", bob.wait_until(&doc, WAIT, has_both)).await;
    let final_heads = alice.heads(&doc).await.expect("heads");
    bounded("same heads", bob.wait_until(&doc, WAIT, move |am| am.get_heads() == final_heads)).await;
    assert_eq!(
        alice.read(&doc, |am| text(am, "both")).await.expect("read"),
        bob.read(&doc, |am| text(am, "both")).await.expect("read"),
    );
    // The JS server holds the merged document: a third client, arriving after
    // both authors left, gets it whole. (Its file storage writes later, on a
    // timer of its own, so the files are not a condition to wait on.)
    let merged = alice.heads(&doc).await.expect("heads");
    alice.close().await.expect("alice closes");
    bob.close().await.expect("bob closes");
    let carol = bounded("carol connects", Client::connect(&url, ClientOptions::default())).await;
    carol.open(&doc).await.expect("open");
    bounded("carol gets the merged document", carol.wait_until(&doc, WAIT, move |am| am.get_heads() == merged)).await;
}

#[tokio::test]
async fn reference_js_server_answers_an_unknown_document_unavailable() {
    let data = TempDir::new().expect("temp dir");
    let (_server, url) = reference_server(&data).await;
    let client = bounded("connects", Client::connect(&url, ClientOptions::default())).await;
    bounded("handshake with the JS server", client.wait_joined(WAIT)).await;
    let doc = DocumentId::from_bytes(&[7; 16]).expect("document id");
    client.open(&doc).await.expect("open");
    bounded("doc-unavailable from the JS server", client.wait_unavailable(&doc, WAIT)).await;
}
