//! A reader for the fan-out workload that answers as an Automerge peer
//! would without applying anything to a document, so that the load
//! generator costs less than the servers it measures.
//!
//! It speaks the automerge-repo protocol over its own websocket (`join`,
//! one `request`, then `sync`), takes each change's hash and dependencies
//! from its header (`Change::try_from` checks the hash, it does not expand
//! operations) to keep its heads, and answers every message that brought
//! news with what Automerge would send once in sync: its heads, nothing
//! needed, and a summary of what it has since those heads (an empty Bloom
//! filter). A document sent whole (a sync V2 message, or a chunk that is
//! not a change) is loaded with Automerge, which is rare and still exact.
//!
//! What it does not do: write, open several documents, or keep anything
//! but heads and the number of changes seen. The writer's changes are
//! counted, not read: in the fan-out workload each one adds 1 to `n`.

use std::collections::HashSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use anyhow::{Context, Result, bail};
use futures_util::{SinkExt, StreamExt};
use sync_core::automerge::sync::{self, Have};
use sync_core::automerge::{Automerge, Change, ChangeHash};
use sync_core::{DocumentId, Message, PROTOCOL_VERSION, PeerId, PeerMetadata, SyncMessage};
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio_tungstenite::tungstenite::Message as WsMessage;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;

/// Bytes a reader's websocket reads at once.
const READ_BUFFER: usize = 4096;

/// A reader of one document; see the module documentation.
pub struct LightReader {
    /// Changes of the document it has received so far.
    changes: watch::Receiver<usize>,
    traffic: Arc<Traffic>,
    task: JoinHandle<Result<()>>,
}

/// What a reader received of its document, so far.
#[derive(Debug, Default)]
pub struct Traffic {
    /// Bytes of the frames that carried `sync` or `request` messages.
    pub frame_bytes: AtomicU64,
    /// Bytes of the new changes those frames carried, as Automerge encodes
    /// each change.
    pub change_bytes: AtomicU64,
}

/// [`Traffic`] read at one moment: (frame bytes, change bytes).
pub type TrafficCount = (u64, u64);

type Socket = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

impl LightReader {
    /// Connects to `url`, joins as `peer` and asks for `doc`.
    pub async fn connect(url: &str, peer: String, doc: DocumentId) -> Result<LightReader> {
        // tungstenite zeroes its whole read buffer's spare room before each
        // read (128 KiB by default): a quarter of the generator's CPU with
        // 500 readers. Frames here are a few hundred bytes.
        let config = WebSocketConfig::default().read_buffer_size(READ_BUFFER);
        let (mut socket, _) = tokio_tungstenite::connect_async_with_config(url, Some(config), false)
            .await
            .context("the reader's websocket")?;
        let sender: PeerId = peer.parse()?;
        let metadata = PeerMetadata { storage_id: None, is_ephemeral: true };
        let join = Message::Join {
            sender: sender.clone(),
            metadata,
            supported_versions: Some(vec![PROTOCOL_VERSION.to_owned()]),
        };
        socket.send(WsMessage::Binary(join.encode().into())).await?;
        let server = loop {
            match next(&mut socket).await? {
                Message::Peer { sender, .. } => break sender,
                Message::Error { message, .. } => bail!("the server refused the reader: {message}"),
                _ => {}
            }
        };
        let traffic = Arc::new(Traffic::default());
        let mut state =
            Reading { socket, sender, server, doc, heads: Vec::new(), seen: HashSet::new(), traffic: traffic.clone() };
        let request = state.answer();
        state.send(Message::Request(request)).await?;
        let (count, changes) = watch::channel(0);
        let task = tokio::spawn(state.run(count));
        Ok(LightReader { changes, traffic, task })
    }

    /// Waits until it has received more than `seen` changes, at most
    /// `patience`; how many it has then.
    pub async fn more_than(&self, seen: usize, patience: std::time::Duration) -> Result<usize> {
        let mut changes = self.changes.clone();
        let waiting = changes.wait_for(|n| *n > seen);
        match tokio::time::timeout(patience, waiting).await {
            Ok(Ok(n)) => Ok(*n),
            Ok(Err(_)) => bail!("the reader's connection ended"),
            Err(_) => bail!("no new change within {patience:?}"),
        }
    }

    /// Changes received so far.
    pub fn changes(&self) -> usize {
        *self.changes.borrow()
    }

    /// Bytes received so far: (frames, changes in them).
    pub fn traffic(&self) -> TrafficCount {
        (self.traffic.frame_bytes.load(Ordering::Relaxed), self.traffic.change_bytes.load(Ordering::Relaxed))
    }

    /// Ends the connection.
    pub fn close(self) {
        self.task.abort();
    }
}

/// The reader's side of the connection.
struct Reading {
    socket: Socket,
    sender: PeerId,
    server: PeerId,
    doc: DocumentId,
    heads: Vec<ChangeHash>,
    seen: HashSet<ChangeHash>,
    traffic: Arc<Traffic>,
}

impl Reading {
    async fn run(mut self, count: watch::Sender<usize>) -> Result<()> {
        loop {
            let (message, frame_bytes) = next_sized(&mut self.socket).await?;
            let body = match message {
                Message::Sync(body) | Message::Request(body) if body.document == self.doc => {
                    self.traffic.frame_bytes.fetch_add(frame_bytes as u64, Ordering::Relaxed);
                    body
                }
                Message::DocUnavailable { .. } => bail!("the server does not have the document"),
                Message::Error { message, .. } => bail!("the server closed the reader: {message}"),
                _ => continue,
            };
            let message = sync::Message::decode(&body.data).context("a sync message")?;
            let before = self.seen.len();
            if message.version == sync::MessageVersion::V2 {
                self.take_whole(message.changes.iter())?;
            } else {
                for chunk in message.changes.iter() {
                    match Change::try_from(chunk) {
                        Ok(change) => {
                            if !self.seen.contains(&change.hash()) {
                                self.traffic.change_bytes.fetch_add(chunk.len() as u64, Ordering::Relaxed);
                            }
                            self.take(change.hash(), change.deps());
                        }
                        Err(_) => self.take_whole(std::iter::once(chunk))?,
                    }
                }
            }
            count.send_replace(self.seen.len());
            let mut theirs = message.heads.clone();
            theirs.sort();
            if self.seen.len() > before || theirs != self.heads {
                let answer = self.answer();
                self.send(Message::Sync(answer)).await?;
            }
        }
    }

    /// A change now known: it replaces its dependencies among the heads.
    fn take(&mut self, hash: ChangeHash, deps: &[ChangeHash]) {
        if !self.seen.insert(hash) {
            return;
        }
        self.heads.retain(|h| !deps.contains(h));
        self.heads.push(hash);
        self.heads.sort();
    }

    /// Whole documents: loaded with Automerge, their changes taken in.
    fn take_whole<'a>(&mut self, chunks: impl Iterator<Item = &'a [u8]>) -> Result<()> {
        for chunk in chunks {
            let am = Automerge::load(chunk).context("a whole document")?;
            for change in am.get_changes(&[]) {
                self.take(change.hash(), change.deps());
            }
        }
        Ok(())
    }

    /// What an Automerge peer in sync at our heads says.
    fn answer(&self) -> SyncMessage {
        let message = sync::Message {
            heads: self.heads.clone(),
            need: Vec::new(),
            have: vec![Have { last_sync: self.heads.clone(), bloom: Default::default() }],
            changes: sync::ChunkList::empty(),
            flags: None,
            version: sync::MessageVersion::V1,
        };
        SyncMessage {
            sender: self.sender.clone(),
            target: self.server.clone(),
            document: self.doc.clone(),
            data: message.encode(),
        }
    }

    async fn send(&mut self, message: Message) -> Result<()> {
        self.socket.send(WsMessage::Binary(message.encode().into())).await.context("the reader's websocket")
    }
}

/// The next protocol message.
async fn next(socket: &mut Socket) -> Result<Message> {
    Ok(next_sized(socket).await?.0)
}

/// The next protocol message and the size of its frame's payload.
async fn next_sized(socket: &mut Socket) -> Result<(Message, usize)> {
    loop {
        match socket.next().await {
            Some(Ok(WsMessage::Binary(bytes))) => {
                return Ok((Message::decode(&bytes).context("a protocol message")?, bytes.len()));
            }
            Some(Ok(WsMessage::Close(_))) | None => bail!("the server closed the reader's connection"),
            Some(Ok(_)) => {}
            Some(Err(e)) => return Err(e.into()),
        }
    }
}
