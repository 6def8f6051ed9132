// The reference sync server, as `@automerge/automerge-repo-sync-server` does
// it but on automerge-repo 2.5.6: a Repo with the websocket server adapter
// on a `ws` server (upgrades from a plain HTTP server, as the sync server's
// Express app does) and file storage, announcing nothing (share policy false).
//
//   node server.mjs <storage-dir>
//
// Listens on 127.0.0.1, on a port the OS picks, and prints {"port": N} on
// stdout. Runs until stdin closes or it is killed.

import { Repo } from "@automerge/automerge-repo"
import { NodeWSServerAdapter } from "@automerge/automerge-repo-network-websocket"
import { NodeFSStorageAdapter } from "@automerge/automerge-repo-storage-nodefs"
import { WebSocketServer } from "ws"
import { createServer } from "node:http"
import { createInterface } from "node:readline"

const [dir] = process.argv.slice(2)
if (!dir) {
  console.error("usage: node server.mjs <storage-dir>")
  process.exit(2)
}

const wss = new WebSocketServer({ noServer: true })

// The Repo connects its network adapters only once its storage id is read
// from disk; until then the adapter has no "connection" listener, and a
// websocket accepted in that window is silently ignored (no `peer` answer,
// ever). So accept connections only once the adapter listens.
const adapterListens = new Promise(resolve =>
  wss.on("newListener", event => {
    if (event === "connection") setImmediate(resolve)
  }),
)

new Repo({
  network: [new NodeWSServerAdapter(wss)],
  storage: new NodeFSStorageAdapter(dir),
  peerId: `reference-sync-server-${process.pid}`,
  sharePolicy: async () => false,
})
await adapterListens

const http = createServer((_, res) => res.writeHead(404).end())
http.on("upgrade", (request, socket, head) => {
  wss.handleUpgrade(request, socket, head, ws => wss.emit("connection", ws, request))
})
http.on("error", e => {
  console.error(`server error: ${e?.stack ?? e}`)
  process.exit(1)
})
http.listen(0, "127.0.0.1", () => {
  process.stdout.write(JSON.stringify({ port: http.address().port }) + "\n")
})

createInterface({ input: process.stdin }).on("close", () => process.exit(0))
