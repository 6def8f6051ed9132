//! Applying a peer's changes to a document, possibly off the driver's
//! event loop.
//!
//! Automerge applies a sync message's changes in one go: about a second
//! per 500,000 operations in a release build, plus the incremental save
//! that persists them. On the relay, one loop serves every document, so a
//! large (allowed) message used to hold every other territory that long.
//! A message with more new operations than
//! [`crate::Config::offload_changes_above_ops`] becomes a [`ChangesJob`]
//! ([`crate::Output::ApplyChanges`]): copies of the document, of the
//! peer's sync state and of what is on disk, which the driver runs where it
//! likes ([`ChangesJob::run`], pure and blocking) and hands back as
//! [`crate::Input::ChangesApplied`]. Meanwhile the repo keeps the document
//! as it was, queues that document's messages and makes no local change to
//! it.
//!
//! Also here: Automerge 0.12's loader panics on some crafted chunks (found
//! by fuzzing); a writer's changes are applied to copies under
//! `catch_unwind` and kept only if Automerge finished.
//!
//! Does not: decide whether changes are allowed (limits and access are
//! checked before a job exists), or touch storage (the write it prepares is
//! carried out by the driver, in order, like any other).

use std::fmt;

use automerge::Automerge;
use automerge::sync::{self, SyncDoc};

use crate::ids::DocumentId;
use crate::repo::ConnId;
use crate::storage::{OnDisk, StorageWrite};

/// A peer's sync message to apply to copies of its document: run it with
/// [`ChangesJob::run`] (anywhere, it blocks) and feed the result back as
/// [`crate::Input::ChangesApplied`].
#[derive(Clone)]
pub struct ChangesJob {
    pub(crate) id: u64,
    pub(crate) doc: DocumentId,
    pub(crate) conn: ConnId,
    pub(crate) am: Automerge,
    pub(crate) sync: sync::State,
    pub(crate) message: sync::Message,
    /// What is stored, when the repo persists: the job prepares the write.
    pub(crate) on_disk: Option<OnDisk>,
}

/// What a [`ChangesJob`] did.
#[derive(Clone)]
pub struct ChangesApplied {
    pub(crate) id: u64,
    pub(crate) doc: DocumentId,
    pub(crate) conn: ConnId,
    /// The document, sync state and disk state after the changes, and the
    /// write that persists them; or why Automerge refused them.
    pub(crate) outcome: Result<Applied, String>,
}

impl ChangesApplied {
    /// The document the job changed.
    pub fn doc(&self) -> &DocumentId {
        &self.doc
    }
}

#[derive(Clone)]
pub(crate) struct Applied {
    pub(crate) am: Automerge,
    pub(crate) sync: sync::State,
    pub(crate) on_disk: Option<OnDisk>,
    pub(crate) write: Option<StorageWrite>,
}

impl ChangesJob {
    /// Applies the changes and prepares their storage write. Pure: no IO,
    /// no clock; blocks for as long as Automerge takes.
    pub fn run(self) -> ChangesApplied {
        let ChangesJob { id, doc, conn, am, sync, message, on_disk } = self;
        let outcome = contained(|| {
            let (mut am, mut sync, mut on_disk) = (am, sync, on_disk);
            am.receive_sync_message(&mut sync, message).map_err(|e| e.to_string())?;
            let write = on_disk.as_mut().and_then(|d| d.save(&doc, &am));
            Ok(Applied { am, sync, on_disk, write })
        });
        ChangesApplied { id, doc, conn, outcome }
    }

    /// The document the job changes.
    pub fn document(&self) -> &DocumentId {
        &self.doc
    }
}

impl fmt::Debug for ChangesJob {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ChangesJob").field("id", &self.id).field("doc", &self.doc).field("conn", &self.conn).finish()
    }
}

impl fmt::Debug for ChangesApplied {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ChangesApplied")
            .field("id", &self.id)
            .field("doc", &self.doc)
            .field("conn", &self.conn)
            .field("ok", &self.outcome.is_ok())
            .finish()
    }
}

/// Jobs are told apart by their id.
impl PartialEq for ChangesJob {
    fn eq(&self, other: &ChangesJob) -> bool {
        self.id == other.id
    }
}

/// Applies a peer's sync message carrying changes to copies of the
/// document and of the sync state, kept only if Automerge finished: on the
/// crafted chunks Automerge panics on (`fuzz/automerge-panics/`), the
/// document would otherwise stay half-changed in memory.
pub(crate) fn receive_changes_contained(
    am: &mut Automerge,
    sync: &mut sync::State,
    message: sync::Message,
) -> Result<(), String> {
    if cfg!(not(panic = "unwind")) {
        // Nothing to catch where a panic aborts (wasm): a copy would only cost.
        return am.receive_sync_message(sync, message).map_err(|e| e.to_string());
    }
    let (mut doc, mut state) = (am.clone(), sync.clone());
    let (doc, state) = contained(move || {
        doc.receive_sync_message(&mut state, message).map_err(|e| e.to_string())?;
        Ok((doc, state))
    })?;
    *am = doc;
    *sync = state;
    Ok(())
}

/// Runs `work`, turning a panic in it into an error.
fn contained<T>(work: impl FnOnce() -> Result<T, String>) -> Result<T, String> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(work))
        .unwrap_or_else(|_| Err("changes that Automerge cannot apply".to_owned()))
}
