// JavaScript automerge-repo 2.5.6 clients against a relay, driven by
// tests/it/interop.rs. One scenario per subcommand:
//
//   node client.mjs <scenario> <ws-url> [args...]
//
// Each prints one JSON line on stdout (its last line) and exits 0, or prints
// {"error": ...} and exits 1. Scenarios that interact with the Rust test
// while running also print progress lines ({"event": ...}) before it, and
// read commands from stdin. Every wait is a condition checked until a
// deadline; nothing sleeps to synchronise.

import * as A from "@automerge/automerge"
import { Repo, cbor, generateAutomergeUrl } from "@automerge/automerge-repo"
import { WebSocketClientAdapter } from "@automerge/automerge-repo-network-websocket"
import { NodeFSStorageAdapter } from "@automerge/automerge-repo-storage-nodefs"
import WebSocket from "ws"
import { createInterface } from "node:readline"

const WAIT_MS = 15_000

// The client adapter re-throws websocket errors other than ECONNREFUSED
// from its socket's error listener (a failed handshake, a reset): that
// becomes an uncaught exception. Report it as this scenario's failure
// instead of letting Node print a bare stack trace.
process.on("uncaughtException", error => fail(`uncaught exception: ${error?.stack ?? error}`))
process.on("unhandledRejection", error => fail(`unhandled rejection: ${error?.stack ?? error}`))

// Connections lost while a repo was not being shut down: every scenario
// reports them, and the Rust side expects none (a relay that closes a
// client's connection is a failure even if the client reconnects).
const unexpectedDisconnects = []
const closing = new Set()

// Lines read from stdin, for scenarios that wait for the Rust test's word.
const stdinLines = []

function emit(value) {
  process.stdout.write(JSON.stringify(value) + "\n")
}

function finish(value) {
  const result = { ...value, unexpectedDisconnects }
  process.stdout.write(JSON.stringify(result) + "\n", () => process.exit(0))
}

function fail(message) {
  process.stdout.write(JSON.stringify({ error: String(message) }) + "\n", () => process.exit(1))
}

/**
 * Resolves once `check()` returns a truthy value (re-checked every 10 ms);
 * rejects at the deadline, or as soon as a client lost its connection.
 */
function until(what, check, timeoutMs = WAIT_MS) {
  return new Promise((resolve, reject) => {
    const deadline = Date.now() + timeoutMs
    const probe = () => {
      let value
      try {
        value = check()
      } catch (e) {
        clearInterval(timer)
        reject(e)
        return
      }
      if (unexpectedDisconnects.length > 0) {
        clearInterval(timer)
        const lost = JSON.stringify(unexpectedDisconnects)
        reject(new Error(`while waiting for ${what}, the relay closed a client's connection: ${lost}`))
      } else if (value) {
        clearInterval(timer)
        resolve(value)
      } else if (Date.now() > deadline) {
        clearInterval(timer)
        reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}`))
      }
    }
    const timer = setInterval(probe, 10)
    probe()
  })
}

/** Rejects `promise` if it has not settled within the timeout. */
function within(what, promise, timeoutMs = WAIT_MS) {
  let timer
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${timeoutMs} ms: ${what}`)), timeoutMs)
  })
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer))
}

function client(url, name, storageDir) {
  const network = url ? [new WebSocketClientAdapter(url, 500)] : []
  const storage = storageDir ? new NodeFSStorageAdapter(storageDir) : undefined
  const repo = new Repo({ network, storage, peerId: `js-${name}-${process.pid}` })
  repo.networkSubsystem.on("peer-disconnected", ({ peerId }) => {
    if (!closing.has(repo)) unexpectedDisconnects.push({ client: name, peerId })
  })
  return repo
}

async function shutdown(repo) {
  closing.add(repo)
  await repo.shutdown()
}

/** The storage id of the one peer (the relay) this repo is connected to. */
function relayStorageId(repo) {
  const peers = Object.values(repo.peerMetadataByPeerId)
  return peers.length === 1 ? peers[0].storageId : undefined
}

const heads = handle => A.getHeads(handle.doc())
const sameHeads = (a, b) => a.length === b.length && [...a].sort().join() === [...b].sort().join()

/** Waits until the relay has told this repo that it has every local change of the document. */
async function untilRelayHas(repo, handle) {
  await until("the relay's heads to match ours", () => {
    const storageId = relayStorageId(repo)
    const info = storageId && handle.getSyncInfo(storageId)
    if (!info) return false
    // lastHeads are URL-encoded (bs58) heads; compare with ours encoded alike.
    const ours = handle.heads()
    return sameHeads(info.lastHeads, ours)
  })
}

/**
 * Alice creates a document with `initial`; once the relay has it, Bob finds
 * it by URL and has all of it (the same heads as Alice).
 */
async function aliceCreatesBobFinds(url, initial) {
  const alice = client(url, "alice")
  const bob = client(url, "bob")
  const a = alice.create(initial)
  await untilRelayHas(alice, a)
  const b = await within("bob finds the document", bob.find(a.url))
  await until("bob has alice's heads", () => sameHeads(heads(b), heads(a)))
  return { alice, bob, a, b }
}

/** The document as JSON; Automerge 3 reads a scalar string (what Rust's `put` of a `&str` writes) as an ImmutableString. */
function plain(doc) {
  return JSON.parse(JSON.stringify(doc, (_, v) => (A.isImmutableString(v) ? v.toString() : v)))
}

function snapshot(handle) {
  return { url: handle.url, heads: heads(handle), doc: plain(handle.doc()) }
}

const scenarios = {
  // (1) One client creates a document; a second finds it by URL.
  async "create-find"(url) {
    const { a: created, b: found } = await aliceCreatesBobFinds(url, {
      title: "Nettoyage du parc",
      volontaires: ["Awa", "Brice"],
    })
    return { created: snapshot(created), found: snapshot(found) }
  },

  // (2) Two clients edit the same document concurrently and converge.
  async concurrent(url) {
    const { a, b } = await aliceCreatesBobFinds(url, { title: "Réunion" })
    // Same tick: neither has heard of the other's change when making its own.
    a.change(d => {
      d.alice = 1
      d.both = "a"
    })
    b.change(d => {
      d.bob = 2
      d.both = "b"
    })
    await until("both converge", () => sameHeads(heads(a), heads(b)) && "alice" in b.doc() && "bob" in a.doc())
    return { alice: snapshot(a), bob: snapshot(b) }
  },

  // (3) An ephemeral message from one client reaches the other.
  async ephemeral(url) {
    const { a, b, alice, bob } = await aliceCreatesBobFinds(url, { title: "Présence" })
    await untilRelayHas(bob, b)
    const received = { alice: [], bob: [] }
    a.on("ephemeral-message", ({ message, senderId }) => received.alice.push({ message, senderId }))
    b.on("ephemeral-message", ({ message, senderId }) => received.bob.push({ message, senderId }))
    a.broadcast({ curseur: 42, de: "alice" })
    await until("bob receives alice's ephemeral message", () => received.bob.length > 0)
    b.broadcast({ curseur: 7, de: "bob" })
    await until("alice receives bob's ephemeral message", () => received.alice.length > 0)
    return {
      received,
      alicePeerId: alice.networkSubsystem.peerId,
      bobPeerId: bob.networkSubsystem.peerId,
    }
  },

  // (4) A client with file storage edits while offline, then reconnects.
  async offline(url, storageDir) {
    const alice = client(url, "alice")
    const a = alice.create({ title: "Hors ligne" })
    await untilRelayHas(alice, a)

    // Carol syncs the document into her storage, then goes away.
    let carol = client(url, "carol", storageDir)
    const online = await within("carol finds the document", carol.find(a.url))
    await untilRelayHas(carol, online)
    await shutdown(carol)

    // Offline: a repo on the same storage with no network at all.
    carol = client(undefined, "carol-offline", storageDir)
    const offline = await within("carol loads the document from disk", carol.find(a.url))
    offline.change(d => {
      d.carol = "écrit hors ligne"
    })
    // Meanwhile alice edits too.
    a.change(d => {
      d.alice = "écrit en ligne"
    })
    const offlineHeads = heads(offline)
    await carol.flush()
    await shutdown(carol)

    // Back online on the same storage: the offline edit reaches alice.
    carol = client(url, "carol-back", storageDir)
    const back = await within("carol reloads the document", carol.find(a.url))
    const loadedFromDisk = "carol" in back.doc()
    await until("alice gets carol's offline edit", () => "carol" in a.doc())
    await until("both converge", () => sameHeads(heads(a), heads(back)))
    return { offlineHeads, loadedFromDisk, alice: snapshot(a), carol: snapshot(back) }
  },

  // (5a) Creates a document and waits until the relay has it, then exits.
  async create(url) {
    const repo = client(url, "writer")
    const handle = repo.create({ title: "Avant le redémarrage", n: 1 })
    handle.change(d => {
      d.n = 2
    })
    await untilRelayHas(repo, handle)
    await shutdown(repo)
    return snapshot(handle)
  },

  // (5b) A fresh client finds a document by URL.
  async find(url, docUrl) {
    const repo = client(url, "reader")
    const handle = await within("find", repo.find(docUrl))
    return snapshot(handle)
  },

  // (6) find() of a document nobody has.
  async unknown(url) {
    const repo = client(url, "seeker")
    const docUrl = generateAutomergeUrl()
    const started = Date.now()
    const settled = repo.find(docUrl).then(
      handle => ({ outcome: "resolved", state: handle.state }),
      e => ({ outcome: "rejected", message: String(e?.message ?? e) }),
    )
    return { docUrl, ...(await within("find to settle", settled)), ms: Date.now() - started }
  },

  // (7) A raw websocket joins with an unsupported protocol version.
  async "bad-version"(url) {
    const socket = new WebSocket(url)
    socket.binaryType = "nodebuffer"
    const messages = []
    const socketErrors = []
    socket.on("error", e => socketErrors.push(String(e?.message ?? e)))
    const closed = new Promise(resolve => socket.on("close", (code, reason) => resolve({ code, reason: String(reason) })))
    socket.on("message", data => messages.push(cbor.decode(new Uint8Array(data))))
    await within(
      "the websocket opens",
      new Promise((resolve, reject) => {
        socket.once("open", resolve)
        socket.once("error", reject)
      }),
    )
    socket.send(
      cbor.encode({
        type: "join",
        senderId: `js-raw-${process.pid}`,
        peerMetadata: { isEphemeral: true },
        supportedProtocolVersions: ["999"],
      }),
    )
    const close = await within("the relay closes the websocket", closed)
    return { messages, close, socketErrors }
  },

  // Mixed: a Rust client created the document; this client finds it, adds
  // a change, waits for the Rust client's answer ("go" on stdin once the Rust
  // side saw our change and made its own), and reports the final state.
  async mixed(url, docUrl) {
    const repo = client(url, "mixed")
    const handle = await within("find the Rust client's document", repo.find(docUrl))
    const seen = plain(handle.doc())
    const rustStringIsImmutable = A.isImmutableString(handle.doc().rust)
    handle.change(d => {
      d.js = "bonjour de JavaScript"
    })
    await untilRelayHas(repo, handle)
    emit({ event: "changed", heads: heads(handle) })
    await until("the Rust client's second change", () => "rust2" in handle.doc())
    return { seen, rustStringIsImmutable, final: snapshot(handle) }
  },

  // Burst: a Rust client created the document (through another relay of a
  // cluster, say); this client finds it, says "found", waits for "go" on
  // stdin, then writes `js0`… `js<count-1>` one every 10 ms, saying
  // "writing" after the first, while the Rust client writes `rust0`… from
  // then on, at the same time; it waits until it has all of the
  // Rust client's and the relay has all of its own, and reports the state.
  async burst(url, docUrl, count) {
    const n = Number(count)
    const repo = client(url, "burst")
    const handle = await within("find the Rust client's document", repo.find(docUrl))
    emit({ event: "found", heads: heads(handle) })
    await until("the word to go", () => stdinLines.includes("go"))
    for (let i = 0; i < n; i++) {
      handle.change(d => {
        d[`js${i}`] = i
      })
      if (i === 0) emit({ event: "writing" })
      await new Promise(resolve => setTimeout(resolve, 10))
    }
    const all = () => Array.from({ length: n }, (_, i) => `rust${i}`).every(k => k in handle.doc())
    await until("every change of the Rust client", all)
    await untilRelayHas(repo, handle)
    return { final: snapshot(handle) }
  },
}

const [scenario, ...args] = process.argv.slice(2)
const run = scenarios[scenario]
if (!run) {
  fail(`unknown scenario ${scenario}; known: ${Object.keys(scenarios).join(", ")}`)
} else {
  // Stdin closing (the Rust test went away) ends the scenario.
  createInterface({ input: process.stdin })
    .on("line", line => stdinLines.push(line.trim()))
    .on("close", () => fail("stdin closed"))
  run(...args).then(finish, e => fail(e?.stack ?? e))
}
