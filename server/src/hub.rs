//! The hub: the one task that owns the relay's [`Repo`].
//!
//! It reads a closed [`Event`] enum (frames and closed sockets from the
//! websocket tasks, answers from the storage thread, the shutdown request),
//! feeds each to [`Repo::handle`] with the current time, and carries out the
//! outputs in order. It takes no protocol decision.
//!
//! Durability: every [`Output::Write`] gets a sequence number and goes to
//! the storage thread at once; every `Send` or `Close` that follows a write
//! of document data not yet committed waits in `held`, in order, until the
//! storage thread acknowledges that write ([`Event::Committed`]). So a
//! message advertising a change never leaves before the change is durable,
//! while the storage thread groups whatever writes queued up into one
//! transaction. Writes of sync states alone gate nothing: they are advisory
//! (a lost one costs a longer sync), and the storage thread still commits
//! them in order, so none is durable before the changes it follows.
//!
//! Residents' requests ([`Event::Demande`]): the hub applies them to the
//! document as the relay's own change, loading the document first if it is
//! not in memory ([`Input::Load`]: the request waits in `demandes` until
//! its `Loaded`, while the hub goes on serving everything else) or after a
//! [`sync_core::ChangesJob`] on it is back. The outputs are carried out as
//! any others (the write, then the sync messages, held until it is
//! durable), and the request is answered once that write is committed.
//! A coordinator's essaimage ([`Event::Essaimage`], from
//! `crate::essaimage_api`) goes the same way: waits for its target to load,
//! is written by `Repo::essaimer` as one change, answered once durable.
//!
//! Containment: a panic while the repo handles one connection's input (a
//! bug that peer input reached) is caught around that one call; the
//! connections whose input it was get an `error` frame and a close, and the
//! hub goes on serving the others. See [`Hub::guarded`] for what state a
//! panic can leave behind and what is done about it.

use std::collections::{BTreeSet, HashMap, VecDeque};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;
use std::sync::mpsc as std_mpsc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use sync_core::agenda::{ActionPublique, DemandeError, DemandeHabitant, SuiteDemande};
use sync_core::rythme::Jour;
use sync_core::{
    Access, ApplyError, CloseReason, ConnId, Direction, DocumentId, Input, Message, Output, Repo, UnixMillis,
};
use tokio::sync::{mpsc, oneshot};

use crate::attaches::{Attaches, Decision};
use crate::essaimage_api::Echec;
use crate::gate::Pass;
use crate::metrics::{ErrorKind, HubGauges, Metrics};
use crate::store::{Request, StoreError};
use crate::websocket::PushRefused;

/// Everything the hub reacts to.
#[derive(Debug)]
pub(crate) enum Event {
    /// A websocket opened; the handle reaches its writer.
    Connected { conn: ConnId, handle: ConnHandle },
    /// A binary frame arrived.
    Received { conn: ConnId, bytes: Vec<u8> },
    /// The transport saw input the protocol forbids before the core could
    /// (a text frame, a frame over the size limit): error frame, then close.
    Refused { conn: ConnId, kind: ErrorKind, message: String },
    /// The socket closed.
    Disconnected { conn: ConnId },
    /// The storage thread's answer to a load.
    Loaded { doc: sync_core::DocumentId, entries: Vec<(sync_core::StorageKey, Vec<u8>)> },
    /// Every write up to this sequence number is durable.
    Committed { seq: u64 },
    /// Another relay's commit, announced on NATS (`crate::cluster`).
    #[cfg(feature = "cluster")]
    Announced(Box<crate::cluster::Announced>),
    /// A document in memory whose stored chunks moved past what this relay
    /// took in (a repair pass, or an announcement too large to carry its
    /// chunk): all its chunks, read after its version.
    Repaired { doc: DocumentId, chunks: Vec<(sync_core::StorageKey, Vec<u8>)> },
    /// The storage thread finished a repair pass.
    RepairPassDone,
    /// Storage failed: the relay stops.
    StoreFailed { error: StoreError },
    /// `/metrics` asks for the gauges the hub owns.
    Gauges { reply: oneshot::Sender<HubGauges> },
    /// These invitations were revoked or expired: their connections close.
    Revoked { invitations: Vec<String> },
    /// A document's large changes were applied off the hub
    /// ([`sync_core::ChangesJob`]).
    ChangesApplied(Box<sync_core::ChangesApplied>),
    /// A resident's request (`/t/{doc}/volontaires`), to apply as the
    /// relay's own change.
    Demande(Box<Demande>),
    /// A coordinator's essaimage (`/t/{doc}/essaimage`): a public action
    /// to write into a territory as a draft.
    Essaimage(Box<Essaimage>),
    /// Stop: flush storage, close every connection with a reason.
    Shutdown,
}

/// A resident's request and where to answer it.
#[derive(Debug)]
pub(crate) struct Demande {
    pub(crate) doc: DocumentId,
    /// Who asked, recorded as the change's author: the invitation's id.
    pub(crate) auteur: String,
    pub(crate) demande: DemandeHabitant,
    pub(crate) reply: oneshot::Sender<Result<DemandeFaite, DemandeRatee>>,
}

/// What a resident's request did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum DemandeFaite {
    /// Written, and the write is durable.
    Ecrite,
    /// Done already: nothing written.
    DejaFaite,
}

/// Why a resident's request was not applied.
#[derive(Debug)]
pub(crate) enum DemandeRatee {
    /// The core refused it (the resident reads why).
    Refusee(DemandeError),
    /// The relay could not apply it (shutting down, a bug).
    Indisponible(String),
}

/// A public action to take up into a territory, and where to answer.
#[derive(Debug)]
pub(crate) struct Essaimage {
    /// The territory the draft goes into.
    pub(crate) cible: DocumentId,
    /// The source action, as the feeds served it.
    pub(crate) publique: ActionPublique,
    /// The draft's id, minted by the API.
    pub(crate) nouvel_id: String,
    /// The day its rhythm starts from; `None`: today in the target's zone.
    pub(crate) a_partir_de: Option<Jour>,
    /// Who asked, recorded as the change's author: the invitation's id.
    pub(crate) auteur: String,
    pub(crate) reply: oneshot::Sender<Result<(), EssaimageRatee>>,
}

/// Why an essaimage was not written.
#[derive(Debug)]
pub(crate) enum EssaimageRatee {
    /// Refused (by the core, or the target is no territory yet).
    Refusee(crate::essaimage_api::EssaimageApiError),
    /// The relay could not write it (shutting down, a bug).
    Indisponible(String),
}

/// A write waiting for its document to load or for its job to come back.
#[derive(Debug)]
enum Attente {
    Demande(Demande),
    Essaimage(Box<Essaimage>),
}

/// Where to say that a write is durable.
#[derive(Debug)]
enum Ecrite {
    Demande(oneshot::Sender<Result<DemandeFaite, DemandeRatee>>),
    Essaimage(oneshot::Sender<Result<(), EssaimageRatee>>),
}

impl Ecrite {
    /// Answers that the write is durable (the asker may have gone).
    fn durable(self) {
        match self {
            Ecrite::Demande(reply) => {
                let _ = reply.send(Ok(DemandeFaite::Ecrite));
            }
            Ecrite::Essaimage(reply) => {
                let _ = reply.send(Ok(()));
            }
        }
    }
}

/// What a connection's writer task sends.
#[derive(Debug)]
pub(crate) enum Outbound {
    /// One binary frame.
    Frame(sync_core::Frame),
    /// A close frame, after which the writer stops.
    Close { code: u16, reason: String },
}

/// The hub's end of one connection.
#[derive(Debug)]
pub(crate) struct ConnHandle {
    /// What the connection writes, and its kill switch.
    pub(crate) outbox: crate::websocket::OutboxHandle,
    /// What it entered with: its invitations, and the relay's open mode.
    pub(crate) pass: Pass,
}

/// A `Send` or `Close` waiting for a commit.
#[derive(Debug)]
enum Held {
    Send { conn: ConnId, bytes: sync_core::Frame },
    Close { conn: ConnId, reason: CloseReason },
}

/// Close codes (RFC 6455 §7.4.1).
pub(crate) const CLOSE_NORMAL: u16 = 1000;
pub(crate) const CLOSE_GOING_AWAY: u16 = 1001;
pub(crate) const CLOSE_PROTOCOL: u16 = 1002;
pub(crate) const CLOSE_UNSUPPORTED: u16 = 1003;
pub(crate) const CLOSE_POLICY: u16 = 1008;
pub(crate) const CLOSE_TOO_BIG: u16 = 1009;
pub(crate) const CLOSE_INTERNAL: u16 = 1011;
pub(crate) const CLOSE_TRY_AGAIN_LATER: u16 = 1013;

/// Frames handled in one batch at most, so a flood cannot starve commits
/// and ticks.
const MAX_BATCH: usize = 256;

/// The hub's state. See the module documentation.
pub(crate) struct Hub {
    repo: Repo,
    conns: HashMap<ConnId, ConnHandle>,
    store: std_mpsc::Sender<Request>,
    /// Sequence number of the last write sent to storage.
    sent_seq: u64,
    /// Sequence number of the last write known durable.
    committed_seq: u64,
    /// Sequence number of the last write holding document data: what a
    /// `Send` or `Close` must wait for.
    gating_seq: u64,
    /// Outputs waiting for a commit, each with the write it waits for.
    held: VecDeque<(u64, Held)>,
    /// Inputs produced while carrying out outputs (a slow peer dropped).
    inbox: VecDeque<Input>,
    /// Access to documents that belong to a territory, decided through it.
    attaches: Attaches,
    metrics: Arc<Metrics>,
    shutting_down: bool,
    /// Residents' requests and essaimages waiting for their document to
    /// load or for its [`sync_core::ChangesJob`] to come back, in arrival
    /// order.
    demandes: HashMap<DocumentId, Vec<Attente>>,
    /// Answers of written requests, each with the write it waits for.
    ecrites: VecDeque<(u64, Ecrite)>,
    /// Where a [`sync_core::ChangesJob`] run on a blocking thread sends its
    /// result: the hub's own queue, held weakly so that the hub still ends
    /// when everyone else has gone.
    jobs_done: mpsc::WeakSender<Event>,
    /// How often shared storage is compared with what this relay took in
    /// (`None`: storage of its own, SQLite).
    repair_every: Option<Duration>,
    /// A repair pass is running: the next tick waits for it.
    repairing: bool,
}

impl Hub {
    pub(crate) fn new(
        repo: Repo,
        store: std_mpsc::Sender<Request>,
        metrics: Arc<Metrics>,
        jobs_done: mpsc::WeakSender<Event>,
        repair_every: Option<Duration>,
    ) -> Hub {
        Hub {
            repo,
            conns: HashMap::new(),
            store,
            sent_seq: 0,
            committed_seq: 0,
            gating_seq: 0,
            held: VecDeque::new(),
            inbox: VecDeque::new(),
            attaches: Attaches::default(),
            metrics,
            shutting_down: false,
            demandes: HashMap::new(),
            ecrites: VecDeque::new(),
            jobs_done,
            repair_every,
            repairing: false,
        }
    }

    /// The loop: runs until shutdown completes (`Ok`) or storage fails.
    pub(crate) async fn run(mut self, mut events: mpsc::Receiver<Event>) -> Result<(), StoreError> {
        // An event taken from the queue while gathering a batch of frames.
        let mut next: Option<Event> = None;
        let mut repair = self.repair_every.map(|every| {
            let mut ticks = tokio::time::interval(every);
            ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            ticks
        });
        loop {
            let event = match next.take() {
                Some(event) => Some(event),
                None => {
                    let deadline = self.repo.next_deadline().map(deadline_instant);
                    tokio::select! {
                        event = events.recv() => event,
                        () = sleep_until(deadline) => {
                            self.feed(Input::Tick);
                            continue;
                        }
                        () = next_tick(&mut repair) => {
                            self.repair();
                            continue;
                        }
                    }
                }
            };
            let Some(event) = event else { return Ok(()) };
            match event {
                Event::Connected { conn, handle } if !self.shutting_down => {
                    // Demonstration grants are anyone's: not a credential.
                    let credentials: BTreeSet<String> = handle
                        .pass
                        .grants
                        .iter()
                        .filter(|g| !g.is_demonstration())
                        .map(|g| g.invitation.clone())
                        .collect();
                    self.conns.insert(conn, handle);
                    self.feed(Input::Connected { conn, direction: Direction::Inbound, expected_peer: None });
                    // Before any frame: a `join` may take over a peer id
                    // only from a connection whose invitations it holds.
                    self.feed(Input::Principal { conn, credentials });
                }
                Event::Connected { handle, .. } => {
                    handle.outbox.kill(CLOSE_GOING_AWAY, "relay shutting down".into());
                }
                // While shutting down, nothing new is taken in: the flush ends.
                // Frames already waiting are handled together, so each peer
                // gets one sync message for the lot (see `Repo::handle_batch`).
                Event::Received { conn, bytes } if !self.shutting_down => {
                    let mut batch = vec![Input::Received { conn, bytes }];
                    while batch.len() < MAX_BATCH {
                        match events.try_recv() {
                            Ok(Event::Received { conn, bytes }) => batch.push(Input::Received { conn, bytes }),
                            Ok(other) => {
                                next = Some(other);
                                break;
                            }
                            Err(_) => break,
                        }
                    }
                    let conns: Vec<ConnId> = batch.iter().filter_map(input_conn).collect();
                    let outputs = self.guarded(&conns, move |repo| {
                        #[cfg(feature = "fault-injection")]
                        crate::fault::panic_if_asked(&batch);
                        repo.handle_batch(now(), batch)
                    });
                    self.carry_out_all(outputs);
                }
                Event::Received { .. } => {}
                Event::Refused { conn, kind, message } => self.refuse(conn, kind, message),
                Event::Disconnected { conn } => {
                    self.conns.remove(&conn);
                    self.attaches.oublier(conn);
                    self.feed(Input::Disconnected { conn });
                }
                Event::Loaded { doc, entries } => {
                    self.feed(Input::Loaded { doc: doc.clone(), entries });
                    self.retry_demandes(&doc);
                    for (conn, attache) in self.attaches.charge(&doc) {
                        self.decider_acces(conn, attache);
                    }
                    self.carry_out_all(Vec::new());
                }
                Event::Committed { seq } => self.committed(seq),
                #[cfg(feature = "cluster")]
                Event::Announced(announced) => self.announced(*announced),
                Event::Repaired { doc, chunks } => self.feed(Input::CommittedElsewhere { doc, chunks }),
                Event::RepairPassDone => self.repairing = false,
                Event::StoreFailed { error } => return Err(error),
                Event::Gauges { reply } => {
                    let _ = reply.send(HubGauges {
                        documents_in_memory: self.repo.documents_in_memory().count(),
                        peers: self.repo.connection_count(),
                        writes_in_flight: self.sent_seq - self.committed_seq,
                        held_outputs: self.held.len(),
                        sync_messages: self.repo.sync_message_counts(),
                        sync_messages_held: self.repo.held_messages(),
                    });
                }
                Event::Revoked { invitations } => self.revoke(&invitations),
                Event::ChangesApplied(done) => {
                    let doc = done.doc().clone();
                    self.feed(Input::ChangesApplied(done));
                    self.retry_demandes(&doc);
                }
                Event::Demande(demande) if !self.shutting_down => self.demande(*demande),
                Event::Demande(demande) => {
                    let _ = demande.reply.send(Err(DemandeRatee::Indisponible("relay shutting down".into())));
                }
                Event::Essaimage(essaimage) if !self.shutting_down => self.essaimage(essaimage),
                Event::Essaimage(essaimage) => {
                    let _ = essaimage.reply.send(Err(EssaimageRatee::Indisponible("relay shutting down".into())));
                }
                Event::Shutdown => self.shutting_down = true,
            }
            if self.shutting_down && self.committed_seq == self.sent_seq {
                self.close_all();
                return Ok(());
            }
        }
    }

    /// Applies a resident's request, or keeps it until its document is
    /// ready (loaded, no job out); answers it, after the commit for a write.
    fn demande(&mut self, demande: Demande) {
        let Demande { doc, auteur, demande: request, reply } = demande;
        let repo = &mut self.repo;
        let applied = catch_unwind(AssertUnwindSafe(|| repo.appliquer_demande(now(), &doc, &auteur, &request)));
        let answer = match applied {
            Ok(Ok(SuiteDemande::Ecrite(outputs))) => {
                self.carry_out_all(outputs);
                // The change's write is the last holding document data.
                if self.committed_seq >= self.gating_seq {
                    Ok(DemandeFaite::Ecrite)
                } else {
                    self.ecrites.push_back((self.gating_seq, Ecrite::Demande(reply)));
                    return;
                }
            }
            Ok(Ok(SuiteDemande::DejaFaite)) => Ok(DemandeFaite::DejaFaite),
            Ok(Err(ApplyError::Refusee(refus))) => Err(DemandeRatee::Refusee(refus)),
            Ok(Err(ApplyError::NotLoaded(_) | ApplyError::Busy(_))) => {
                let demande = Demande { doc: doc.clone(), auteur, demande: request, reply };
                self.attendre(doc, Attente::Demande(demande));
                return;
            }
            Ok(Err(other)) => Err(DemandeRatee::Indisponible(other.to_string())),
            Err(panic) => {
                tracing::error!(panic = %panic_message(panic.as_ref()), %doc, "the repo panicked on a resident's request");
                self.metrics.error(ErrorKind::Internal);
                Err(DemandeRatee::Indisponible("internal error".into()))
            }
        };
        let _ = reply.send(answer);
    }

    /// Writes a coordinator's essaimage (`crate::essaimage_api::essaimer`),
    /// or keeps it until its target is ready; answers it after the commit.
    fn essaimage(&mut self, essaimage: Box<Essaimage>) {
        let repo = &mut self.repo;
        let applied = catch_unwind(AssertUnwindSafe(|| crate::essaimage_api::essaimer(repo, now(), &essaimage)));
        let answer = match applied {
            Ok(Ok(outputs)) => {
                self.carry_out_all(outputs);
                // The change's write is the last holding document data.
                if self.committed_seq >= self.gating_seq {
                    Ok(())
                } else {
                    self.ecrites.push_back((self.gating_seq, Ecrite::Essaimage(essaimage.reply)));
                    return;
                }
            }
            Ok(Err(Echec::Attendre)) => {
                self.attendre(essaimage.cible.clone(), Attente::Essaimage(essaimage));
                return;
            }
            Ok(Err(Echec::Refus(refus))) => Err(EssaimageRatee::Refusee(refus)),
            Ok(Err(Echec::Panne(why))) => Err(EssaimageRatee::Indisponible(why)),
            Err(panic) => {
                tracing::error!(panic = %panic_message(panic.as_ref()), doc = %essaimage.cible, "the repo panicked on an essaimage");
                self.metrics.error(ErrorKind::Internal);
                Err(EssaimageRatee::Indisponible("internal error".into()))
            }
        };
        let _ = essaimage.reply.send(answer);
    }

    /// Keeps a write until `doc` is ready, loading it if it is not in
    /// memory.
    fn attendre(&mut self, doc: DocumentId, attente: Attente) {
        let loading = self.repo.document(&doc).is_none();
        self.demandes.entry(doc.clone()).or_default().push(attente);
        if loading {
            self.feed(Input::Load { doc });
        }
    }

    /// The writes that waited for `doc`, tried again now that it loaded
    /// or its job came back.
    fn retry_demandes(&mut self, doc: &DocumentId) {
        for attente in self.demandes.remove(doc).unwrap_or_default() {
            match attente {
                Attente::Demande(demande) => self.demande(demande),
                Attente::Essaimage(essaimage) => self.essaimage(essaimage),
            }
        }
    }

    /// Feeds one input, then whatever inputs carrying out its outputs made.
    fn feed(&mut self, input: Input) {
        let conns: Vec<ConnId> = input_conn(&input).into_iter().collect();
        let outputs = self.guarded(&conns, |repo| repo.handle(now(), input));
        self.carry_out_all(outputs);
    }

    /// Calls the repo, containing a panic: the relay must not stop because
    /// of one peer's input. `conns` are the connections whose input the
    /// call handles; on a panic they are closed (`error` frame, close code
    /// 1011) and the repo is told they left, and the call's outputs are
    /// lost (none has been carried out: outputs are only returned at the
    /// end).
    ///
    /// What a panic can leave in the repo: per-connection state of the
    /// closed connections (dropped by the `Disconnected` fed here, through
    /// `handle_batch`, which also resets a batch the panic interrupted), and
    /// a document changed in memory whose write and messages were lost.
    /// Storage only holds what was committed, and the other peers' sync
    /// states still say what they were sent, so Automerge's sync sends them
    /// what they lack on their next message; the closed peers start a fresh
    /// sync when they reconnect. A peer's changes are applied to copies of
    /// the document, kept only if Automerge finished
    /// ([`sync_core::ChangesJob`]), so Automerge's own panics leave nothing
    /// half-changed. A panic after the repo handed out a `ChangesJob` in the
    /// same call loses that job: its document keeps waiting for it, its
    /// messages queue until their peers are closed, and it is never
    /// unloaded (a restart clears it).
    fn guarded(&mut self, conns: &[ConnId], call: impl FnOnce(&mut Repo) -> Vec<Output>) -> Vec<Output> {
        let repo = &mut self.repo;
        let panic = match catch_unwind(AssertUnwindSafe(|| call(repo))) {
            Ok(outputs) => return outputs,
            Err(panic) => panic,
        };
        let what = panic_message(panic.as_ref());
        tracing::error!(conns = ?conns, panic = %what, "the repo panicked on this input: closing the connections it came from");
        self.metrics.error(ErrorKind::Internal);
        let message = "internal error while handling your message: reconnect".to_owned();
        let mut gone = Vec::new();
        for conn in conns {
            if gone.contains(conn) || !self.conns.contains_key(conn) {
                continue;
            }
            gone.push(*conn);
            let error =
                Message::Error { sender: Some(self.repo.peer_id().clone()), target: None, message: message.clone() };
            self.enqueue(*conn, Outbound::Frame(error.encode().into()));
            self.enqueue(*conn, Outbound::Close { code: CLOSE_INTERNAL, reason: message.clone() });
            self.conns.remove(conn);
        }
        let left: Vec<Input> = gone.iter().map(|conn| Input::Disconnected { conn: *conn }).collect();
        let repo = &mut self.repo;
        match catch_unwind(AssertUnwindSafe(|| repo.handle_batch(now(), left))) {
            Ok(outputs) => outputs,
            Err(again) => {
                tracing::error!(panic = %panic_message(again.as_ref()), "the repo panicked again while forgetting those connections");
                Vec::new()
            }
        }
    }

    /// Asks storage for a repair pass over the documents in memory, unless
    /// one is running.
    fn repair(&mut self) {
        if self.repairing || self.shutting_down {
            return;
        }
        self.repairing = true;
        let docs = self.repo.documents_in_memory().cloned().collect();
        let _ = self.store.send(Request::Repair { docs });
    }

    /// Another relay's chunk: taken in if the document is in memory (or
    /// loading, where it waits for the load); a pointer is read from
    /// storage. The version goes to storage, which takes it if it follows.
    #[cfg(feature = "cluster")]
    fn announced(&mut self, announced: crate::cluster::Announced) {
        let crate::cluster::Announced { doc, version, key, bytes } = announced;
        if !self.repo.holds(&doc) {
            return;
        }
        self.metrics.cluster.announcements_applied.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        match bytes {
            Some(bytes) => {
                self.feed(Input::CommittedElsewhere { doc: doc.clone(), chunks: vec![(key, bytes)] });
                let _ = self.store.send(Request::Seen { doc, version });
            }
            None => {
                let _ = self.store.send(Request::Refresh { doc });
            }
        }
    }

    /// Carries out outputs in order, then feeds the inputs that made.
    fn carry_out_all(&mut self, outputs: Vec<Output>) {
        for output in outputs {
            self.carry_out(output);
        }
        while let Some(input) = self.inbox.pop_front() {
            let conns: Vec<ConnId> = input_conn(&input).into_iter().collect();
            for output in self.guarded(&conns, |repo| repo.handle(now(), input)) {
                self.carry_out(output);
            }
        }
    }

    fn carry_out(&mut self, output: Output) {
        match output {
            Output::Write(write) => {
                self.sent_seq += 1;
                if write.holds_document_data() {
                    self.gating_seq = self.sent_seq;
                }
                // A send error means the storage thread stopped; its
                // `StoreFailed` event is on its way and stops the hub.
                let _ = self.store.send(Request::Write { seq: self.sent_seq, write });
            }
            Output::Load { doc } => {
                let _ = self.store.send(Request::Load { doc });
            }
            // Automerge's work on one document's large changes, off the
            // hub: the other documents go on meanwhile.
            Output::ApplyChanges(job) => {
                let Some(done) = self.jobs_done.upgrade() else { return };
                tokio::task::spawn_blocking(move || {
                    let _ = done.blocking_send(Event::ChangesApplied(Box::new(job.run())));
                });
            }
            Output::Send { conn, bytes } => self.hold_or_do(Held::Send { conn, bytes }),
            Output::Close { conn, reason } => self.hold_or_do(Held::Close { conn, reason }),
            Output::CheckAccess { conn, doc, .. } => self.decider_acces(conn, doc),
            // A territory changed: what it lists may open or close documents.
            Output::DocumentChanged { doc } => self.revoir_acces(&doc),
            // The relay opens nothing locally.
            Output::DocumentUnavailable { .. } | Output::Ephemeral { .. } => {}
        }
    }

    /// Decides what `conn` may do with `doc` (`gate::access`, then the
    /// territories that list it: `attaches.rs`), or waits for those
    /// territories to load. A connection already gone is answered like a
    /// document that does not exist.
    fn decider_acces(&mut self, conn: ConnId, doc: DocumentId) {
        let Some(handle) = self.conns.get(&conn) else {
            return self.inbox.push_back(Input::AccessDecided { conn, doc, access: Access::Denied });
        };
        match crate::attaches::decider(&self.repo, &handle.pass, &doc) {
            Decision::Decidee { access, via } => {
                self.attaches.retenir(&via, conn, &doc, access);
                self.inbox.push_back(Input::AccessDecided { conn, doc, access });
            }
            Decision::Charger(territoires) => {
                for territoire in territoires {
                    self.attaches.attendre(territoire.clone(), conn, doc.clone());
                    self.inbox.push_back(Input::Load { doc: territoire });
                }
            }
        }
    }

    /// Decides again the access given through territory `doc`, which
    /// changed; a change of access is the repo's to carry out (a pair
    /// opened syncs, one closed is told the document is unavailable).
    /// A sheet newly listed may need loading first (`attaches.rs`): the
    /// decision then waits for it, as a first one does.
    fn revoir_acces(&mut self, doc: &DocumentId) {
        for (conn, attache, avant) in self.attaches.a_revoir(doc) {
            let Some(handle) = self.conns.get(&conn) else { continue };
            match crate::attaches::decider(&self.repo, &handle.pass, &attache) {
                Decision::Decidee { access, via } if access != avant => {
                    self.attaches.retenir(&via, conn, &attache, access);
                    self.inbox.push_back(Input::AccessDecided { conn, doc: attache, access });
                }
                Decision::Decidee { .. } => {}
                Decision::Charger(documents) => {
                    for document in documents {
                        self.attaches.attendre(document.clone(), conn, attache.clone());
                        self.inbox.push_back(Input::Load { doc: document });
                    }
                }
            }
        }
    }

    fn hold_or_do(&mut self, action: Held) {
        if self.held.is_empty() && self.committed_seq >= self.gating_seq {
            self.perform(action);
        } else {
            self.held.push_back((self.gating_seq, action));
        }
    }

    fn committed(&mut self, seq: u64) {
        self.committed_seq = self.committed_seq.max(seq);
        while self.ecrites.front().is_some_and(|(needs, _)| *needs <= self.committed_seq) {
            let (_, ecrite) = self.ecrites.pop_front().expect("front checked just above");
            ecrite.durable();
        }
        while self.held.front().is_some_and(|(needs, _)| *needs <= self.committed_seq) {
            let (_, action) = self.held.pop_front().expect("front checked just above");
            self.perform(action);
        }
    }

    fn perform(&mut self, action: Held) {
        match action {
            Held::Send { conn, bytes } => self.enqueue(conn, Outbound::Frame(bytes)),
            Held::Close { conn, reason } => {
                self.metrics.error(error_kind(&reason));
                let code = close_code(&reason);
                self.enqueue(conn, Outbound::Close { code, reason: reason.to_string() });
                // The repo has forgotten it already.
                self.conns.remove(&conn);
            }
        }
    }

    /// Queues a frame for a connection; a peer whose queue is full is
    /// disconnected (it resyncs when it comes back).
    fn enqueue(&mut self, conn: ConnId, outbound: Outbound) {
        let Some(handle) = self.conns.get(&conn) else { return };
        let queued = match handle.outbox.push(outbound) {
            Ok(()) | Err(PushRefused::Ended) => return,
            Err(PushRefused::Full { queued_bytes }) => queued_bytes,
        };
        let handle = self.conns.remove(&conn).expect("looked up just above");
        tracing::warn!(%conn, queued, "outbound queue full; disconnecting a slow peer");
        self.metrics.error(ErrorKind::SlowConsumer);
        handle.outbox.kill(CLOSE_POLICY, "outbound queue full: too slow, reconnect to resync".into());
        self.inbox.push_back(Input::Disconnected { conn });
    }

    /// Input the transport rejected: an `error` frame, then close.
    fn refuse(&mut self, conn: ConnId, kind: ErrorKind, message: String) {
        tracing::warn!(%conn, kind = kind.label(), %message, "closing connection");
        self.metrics.error(kind);
        let error =
            Message::Error { sender: Some(self.repo.peer_id().clone()), target: None, message: message.clone() };
        let code = match kind {
            ErrorKind::TooLarge => CLOSE_TOO_BIG,
            ErrorKind::Revoked | ErrorKind::MessageTimeout => CLOSE_POLICY,
            ErrorKind::InboundBusy => CLOSE_TRY_AGAIN_LATER,
            ErrorKind::Transport => CLOSE_PROTOCOL,
            _ => CLOSE_UNSUPPORTED,
        };
        self.enqueue(conn, Outbound::Frame(error.encode().into()));
        self.enqueue(conn, Outbound::Close { code, reason: message });
        self.conns.remove(&conn);
        self.feed(Input::Disconnected { conn });
    }

    /// Closes the connections of revoked or expired invitations, with an
    /// `error` frame saying so.
    fn revoke(&mut self, invitations: &[String]) {
        let gone: Vec<ConnId> = self
            .conns
            .iter()
            .filter(|(_, c)| c.pass.grants.iter().any(|g| invitations.contains(&g.invitation)))
            .map(|(conn, _)| *conn)
            .collect();
        for conn in gone {
            self.refuse(conn, ErrorKind::Revoked, "invitation revoked or expired".into());
        }
    }

    /// Shutdown, once every write is durable: what was held goes out, then
    /// every connection gets a close frame.
    fn close_all(&mut self) {
        self.committed(self.sent_seq);
        let conns: Vec<ConnId> = self.conns.keys().copied().collect();
        for conn in conns {
            self.enqueue(conn, Outbound::Close { code: CLOSE_GOING_AWAY, reason: "relay shutting down".into() });
        }
        self.conns.clear();
    }
}

/// The connection an input comes from or is about, if any.
fn input_conn(input: &Input) -> Option<ConnId> {
    match input {
        Input::Connected { conn, .. }
        | Input::Received { conn, .. }
        | Input::Disconnected { conn }
        | Input::AccessDecided { conn, .. } => Some(*conn),
        _ => None,
    }
}

/// The text of a caught panic, when it has one.
fn panic_message(panic: &(dyn std::any::Any + Send)) -> &str {
    match (panic.downcast_ref::<&str>(), panic.downcast_ref::<String>()) {
        (Some(text), _) => text,
        (_, Some(text)) => text,
        _ => "(no message)",
    }
}

/// The metrics kind of a close.
fn error_kind(reason: &CloseReason) -> ErrorKind {
    match reason {
        CloseReason::Malformed(_) => ErrorKind::Malformed,
        CloseReason::TooLarge { .. } | CloseReason::EphemeralTooLarge { .. } => ErrorKind::TooLarge,
        CloseReason::DocumentTooLarge { .. }
        | CloseReason::DocumentTooManyOps { .. }
        | CloseReason::TooManyWaitingChanges { .. } => ErrorKind::DocumentTooLarge,
        CloseReason::ProtocolViolation(_) => ErrorKind::ProtocolViolation,
        CloseReason::UnsupportedVersion => ErrorKind::UnsupportedVersion,
        CloseReason::BadSyncMessage(_) => ErrorKind::BadSyncMessage,
        CloseReason::Replaced => ErrorKind::Replaced,
        CloseReason::PeerLeft => ErrorKind::PeerLeft,
        CloseReason::PeerError(_) => ErrorKind::PeerError,
        CloseReason::HandshakeTimeout => ErrorKind::HandshakeTimeout,
    }
}

fn close_code(reason: &CloseReason) -> u16 {
    match reason {
        CloseReason::TooLarge { .. }
        | CloseReason::EphemeralTooLarge { .. }
        | CloseReason::DocumentTooLarge { .. }
        | CloseReason::DocumentTooManyOps { .. }
        | CloseReason::TooManyWaitingChanges { .. } => CLOSE_TOO_BIG,
        CloseReason::Malformed(_)
        | CloseReason::ProtocolViolation(_)
        | CloseReason::UnsupportedVersion
        | CloseReason::BadSyncMessage(_) => CLOSE_PROTOCOL,
        CloseReason::HandshakeTimeout => CLOSE_POLICY,
        CloseReason::Replaced | CloseReason::PeerLeft | CloseReason::PeerError(_) => CLOSE_NORMAL,
    }
}

/// The wall clock, the one time source of the relay's repo.
pub(crate) fn now() -> UnixMillis {
    let since = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or(Duration::ZERO);
    UnixMillis(u64::try_from(since.as_millis()).unwrap_or(u64::MAX))
}

/// The next repair tick, or never without repairs.
async fn next_tick(repair: &mut Option<tokio::time::Interval>) {
    match repair {
        Some(ticks) => {
            ticks.tick().await;
        }
        None => std::future::pending().await,
    }
}

fn deadline_instant(deadline: UnixMillis) -> tokio::time::Instant {
    tokio::time::Instant::now() + Duration::from_millis(deadline.0.saturating_sub(now().0))
}

async fn sleep_until(deadline: Option<tokio::time::Instant>) {
    match deadline {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}
