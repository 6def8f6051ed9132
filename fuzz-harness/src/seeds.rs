//! The seed corpus, generated from real repos rather than typed by hand.
//!
//! A territory is built the way the PWA builds one (a client [`Repo`],
//! [`Repo::create_territory`] then [`Repo::apply`] of schema edits) and
//! stored by the repo's own writes; real clients then sync with a
//! [`Relay`] set up exactly as the relay targets set it up, and every frame
//! they send becomes a seed. The agenda seeds are saved territory documents,
//! with and without compression, with concurrent edits left as conflicts.
//! The wire fixtures of `sync-core/tests/fixtures/wire` (real JavaScript
//! automerge-repo traffic) are added as they are.
//!
//! Everything is deterministic: fixed ids, actors and clock. Constant edits
//! that the schema refuses are a bug of this generator, hence `expect`.
//!
//! Does not: write files (the `seeds` binary does), or fuzz.

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::{Value, json};
use sync_core::agenda::{self, Edit, Profil, VisibiliteTerritoire};
use sync_core::automerge::{ActorId, Automerge, SaveOptions};
use sync_core::{
    Access, AccessPolicy, Config, ConnId, Direction, DocumentId, Input, Output, PeerId, Repo, StorageId, StorageKey,
    UnixMillis,
};

use crate::Target;
use crate::relay::{self, CLIENT_PEER, OBSERVER_PEER, Relay, START, Step};

/// Rounds of frames between a client and the relay before an exchange is
/// declared stuck.
const MAX_ROUNDS: usize = 1000;

/// The stored territory's id.
pub fn territory_id() -> DocumentId {
    DocumentId::from_bytes(&[0x7e; 16]).expect("16 bytes make a document id")
}

/// A client repo and its driver.
struct Client {
    repo: Repo,
    storage: BTreeMap<StorageKey, Vec<u8>>,
    conn: ConnId,
    now: UnixMillis,
    outbox: Vec<Vec<u8>>,
    closed: bool,
}

impl Client {
    /// A persistent client (a browser) named `name`, with `storage`.
    fn start(name: &str, storage_id: Option<StorageId>, storage: BTreeMap<StorageKey, Vec<u8>>) -> Client {
        let peer: PeerId = name.parse().expect("a valid peer name");
        let mut actor = [0xa0; 16];
        for (byte, name_byte) in actor.iter_mut().zip(name.bytes()) {
            *byte ^= name_byte;
        }
        let mut config = Config::new(peer, ActorId::from(&actor[..]), format!("session-{name}"));
        config.access = AccessPolicy::AllowAll;
        config.persistent = storage_id.is_some();
        let stored = storage_id.map(|id| id.as_str().as_bytes().to_vec());
        let (repo, outputs) = Repo::start(config, stored.as_deref(), actor).expect("a client starts");
        let mut client = Client { repo, storage, conn: ConnId(1), now: START, outbox: Vec::new(), closed: false };
        client.carry_out(outputs);
        client
    }

    fn feed(&mut self, input: Input) {
        let mut pending = vec![input];
        for _ in 0..MAX_ROUNDS {
            let Some(input) = pending.pop() else { return };
            let outputs = self.repo.handle(self.now, input);
            pending.extend(self.carry_out(outputs));
        }
        panic!("a seed client does not settle");
    }

    /// Carries out outputs; returns the inputs they call for.
    fn carry_out(&mut self, outputs: Vec<Output>) -> Vec<Input> {
        let mut inputs = Vec::new();
        for output in outputs {
            match output {
                Output::Send { bytes, .. } => self.outbox.push(bytes.into_vec()),
                Output::Close { .. } => self.closed = true,
                Output::Load { doc } => {
                    let prefix = StorageKey::document_prefix(&doc);
                    let entries = self
                        .storage
                        .iter()
                        .filter(|(key, _)| key.starts_with(&prefix))
                        .map(|(key, value)| (key.clone(), value.clone()))
                        .collect();
                    inputs.push(Input::Loaded { doc, entries });
                }
                Output::ApplyChanges(job) => inputs.push(Input::ChangesApplied(Box::new(job.run()))),
                Output::Write(write) => {
                    for key in write.delete {
                        self.storage.remove(&key);
                    }
                    for (key, value) in write.put {
                        self.storage.insert(key, value);
                    }
                }
                Output::CheckAccess { conn, doc, .. } => {
                    inputs.push(Input::AccessDecided { conn, doc, access: Access::ReadWrite })
                }
                Output::DocumentChanged { .. } | Output::DocumentUnavailable { .. } | Output::Ephemeral { .. } => {}
            }
        }
        inputs
    }

    fn outputs(&mut self, outputs: Vec<Output>) {
        for input in self.carry_out(outputs) {
            self.feed(input);
        }
    }

    fn apply(&mut self, edit: Value) {
        self.now = UnixMillis(self.now.0 + 60_000);
        let edit: Edit = serde_json::from_value(edit).expect("a well-formed edit");
        let outputs = self.repo.apply(self.now, &territory_id(), &actor_hex(&self.repo), edit).expect("a valid edit");
        self.outputs(outputs);
    }
}

fn actor_hex(repo: &Repo) -> String {
    repo.peer_id().as_str().bytes().map(|b| format!("{b:02x}")).collect()
}

/// The territory's edits after its creation: every collection, rhythms
/// with exceptions, a pause, a split, needs and volunteers.
fn territory_edits() -> Vec<Value> {
    let rythme = json!({ "debut": "2026-03-04T18:30:00", "duree": "PT2H",
        "regle": { "freq": "WEEKLY", "par_jour": ["WE"], "jusqu_au": "2026-12-30" } });
    vec![
        json!({ "type": "modifier_horizon", "horizon_debut": "2026", "horizon_fin": "2030" }),
        json!({ "type": "creer", "collection": "actions", "id": "a1", "valeur": {
            "titre": "Repair café", "resume": "Réparer ensemble plutôt que jeter.",
            "portes_entree": ["dechets_reemploi"], "visibilite": "public", "publication": "publie",
            "lieu": { "libelle": "Salle des fêtes", "adresse": "1 place de la Mairie" },
            "rythme": rythme } }),
        json!({ "type": "creer", "collection": "actions", "id": "a2", "valeur": {
            "titre": "Fresque du climat", "portes_entree": ["energie"], "visibilite": "public",
            "publication": "publie", "rythme": { "debut": "2026-04-11T10:00:00", "duree": "PT3H" } } }),
        json!({ "type": "definir_besoin", "action_id": "a1", "besoin_id": "b1",
            "besoin": { "type": "benevoles", "description": "Des bras pour installer", "quantite": 3 } }),
        json!({ "type": "ajouter_volontaire", "action_id": "a1", "besoin_id": "b1", "volontaire_id": "v1",
            "volontaire": { "nom": "Camille", "date": "2026-03-02" } }),
        json!({ "type": "modifier_occurrence", "collection": "actions", "id": "a1",
            "origine": "2026-03-11T18:30:00", "exception": { "etat": "annule", "motif": "Salle indisponible" } }),
        json!({ "type": "modifier_occurrence", "collection": "actions", "id": "a1",
            "origine": "2026-03-18T18:30:00", "exception": { "debut": "2026-03-19T19:00:00" } }),
        json!({ "type": "pauser", "collection": "actions", "id": "a1",
            "pause": { "du": "2026-07-14", "au": "2026-08-31", "motif": "Vacances" } }),
        json!({ "type": "scinder_serie", "action_id": "a1", "a_partir_de": "2026-09-02T18:30:00",
            "nouvel_id": "a3", "champs": { "titre": "Repair café de rentrée" } }),
        json!({ "type": "creer", "collection": "acteurs", "id": "ac1", "valeur": {
            "nom": "Association Vélo Vert", "visible_publiquement": true } }),
        json!({ "type": "creer", "collection": "instances", "id": "i1", "valeur": {
            "nom": "Conseil citoyen", "rythme": { "debut": "2026-03-05T20:00:00", "duree": "PT2H",
            "regle": { "freq": "MONTHLY", "par_jour": ["1TH"], "jusqu_au": "2026-12-31" } } } }),
        json!({ "type": "creer", "collection": "decisions", "id": "d1", "valeur": {
            "titre": "Ouvrir un atelier vélo", "instance_id": "i1", "actions": ["a1"] } }),
        json!({ "type": "creer", "collection": "phases", "id": "p1", "valeur": {
            "titre": "Diagnostic partagé", "debut": "2026-01-01", "fin": "2027-06-30" } }),
    ]
}

/// A client that created the territory and applied every edit.
fn territory_client() -> Client {
    let mut client = Client::start("essaim-fuzz-organiser", Some(StorageId::from_random([0x0a; 16])), BTreeMap::new());
    let profil = Profil {
        nom: "Commune en transition".to_owned(),
        presentation: "Une commune qui essaime.".to_owned(),
        visibilite: VisibiliteTerritoire::Public,
        ..Profil::default()
    };
    let auteur = actor_hex(&client.repo);
    let (_, outputs) = client.repo.create_territory(START, &[0x7e; 16], &auteur, profil).expect("a valid territory");
    client.outputs(outputs);
    for edit in territory_edits() {
        client.apply(edit);
    }
    client
}

/// The territory's stored entries (its chunks, as the repo wrote them).
pub fn territory_storage() -> BTreeMap<StorageKey, Vec<u8>> {
    let prefix = StorageKey::document_prefix(&territory_id());
    territory_client().storage.into_iter().filter(|(key, _)| key.starts_with(&prefix)).collect()
}

/// The territory document.
pub fn territory_document() -> Automerge {
    territory_client().repo.document(&territory_id()).expect("the creator holds its territory").clone()
}

/// Connects `client` to `relay` and carries frames both ways until both
/// are quiet, after `prepare` ran on the client (open a document,
/// broadcast…) once connected. Returns the relay's connection and the
/// frames the client sent.
fn exchange(relay: &mut Relay, client: &mut Client, prepare: impl FnOnce(&mut Client)) -> (ConnId, Vec<Vec<u8>>) {
    let conn = relay.accept();
    client.feed(Input::Connected { conn: client.conn, direction: Direction::Outbound, expected_peer: None });
    let mut sent = Vec::new();
    let mut prepare = Some(prepare);
    for _ in 0..MAX_ROUNDS {
        let frames = std::mem::take(&mut client.outbox);
        for frame in &frames {
            relay.receive(conn, frame.clone());
        }
        sent.extend(frames);
        let back = relay.take_sent(conn);
        for frame in &back {
            client.feed(Input::Received { conn: client.conn, bytes: frame.clone() });
        }
        if client.outbox.is_empty() && back.is_empty() {
            match prepare.take() {
                Some(prepare) => prepare(client),
                None => return (conn, sent),
            }
        }
    }
    panic!("a seed exchange does not end");
}

/// The observer's `join` and the frames it sends after it: it requests the
/// territory (known to the relay or not) and acknowledges what it gets.
pub fn observer_frames(storage: &BTreeMap<StorageKey, Vec<u8>>) -> (Vec<u8>, Vec<Vec<u8>>) {
    let mut relay = Relay::start(storage.clone(), Access::ReadOnly);
    let mut observer = Client::start(OBSERVER_PEER, None, BTreeMap::new());
    let (_, mut frames) = exchange(&mut relay, &mut observer, |c| c.feed(Input::Open { doc: territory_id() }));
    let join = if frames.is_empty() { Vec::new() } else { frames.remove(0) };
    (join, frames)
}

/// What a relay target's seed client does once connected.
enum Scenario {
    /// Opens the territory with nothing stored: a first download.
    FirstDownload,
    /// First download, then an edit and an ephemeral broadcast.
    DownloadAndEdit,
    /// Holds the territory with an offline edit, syncs it (a `have` with a
    /// Bloom filter of its changes).
    OfflineEdit,
    /// Creates a document of its own and syncs it.
    NewDocument,
}

/// Frames a seed client sends to a relay set up as `target` sets it up
/// (same storage, same observer), after its `join`, as steps.
fn scenario_steps(storage: &BTreeMap<StorageKey, Vec<u8>>, access: Access, scenario: Scenario) -> Vec<Step> {
    let mut relay = Relay::start(storage.clone(), access);
    let observer = relay.accept();
    relay.set_observer(observer);
    let (join, frames) = observer_frames(storage);
    relay.receive(observer, join);
    for frame in frames {
        relay.receive(observer, frame);
    }
    let client_storage = match scenario {
        Scenario::OfflineEdit => territory_storage(),
        _ => BTreeMap::new(),
    };
    let mut client = Client::start(CLIENT_PEER, Some(relay::client_storage_id()), client_storage);
    let (conn, mut sent) = exchange(&mut relay, &mut client, |c| match scenario {
        Scenario::FirstDownload => c.feed(Input::Open { doc: territory_id() }),
        Scenario::DownloadAndEdit => {
            c.feed(Input::Open { doc: territory_id() });
        }
        Scenario::OfflineEdit => {
            c.feed(Input::Open { doc: territory_id() });
            c.apply(json!({ "type": "modifier", "collection": "actions", "id": "a2",
                "champs": { "titre": "Fresque du climat (complet)" } }));
        }
        Scenario::NewDocument => {
            let (_, outputs) = c.repo.create_document(START, &[0x4e; 16]).expect("a new document");
            c.outputs(outputs);
        }
    });
    if matches!(scenario, Scenario::DownloadAndEdit) {
        sent.extend(exchange_more(&mut relay, conn, &mut client, |c| {
            c.apply(json!({ "type": "modifier", "collection": "actions", "id": "a1",
                "champs": { "resume": "Apportez vos objets cassés." } }));
            let outputs =
                c.repo.handle(c.now, Input::Broadcast { doc: territory_id(), data: vec![0xa1, 0x61, 0x78, 0x01] });
            c.outputs(outputs);
        }));
    }
    // The first frame is the client's own `join`; the targets send theirs.
    sent.into_iter().skip(1).map(Step::Frame).collect()
}

/// Continues an exchange on the client's open connection.
fn exchange_more(relay: &mut Relay, conn: ConnId, client: &mut Client, act: impl FnOnce(&mut Client)) -> Vec<Vec<u8>> {
    act(client);
    let mut sent = Vec::new();
    for _ in 0..MAX_ROUNDS {
        let frames = std::mem::take(&mut client.outbox);
        for frame in &frames {
            relay.receive(conn, frame.clone());
        }
        sent.extend(frames);
        let back = relay.take_sent(conn);
        for frame in &back {
            client.feed(Input::Received { conn: client.conn, bytes: frame.clone() });
        }
        if client.outbox.is_empty() && back.is_empty() {
            return sent;
        }
    }
    panic!("a seed exchange does not end");
}

/// The golden frames of `sync-core/tests/fixtures/wire`, by file name.
pub fn wire_fixtures() -> Vec<(String, Vec<u8>)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../sync-core/tests/fixtures/wire");
    let mut fixtures: Vec<(String, Vec<u8>)> = std::fs::read_dir(&dir)
        .expect("the wire fixtures are in the repository")
        .filter_map(Result::ok)
        .map(|entry| entry.path())
        .filter(|path| path.extension().is_some_and(|e| e == "cbor"))
        .map(|path| {
            let name = path.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
            (name, std::fs::read(&path).expect("a readable fixture"))
        })
        .collect();
    fixtures.sort();
    fixtures
}

/// The territory with two organisers' concurrent edits of the same fields,
/// merged: the reader shows them as conflicts.
fn territory_with_conflicts() -> Automerge {
    let mut first = territory_document();
    let mut second = first.fork().with_actor(ActorId::from(&[0xb2; 16][..]));
    first.set_actor(ActorId::from(&[0xb1; 16][..]));
    let now = i64::try_from(START.0).unwrap_or(i64::MAX) + 3_600_000;
    for (am, titre, auteur) in
        [(&mut first, "Repair café (salle B)", "b1".repeat(16)), (&mut second, "Repair café annulé", "b2".repeat(16))]
    {
        let edit: Edit = serde_json::from_value(json!({ "type": "modifier", "collection": "actions", "id": "a1",
            "champs": { "titre": titre } }))
        .expect("a well-formed edit");
        agenda::appliquer(am, now, &auteur, edit).expect("a valid edit");
    }
    first.merge(&mut second).expect("forks of one document merge");
    first
}

/// Every seed, by target, with a file name for each.
pub fn all() -> Vec<(Target, String, Vec<u8>)> {
    let mut seeds = Vec::new();
    let fixtures = wire_fixtures();
    let territory = territory_storage();
    let empty = BTreeMap::new();

    let mut relay_seeds: Vec<(Target, String, Vec<Step>)> = vec![
        (
            Target::RepoTerritory,
            "first-download-rw".into(),
            scenario_steps(&territory, Access::ReadWrite, Scenario::FirstDownload),
        ),
        (
            Target::RepoTerritory,
            "download-and-edit-rw".into(),
            scenario_steps(&territory, Access::ReadWrite, Scenario::DownloadAndEdit),
        ),
        (
            Target::RepoTerritory,
            "download-and-edit-ro".into(),
            scenario_steps(&territory, Access::ReadOnly, Scenario::DownloadAndEdit),
        ),
        (
            Target::RepoTerritory,
            "offline-edit-rw".into(),
            scenario_steps(&territory, Access::ReadWrite, Scenario::OfflineEdit),
        ),
        (
            Target::RepoTerritory,
            "offline-edit-ro".into(),
            scenario_steps(&territory, Access::ReadOnly, Scenario::OfflineEdit),
        ),
        (Target::RepoEmpty, "unavailable".into(), scenario_steps(&empty, Access::ReadWrite, Scenario::FirstDownload)),
        (Target::RepoEmpty, "new-document".into(), scenario_steps(&empty, Access::ReadWrite, Scenario::NewDocument)),
        (Target::RepoEmpty, "offline-edit".into(), scenario_steps(&empty, Access::ReadWrite, Scenario::OfflineEdit)),
    ];
    // The same exchange batched, then replayed after ticks and a reconnect.
    let mut variants = Vec::new();
    for (target, name, steps) in &relay_seeds {
        let batched: Vec<Step> = steps
            .iter()
            .map(|s| match s {
                Step::Frame(bytes) => Step::Batched(bytes.clone()),
                other => other.clone(),
            })
            .collect();
        variants.push((*target, format!("{name}-batched"), batched));
        let mut again = steps.clone();
        again.extend([Step::Tick(30), Step::Tick(90), Step::Reconnect]);
        again.extend(steps.iter().cloned());
        variants.push((*target, format!("{name}-reconnect"), again));
    }
    relay_seeds.extend(variants);
    for (name, bytes) in &fixtures {
        relay_seeds.push((Target::RepoEmpty, format!("fixture-{name}"), vec![Step::Frame(bytes.clone())]));
        relay_seeds.push((Target::RepoTerritory, format!("fixture-{name}"), vec![Step::Frame(bytes.clone())]));
    }
    for (target, name, steps) in relay_seeds {
        // Frames seen by the relays also seed the decoder.
        for (i, step) in steps.iter().enumerate() {
            if let Step::Frame(bytes) = step
                && !name.starts_with("fixture-")
                && !name.ends_with("-reconnect")
            {
                seeds.push((Target::WireDecode, format!("{}-{name}-{i}", target.name()), bytes.clone()));
            }
        }
        let mut input = relay::encode_steps(&steps);
        if target == Target::RepoTerritory {
            let mode = if name.ends_with("-ro") || name.contains("-ro-") { 1 } else { 0 };
            input.insert(0, mode);
        }
        seeds.push((target, name, input));
    }
    for (name, bytes) in fixtures {
        seeds.push((Target::WireDecode, format!("fixture-{name}"), bytes));
    }

    let plain = territory_document();
    let conflicts = territory_with_conflicts();
    let uncompressed = SaveOptions { deflate: false, retain_orphans: true };
    seeds.push((Target::AgendaReader, "territory".into(), plain.save()));
    seeds.push((Target::AgendaReader, "territory-uncompressed".into(), plain.save_with_options(uncompressed)));
    let uncompressed = SaveOptions { deflate: false, retain_orphans: true };
    seeds.push((Target::AgendaReader, "conflicts-uncompressed".into(), conflicts.save_with_options(uncompressed)));
    seeds.push((Target::AgendaReader, "conflicts".into(), conflicts.save()));
    let changes: Vec<u8> = plain.get_changes(&[]).iter().flat_map(|c| c.raw_bytes().to_vec()).collect();
    seeds.push((Target::AgendaReader, "territory-changes".into(), changes));
    seeds.push((Target::AgendaReader, "empty-document".into(), Automerge::new().save()));
    seeds
}
