//! Bindings of [`sync_core::Repo`] for the browser: conversions only, no
//! decisions.
//!
//! The TypeScript driver (`web/src/driver/`) owns a [`WasmRepo`], feeds it
//! what happens (a websocket opened, a frame arrived, storage answered, the
//! user edited) with the current time, and carries out the outputs each
//! call returns, in order: a plain JavaScript object per
//! [`sync_core::Output`] with a `kind` field ([`BrowserOutput`]).
//!
//! Agenda data crosses as JSON text: edits in, the read model out, both in
//! `sync-core`'s own serde shapes (`docs/schema.md`). Storage keys cross as
//! their `/`-joined text, the same as in the relay's SQLite table, so that a
//! document is the key range `[doc + "/", doc + "0")` in IndexedDB too.
//!
//! What this module does not do: IO, clocks, randomness (the driver passes
//! them in), retries, or any protocol or schema decision.

use std::collections::HashMap;
use std::str::FromStr;

use js_sys::{Array, Object, Reflect, Uint8Array};
use sync_core::automerge::ActorId;
use sync_core::rythme::Timestamp;
use sync_core::{
    AccessPolicy, ConnId, Direction, DocumentId, Input, Output, PeerId, Repo, StorageId, StorageKey, StorageWrite,
    UnixMillis, agenda,
};
use wasm_bindgen::prelude::*;

pub use sync_core::PROTOCOL_VERSION;

// The agenda's labels, French wording and TypeScript declarations.
pub mod domaine;

/// A client repo, driven from JavaScript.
#[wasm_bindgen]
pub struct WasmRepo {
    repo: Repo,
    /// The actor id of local changes, as hex: the `auteur` of edits.
    actor: String,
    /// What starting produced (the storage id to write, at first start).
    started: Vec<Output>,
    /// The read model of each document, kept up to date from what changed:
    /// reading 500 actions whole costs tens of milliseconds.
    read_models: HashMap<DocumentId, ReadModel>,
    /// The last read model version given out (see [`ReadModel::version`]).
    versions: u32,
}

impl WasmRepo {
    fn essaimer_action(
        &mut self,
        now: f64,
        publique: &agenda::ActionPublique,
        cible: &str,
        nouvel_id: &str,
        a_partir_de: &str,
    ) -> Result<Array, JsError> {
        let cible = DocumentId::from_str(cible)?;
        let jour: sync_core::rythme::Jour =
            a_partir_de.parse().map_err(|_| JsError::new("date de début invalide\u{a0}: AAAA-MM-JJ attendu"))?;
        let auteur = self.actor();
        Ok(outputs(self.repo.essaimer(millis(now), publique, &cible, nouvel_id, jour, &auteur)?))
    }
}

/// The longest `ActionPublique` JSON `essaimer` parses (its texts are
/// bounded by the schema well below this).
const ACTION_PUBLIQUE_MAX: usize = 256 * 1024;

/// A document's read model, brought up to each new version from what
/// changed (`agenda::LectureAgenda`), with a version number: the driver
/// keeps what it parsed of the agenda and of its rendez-vous per version,
/// so the core serialises each once per change, not once per render.
struct ReadModel {
    lecture: agenda::LectureAgenda,
    /// Changes, unique in this repo, whenever the read model does.
    version: u32,
}

#[wasm_bindgen]
impl WasmRepo {
    /// Starts a persistent client repo. `actor` and `random` are 16 random
    /// bytes each (from `crypto.getRandomValues`); `storedStorageId` is what
    /// IndexedDB holds under `storage-adapter-id`, if anything. The outputs
    /// of starting come from [`WasmRepo::take_started`].
    #[wasm_bindgen(constructor)]
    pub fn new(
        peer_id: &str,
        actor: &[u8],
        session_id: &str,
        stored_storage_id: Option<Vec<u8>>,
        random: &[u8],
    ) -> Result<WasmRepo, JsError> {
        let peer = PeerId::from_str(peer_id)?;
        let random: [u8; 16] = random.try_into().map_err(|_| JsError::new("random must be 16 bytes"))?;
        let actor = ActorId::from(actor);
        let mut config = sync_core::Config::new(peer, actor.clone(), session_id.to_owned());
        config.access = AccessPolicy::AllowAll;
        let (repo, started) = Repo::start(config, stored_storage_id.as_deref(), random)?;
        Ok(WasmRepo { repo, actor: actor.to_hex_string(), started, read_models: HashMap::new(), versions: 0 })
    }

    /// The outputs of starting (once; empty afterwards).
    #[wasm_bindgen(js_name = takeStarted, unchecked_return_type = "Output[]")]
    pub fn take_started(&mut self) -> Array {
        outputs(std::mem::take(&mut self.started))
    }

    /// The storage id, once the repo has one.
    #[wasm_bindgen(js_name = storageId)]
    pub fn storage_id(&self) -> Option<String> {
        self.repo.storage_id().map(|s| s.to_string())
    }

    /// The actor id of local changes, as hex (the `auteur` of edits).
    pub fn actor(&self) -> String {
        self.actor.clone()
    }

    /// A websocket to the relay opened.
    #[wasm_bindgen(unchecked_return_type = "Output[]")]
    pub fn connected(&mut self, now: f64, conn: u32) -> Array {
        let input = Input::Connected { conn: ConnId(conn.into()), direction: Direction::Outbound, expected_peer: None };
        self.handle(now, input)
    }

    /// A binary frame arrived.
    #[wasm_bindgen(unchecked_return_type = "Output[]")]
    pub fn received(&mut self, now: f64, conn: u32, bytes: Vec<u8>) -> Array {
        self.handle(now, Input::Received { conn: ConnId(conn.into()), bytes })
    }

    /// The websocket closed.
    #[wasm_bindgen(unchecked_return_type = "Output[]")]
    pub fn disconnected(&mut self, now: f64, conn: u32) -> Array {
        self.handle(now, Input::Disconnected { conn: ConnId(conn.into()) })
    }

    /// Storage's answer to a `load` output: the keys and values stored under
    /// the document's prefix.
    #[wasm_bindgen(unchecked_return_type = "Output[]")]
    pub fn loaded(&mut self, now: f64, doc: &str, keys: Vec<String>, values: Array) -> Result<Array, JsError> {
        let doc = DocumentId::from_str(doc)?;
        Ok(self.handle(now, Input::Loaded { doc, entries: entries(keys, values) }))
    }

    /// The user opened a document (by its id, from a link).
    #[wasm_bindgen(unchecked_return_type = "Output[]")]
    pub fn open(&mut self, now: f64, doc: &str) -> Result<Array, JsError> {
        Ok(self.handle(now, Input::Open { doc: DocumentId::from_str(doc)? }))
    }

    /// Timers: call at [`WasmRepo::next_deadline`].
    #[wasm_bindgen(unchecked_return_type = "Output[]")]
    pub fn tick(&mut self, now: f64) -> Array {
        self.handle(now, Input::Tick)
    }

    /// When to call [`WasmRepo::tick`] next (Unix milliseconds), if ever.
    #[wasm_bindgen(js_name = nextDeadline)]
    pub fn next_deadline(&self) -> Option<f64> {
        self.repo.next_deadline().map(|t| t.0 as f64)
    }

    /// Creates a territory with its profile (JSON of `Profil`). `id` is 16
    /// random bytes. Returns `{ doc, outputs }`.
    #[wasm_bindgen(js_name = createTerritory, unchecked_return_type = "{ doc: string; outputs: Output[] }")]
    pub fn create_territory(&mut self, now: f64, id: &[u8], profil_json: &str) -> Result<Object, JsError> {
        let profil: agenda::Profil = serde_json::from_str(profil_json)?;
        let auteur = self.actor();
        let (doc, out) = self.repo.create_territory(millis(now), id, &auteur, profil)?;
        let result = Object::new();
        set(&result, "doc", &JsValue::from_str(&doc.to_string()));
        set(&result, "outputs", &outputs(out));
        Ok(result)
    }

    /// Creates the organisers' notebook of the loaded territory
    /// `territoire` and lists it there (`Repo::creer_carnet`). `id` is 16
    /// random bytes. Returns `{ doc, outputs }`.
    #[wasm_bindgen(js_name = creerCarnet, unchecked_return_type = "{ doc: string; outputs: Output[] }")]
    pub fn creer_carnet(&mut self, now: f64, territoire: &str, id: &[u8]) -> Result<Object, JsError> {
        let territoire = DocumentId::from_str(territoire)?;
        let auteur = self.actor();
        let (doc, out) = self.repo.creer_carnet(millis(now), id, &territoire, &auteur)?;
        let result = Object::new();
        set(&result, "doc", &JsValue::from_str(&doc.to_string()));
        set(&result, "outputs", &outputs(out));
        Ok(result)
    }

    /// The notebook the loaded territory `territoire` lists, if any.
    #[wasm_bindgen(js_name = carnetDe)]
    pub fn carnet_de(&self, territoire: &str) -> Result<Option<String>, JsError> {
        Ok(self.repo.carnet_de(&DocumentId::from_str(territoire)?).map(|d| d.to_string()))
    }

    /// The notebook's read model as JSON (`Carnet`), if it is loaded.
    #[wasm_bindgen(js_name = carnetJson)]
    pub fn carnet_json(&self, carnet: &str) -> Result<Option<String>, JsError> {
        let carnet = self.repo.carnet(&DocumentId::from_str(carnet)?);
        Ok(carnet.map(|c| serde_json::to_string(&c)).transpose()?)
    }

    /// Sets actor `acteur`'s private contact in the loaded notebook
    /// `carnet` (`EditCarnet::DefinirContact`; empty fields are cleared).
    /// An invalid contact throws its French message and changes nothing.
    #[wasm_bindgen(js_name = definirContact, unchecked_return_type = "Output[]")]
    #[allow(clippy::too_many_arguments)]
    pub fn definir_contact(
        &mut self,
        now: f64,
        carnet: &str,
        acteur: &str,
        email: &str,
        tel: &str,
        adresse: &str,
        notes: &str,
    ) -> Result<Array, JsError> {
        let carnet = DocumentId::from_str(carnet)?;
        let champ = |v: &str| Some(v.trim().to_owned()).filter(|v| !v.is_empty());
        let contact =
            agenda::ContactPrive { email: champ(email), tel: champ(tel), adresse: champ(adresse), notes: champ(notes) };
        let edit = agenda::EditCarnet::DefinirContact { acteur_id: acteur.to_owned(), contact };
        let auteur = self.actor();
        Ok(outputs(self.repo.appliquer_carnet(millis(now), &carnet, &auteur, edit)?))
    }

    /// Removes actor `acteur`'s private contact from the loaded notebook.
    #[wasm_bindgen(js_name = retirerContact, unchecked_return_type = "Output[]")]
    pub fn retirer_contact(&mut self, now: f64, carnet: &str, acteur: &str) -> Result<Array, JsError> {
        let carnet = DocumentId::from_str(carnet)?;
        let edit = agenda::EditCarnet::RetirerContact { acteur_id: acteur.to_owned() };
        let auteur = self.actor();
        Ok(outputs(self.repo.appliquer_carnet(millis(now), &carnet, &auteur, edit)?))
    }

    /// Creates an experience sheet of the loaded territory `territoire`
    /// with `contenu` (JSON of a partial `ContenuFiche`, at least its
    /// title) and lists it there (`Repo::creer_fiche`), offline too. `id`
    /// is 16 random bytes; `nom` the device's person's name, if given.
    /// Returns `{ doc, outputs }`; a refusal throws its French message.
    #[wasm_bindgen(js_name = creerFiche, unchecked_return_type = "{ doc: string; outputs: Output[] }")]
    pub fn creer_fiche(
        &mut self,
        now: f64,
        territoire: &str,
        id: &[u8],
        nom: Option<String>,
        contenu_json: &str,
    ) -> Result<Object, JsError> {
        let territoire = DocumentId::from_str(territoire)?;
        // Through a `Value`, like the edits' records: a smaller wasm.
        let contenu: agenda::ContenuFiche = serde_json::from_value(serde_json::from_str(contenu_json)?)?;
        let auteur = self.actor();
        let (doc, out) = self.repo.creer_fiche(millis(now), id, &territoire, &auteur, nom.as_deref(), contenu)?;
        let result = Object::new();
        set(&result, "doc", &JsValue::from_str(&doc.to_string()));
        set(&result, "outputs", &outputs(out));
        Ok(result)
    }

    /// The sheets the loaded territory `territoire` lists (each may not be
    /// loaded yet).
    #[wasm_bindgen(js_name = fichesDe)]
    pub fn fiches_de(&self, territoire: &str) -> Result<Vec<String>, JsError> {
        Ok(self.repo.fiches_de(&DocumentId::from_str(territoire)?).iter().map(ToString::to_string).collect())
    }

    /// The sheet's read model as JSON (`Fiche`), if it is loaded.
    #[wasm_bindgen(js_name = ficheJson)]
    pub fn fiche_json(&self, fiche: &str) -> Result<Option<String>, JsError> {
        let fiche = self.repo.fiche(&DocumentId::from_str(fiche)?);
        Ok(fiche.map(|f| json(&f)).transpose()?)
    }

    /// Applies an edit (JSON of `EditFiche`) to the loaded sheet `fiche` as
    /// this repo's actor, named `nom` when the person gave a name. A
    /// refusal throws its French message and changes nothing.
    #[wasm_bindgen(js_name = appliquerFiche, unchecked_return_type = "Output[]")]
    pub fn appliquer_fiche(
        &mut self,
        now: f64,
        fiche: &str,
        edit_json: &str,
        nom: Option<String>,
    ) -> Result<Array, JsError> {
        let fiche = DocumentId::from_str(fiche)?;
        let edit = edit_fiche(edit_json)?;
        let auteur = self.actor();
        Ok(outputs(self.repo.appliquer_fiche(millis(now), &fiche, &auteur, nom.as_deref(), edit)?))
    }

    /// « Modifications depuis la version publiée » of the loaded sheet
    /// `fiche`, as JSON (`DifferenceSection[]`, `agenda::differences`).
    #[wasm_bindgen(js_name = differencesFiche)]
    pub fn differences_fiche(&self, fiche: &str) -> Result<Option<String>, JsError> {
        let Some(am) = self.repo.document(&DocumentId::from_str(fiche)?) else { return Ok(None) };
        Ok(Some(json(&agenda::differences(am))?))
    }

    /// Moves the private contacts an older territory keeps in its own
    /// document into its notebook (`Repo::migrer_contacts`; `id`: 16
    /// random bytes, if a notebook must be made). No output when there is
    /// nothing to move.
    #[wasm_bindgen(js_name = migrerContacts, unchecked_return_type = "Output[]")]
    pub fn migrer_contacts(&mut self, now: f64, territoire: &str, id: &[u8]) -> Result<Array, JsError> {
        let territoire = DocumentId::from_str(territoire)?;
        let auteur = self.actor();
        Ok(outputs(self.repo.migrer_contacts(millis(now), &territoire, id, &auteur)?))
    }

    /// The last `max` changes of the loaded territory `doc` in words,
    /// newest first (JSON of `Evenement[]`, `agenda::historique_en_mots`).
    #[wasm_bindgen(js_name = historiqueJson)]
    pub fn historique_json(&mut self, doc: &str, max: usize) -> Result<Option<String>, JsError> {
        let doc = DocumentId::from_str(doc)?;
        if self.read_model(&doc).is_none() {
            return Ok(None);
        }
        // Disjoint fields: the cached read model and the repo's document.
        let (Some(model), Some(am)) = (self.read_models.get(&doc), self.repo.document(&doc)) else { return Ok(None) };
        Ok(Some(serde_json::to_string(&agenda::historique_en_mots(am, model.lecture.agenda(), max))?))
    }

    /// Each actor's *4 Fantastiques* family (set, or implied by its
    /// category: `Acteur::famille`), by actor id, if the territory is
    /// loaded.
    #[wasm_bindgen(js_name = famillesActeurs, unchecked_return_type = "Record<string, Famille4F> | undefined")]
    pub fn familles_acteurs(&mut self, doc: &str) -> Result<JsValue, JsError> {
        let doc = DocumentId::from_str(doc)?;
        let Some(model) = self.read_model(&doc) else { return Ok(JsValue::UNDEFINED) };
        let familles = Object::new();
        for (id, acteur) in &model.lecture.agenda().acteurs {
            if let Some(serde_json::Value::String(f)) = acteur.famille().and_then(|f| serde_json::to_value(f).ok()) {
                set(&familles, id, &JsValue::from_str(&f));
            }
        }
        Ok(familles.into())
    }

    /// Applies an edit (JSON of `Edit`) as this repo's actor. An invalid
    /// edit throws its French message and changes nothing.
    #[wasm_bindgen(unchecked_return_type = "Output[]")]
    pub fn apply(&mut self, now: f64, doc: &str, edit_json: &str) -> Result<Array, JsError> {
        let doc = DocumentId::from_str(doc)?;
        let edit: agenda::Edit = serde_json::from_str(edit_json)?;
        let auteur = self.actor();
        Ok(outputs(self.repo.apply(millis(now), &doc, &auteur, edit)?))
    }

    /// Takes up action `action` of the loaded territory `source` (its
    /// `ActionPublique` now, `Repo::action_publique`) into territory
    /// `cible` as the draft `nouvel_id`, its rhythm from `a_partir_de`
    /// (`AAAA-MM-JJ`): `Repo::essaimer`. A refusal throws its French
    /// message and changes nothing.
    #[wasm_bindgen(unchecked_return_type = "Output[]")]
    #[allow(clippy::too_many_arguments)]
    pub fn essaimer(
        &mut self,
        now: f64,
        source: &str,
        action: &str,
        cible: &str,
        nouvel_id: &str,
        a_partir_de: &str,
    ) -> Result<Array, JsError> {
        let publique = self.repo.action_publique(&DocumentId::from_str(source)?, action)?;
        self.essaimer_action(now, &publique, cible, nouvel_id, a_partir_de)
    }

    /// [`WasmRepo::essaimer`] for an action this device does not hold:
    /// `publique` is the JSON of its `ActionPublique`, as the relay's
    /// `/t/{id}/actions/{action}.json` served it.
    #[wasm_bindgen(js_name = essaimerPublique, unchecked_return_type = "Output[]")]
    pub fn essaimer_publique(
        &mut self,
        now: f64,
        publique: &str,
        cible: &str,
        nouvel_id: &str,
        a_partir_de: &str,
    ) -> Result<Array, JsError> {
        if publique.len() > ACTION_PUBLIQUE_MAX {
            return Err(JsError::new("action trop longue pour être reprise"));
        }
        // Through a `Value`, like the edits' records: the schema's types
        // are already deserialised from one, so the wasm stays smaller.
        let publique: agenda::ActionPublique = serde_json::from_value(serde_json::from_str(publique)?)?;
        self.essaimer_action(now, &publique, cible, nouvel_id, a_partir_de)
    }

    /// The version of the document's read model, if it is loaded: the
    /// same number as long as [`WasmRepo::agenda_json`] gives the same JSON.
    #[wasm_bindgen(js_name = agendaVersion)]
    pub fn agenda_version(&mut self, doc: &str) -> Result<Option<u32>, JsError> {
        let doc = DocumentId::from_str(doc)?;
        Ok(self.read_model(&doc).map(|model| model.version))
    }

    /// The agenda read model as JSON, if the document is loaded.
    #[wasm_bindgen(js_name = agendaJson)]
    pub fn agenda_json(&mut self, doc: &str) -> Result<Option<String>, JsError> {
        let doc = DocumentId::from_str(doc)?;
        let Some(model) = self.read_model(&doc) else { return Ok(None) };
        Ok(Some(serde_json::to_string(model.lecture.agenda())?))
    }

    /// The rendez-vous between two instants (Unix milliseconds), recurring
    /// ones expanded, as JSON.
    #[wasm_bindgen(js_name = rendezVousJson)]
    pub fn rendez_vous_json(&mut self, doc: &str, from: f64, to: f64) -> Result<Option<String>, JsError> {
        let doc = DocumentId::from_str(doc)?;
        let (from, to) = (timestamp(from)?, timestamp(to)?);
        let Some(model) = self.read_model(&doc) else { return Ok(None) };
        Ok(Some(serde_json::to_string(&model.lecture.agenda().rendez_vous(from, to))?))
    }

    /// Local changes the relay has not acknowledged yet, if loaded.
    #[wasm_bindgen(js_name = unacknowledgedChanges)]
    pub fn unacknowledged_changes(&self, doc: &str) -> Result<Option<u32>, JsError> {
        let doc = DocumentId::from_str(doc)?;
        Ok(self.repo.unacknowledged_changes(&doc).map(|n| u32::try_from(n).unwrap_or(u32::MAX)))
    }

    /// Whether the document is loaded and has content.
    #[wasm_bindgen(js_name = hasDocument)]
    pub fn has_document(&self, doc: &str) -> bool {
        DocumentId::from_str(doc).ok().and_then(|d| self.repo.document(&d)).is_some_and(|am| !am.get_heads().is_empty())
    }

    /// The read model at the document's current heads, read again (and its
    /// JSON answers dropped) only when they moved.
    fn read_model(&mut self, doc: &DocumentId) -> Option<&mut ReadModel> {
        let am = self.repo.document(doc)?;
        match self.read_models.get_mut(doc) {
            Some(model) => {
                if model.lecture.suivre(am) != agenda::MiseAJour::AJour {
                    self.versions += 1;
                    model.version = self.versions;
                }
            }
            None => {
                self.versions += 1;
                let lecture = agenda::LectureAgenda::nouvelle(am);
                let model = ReadModel { lecture, version: self.versions };
                self.read_models.insert(doc.clone(), model);
            }
        }
        self.read_models.get_mut(doc)
    }

    fn handle(&mut self, now: f64, input: Input) -> Array {
        outputs(self.repo.handle(millis(now), input))
    }
}

/// The sync state to store with a document's chunks just downloaded from
/// the relay whose storage id is `remote` (the listing's
/// `Essaim-Storage-Id`), keys and values as in [`WasmRepo::loaded`]:
/// `[key, bytes]`, or `undefined` when nothing loads. See
/// [`sync_core::sync_state_after_download`].
#[wasm_bindgen(js_name = syncStateAfterDownload)]
pub fn sync_state_after_download(
    doc: &str,
    remote: &str,
    keys: Vec<String>,
    values: Array,
) -> Result<Option<Array>, JsError> {
    let (doc, remote) = (DocumentId::from_str(doc)?, StorageId::from_str(remote)?);
    let seeded = sync_core::sync_state_after_download(&doc, &remote, &entries(keys, values));
    Ok(seeded.map(|(key, bytes)| {
        let pair = Array::new();
        pair.push(&JsValue::from_str(&key.to_string()));
        pair.push(&Uint8Array::from(&bytes[..]));
        pair
    }))
}

/// A sheet's JSON through a `Value`, the way the core writes records
/// (`to_value`): the sheets' types then need no second serialiser in the
/// wasm.
fn json<T: serde::Serialize>(valeur: &T) -> Result<String, serde_json::Error> {
    Ok(serde_json::to_value(valeur)?.to_string())
}

/// An `EditFiche` from its JSON (`{"type": "modifier", "champs": {…}}`…),
/// read by hand: serde's code for an internally tagged enum would add
/// kilobytes to the wasm of every device for five cases.
fn edit_fiche(edit_json: &str) -> Result<agenda::EditFiche, JsError> {
    use serde_json::Value;
    let invalide = || JsError::new("modification de fiche invalide");
    let Value::Object(mut edit) = serde_json::from_str(edit_json)? else { return Err(invalide()) };
    let mut texte = |cle: &str| match edit.remove(cle) {
        Some(Value::String(texte)) => Ok(texte),
        _ => Err(invalide()),
    };
    Ok(match texte("type")?.as_str() {
        "modifier" => match edit.remove("champs") {
            Some(Value::Object(champs)) => agenda::EditFiche::Modifier { champs },
            _ => return Err(invalide()),
        },
        "relire" => agenda::EditFiche::Relire,
        "publier" => agenda::EditFiche::Publier,
        "retirer" => agenda::EditFiche::Retirer { motif: texte("motif")? },
        "proposer" => agenda::EditFiche::Proposer { depuis: texte("depuis")?, territoire: texte("territoire")? },
        _ => return Err(invalide()),
    })
}

/// Storage entries from `/`-joined keys and their values; keys this
/// version does not write are left out.
fn entries(keys: Vec<String>, values: Array) -> Vec<(StorageKey, Vec<u8>)> {
    let mut entries = Vec::with_capacity(keys.len());
    for (key, value) in keys.into_iter().zip(values.iter()) {
        if let Some(key) = StorageKey::from_text(&key) {
            entries.push((key, Uint8Array::new(&value).to_vec()));
        }
    }
    entries
}

fn millis(now: f64) -> UnixMillis {
    UnixMillis(if now.is_finite() && now > 0.0 { now as u64 } else { 0 })
}

fn timestamp(ms: f64) -> Result<Timestamp, JsError> {
    Ok(Timestamp::from_millisecond(ms as i64)?)
}

/// One output of the repo as the browser receives it, to carry out in
/// order. The one definition of its shape: serde turns it into a plain
/// JavaScript object (byte fields as `Uint8Array`), ts-rs into the
/// `Output` type of `web/src/genere/agenda.ts`.
/// - `write`: `put` as `[[key, bytes], …]` and `delete` as `[key, …]`,
///   to apply in one IndexedDB transaction before anything after it.
#[derive(Debug, serde::Serialize, ts_rs::TS)]
#[serde(tag = "kind", rename_all = "lowercase")]
#[ts(rename = "Output")]
pub enum BrowserOutput {
    /// Send these bytes on that connection.
    Send {
        /// The connection.
        conn: u32,
        /// The frame.
        #[serde(with = "serde_bytes")]
        #[ts(type = "Uint8Array")]
        bytes: Vec<u8>,
    },
    /// Close that connection, saying why.
    Close {
        /// The connection.
        conn: u32,
        /// Why, for the log.
        reason: String,
    },
    /// Read everything stored under this document's key range.
    Load {
        /// The document.
        doc: String,
    },
    /// Store these entries and delete those keys, atomically.
    Write {
        /// Text keys and their bytes.
        #[ts(type = "Array<[string, Uint8Array]>")]
        put: Vec<(String, serde_bytes::ByteBuf)>,
        /// Text keys.
        delete: Vec<String>,
    },
    /// The document changed: screens showing it read it again.
    Changed {
        /// The document.
        doc: String,
    },
    /// No peer has this document.
    Unavailable {
        /// The document.
        doc: String,
    },
    /// An ephemeral message for the app.
    Ephemeral {
        /// The document it is about.
        doc: String,
        /// The peer that sent it.
        sender: String,
        /// Its payload.
        #[serde(with = "serde_bytes")]
        #[ts(type = "Uint8Array")]
        data: Vec<u8>,
    },
}

impl BrowserOutput {
    /// The browser's form of `output`; `None` for the outputs a browser
    /// repo never produces.
    fn from_core(output: Output) -> Option<BrowserOutput> {
        Some(match output {
            Output::Send { conn, bytes } => BrowserOutput::Send { conn: conn.0 as u32, bytes: bytes.into_vec() },
            Output::Close { conn, reason } => BrowserOutput::Close { conn: conn.0 as u32, reason: reason.to_string() },
            Output::Load { doc } => BrowserOutput::Load { doc: doc.to_string() },
            Output::Write(StorageWrite { put, delete }) => BrowserOutput::Write {
                put: put.into_iter().map(|(key, value)| (key.to_string(), serde_bytes::ByteBuf::from(value))).collect(),
                delete: delete.into_iter().map(|key| key.to_string()).collect(),
            },
            Output::DocumentChanged { doc } => BrowserOutput::Changed { doc: doc.to_string() },
            Output::DocumentUnavailable { doc } => BrowserOutput::Unavailable { doc: doc.to_string() },
            Output::Ephemeral { doc, sender, data } => {
                BrowserOutput::Ephemeral { doc: doc.to_string(), sender: sender.as_str().to_owned(), data }
            }
            // The client runs with `AllowAll`: the core never asks.
            Output::CheckAccess { .. } => return None,
            // The client leaves `offload_changes_above_ops` unset (one thread):
            // the core applies every change in place and hands out no job.
            Output::ApplyChanges(_) => return None,
        })
    }
}

/// Outputs as JavaScript objects ([`BrowserOutput`]), in order.
pub fn outputs(outputs: Vec<Output>) -> Array {
    outputs
        .into_iter()
        .filter_map(BrowserOutput::from_core)
        // Strings, numbers and bytes: serialising them cannot fail.
        .map(|output| serde_wasm_bindgen::to_value(&output).expect("an output serialises"))
        .collect()
}

fn set(object: &Object, key: &str, value: &JsValue) {
    // Setting a property on a plain object we just made cannot fail.
    let _ = Reflect::set(object, &JsValue::from_str(key), value);
}

// ---------------------------------------------------------------------------
// Storage keys for the browser's IndexedDB. The layout is sync-core's
// (`storage.rs`): these functions hand the driver the keys it needs as
// text, so that TypeScript never writes a key's shape.
// ---------------------------------------------------------------------------

/// The key under which a store keeps its own storage id, as text
/// (what [`WasmRepo::new`] takes as `storedStorageId`).
#[wasm_bindgen(js_name = storageIdKey)]
pub fn storage_id_key() -> String {
    StorageKey::storage_id().to_string()
}

/// `[lower, upper)`: the text key range of everything stored about a
/// document, what the driver answers a `load` output with.
#[wasm_bindgen(js_name = documentKeyRange)]
pub fn document_key_range(doc: &str) -> Result<Array, JsError> {
    let (start, end) = StorageKey::document_range(&DocumentId::from_str(doc)?);
    Ok([start, end].iter().map(|bound| JsValue::from_str(bound)).collect())
}

/// The text key of a document's chunk of kind `kind` (`snapshot` or
/// `incremental`, as the relay's chunk listing names it) and name `name`.
#[wasm_bindgen(js_name = chunkKey)]
pub fn chunk_key(doc: &str, kind: &str, name: &str) -> Result<String, JsError> {
    let doc = DocumentId::from_str(doc)?;
    let kind = sync_core::ChunkKind::parse(kind).ok_or_else(|| JsError::new("unknown chunk kind"))?;
    let key = StorageKey::chunk(&doc, kind, name);
    // Read back as a key: a name with `/` (never served) is refused.
    StorageKey::from_components(key.components().to_vec())
        .map(|key| key.to_string())
        .ok_or_else(|| JsError::new("invalid chunk name"))
}

#[cfg(test)]
mod tests {
    use sync_core::agenda::EditFiche;

    /// `edit_fiche` reads by hand what serde writes: every case, as the
    /// generated TypeScript type (serde's shape) sends it.
    #[test]
    fn a_sheets_edit_is_read_in_serdes_shape() {
        let champs = serde_json::json!({ "contexte": "Avant.", "licence": "CC BY 4.0" });
        let edits = [
            EditFiche::Modifier { champs: champs.as_object().cloned().unwrap_or_default() },
            EditFiche::Relire,
            EditFiche::Publier,
            EditFiche::Retirer { motif: "Données à corriger".into() },
            EditFiche::Proposer { depuis: "a".into(), territoire: "b".into() },
        ];
        for edit in edits {
            let json = serde_json::to_string(&edit).expect("serialised");
            assert_eq!(super::edit_fiche(&json).ok(), Some(edit), "{json}");
        }
    }
}
