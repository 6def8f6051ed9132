//! Reads and writes JSON-shaped trees in an Automerge document.
//!
//! The agenda schema is described by serde types (`schema.rs`); this module
//! is the only place that turns them into Automerge objects and back:
//! JSON objects are Automerge maps (merged key by key), arrays are lists
//! (replaced whole), long texts are Automerge text (merged character by
//! character), everything else is a scalar (last writer wins, and concurrent
//! writes are kept as a conflict).
//!
//! Reading records every key that holds several concurrent values, with the
//! operation that wrote each, so that conflicts can be shown and resolved.
//!
//! Reading is bounded, because anyone who can write the document (an
//! organiser, with raw Automerge changes) can shape it to hurt every reader:
//! the relay's feeds and every resident's app run this code. A [`Lecteur`]
//! reads only the keys its caller names at the top of a record (unknown
//! fields are never walked), never descends below [`PROFONDEUR_MAX`], reads
//! at most [`ENTREES_MAX`] entries of a map or list, cuts strings and texts
//! at [`CARACTERES_MAX`] characters, skips keys longer than [`CLE_MAX`]
//! bytes, records at most [`CONFLITS_MAX`] conflicts and reads at most
//! [`VALEURS_MAX`] values in all. What it leaves out is counted
//! ([`Omissions`]) and reported once, never silently. Nothing here recurses
//! deeper than [`PROFONDEUR_MAX`].
//!
//! This module knows nothing of the agenda's meaning beyond the list of text
//! fields.

use automerge::transaction::{Transactable, Transaction};
use automerge::{AutomergeError, ObjId, ObjType, ReadDoc, ScalarValue, Value as AmValue};
use serde_json::{Map, Number, Value};

/// Keys whose string values are collaborative texts rather than scalars.
pub(crate) const TEXT_FIELDS: &[&str] = &[
    "description",
    "presentation",
    "recit",
    "contexte",
    "objections",
    "ce_qui_est_decide",
    "comment_cest_decide",
    "qui_participe",
    "ce_qui_a_ete_fait",
    "resultats",
    "difficultes",
    "conseils",
];

/// Deepest container read, the root being at depth 0. The schema's deepest
/// container is a volunteer, `actions/{id}/besoins/{id}/volontaires/{id}`,
/// at depth 6 (a rhythm's exceptions, pauses and rule lists are at depth 5);
/// anything deeper is not part of the schema and is not read.
pub(crate) const PROFONDEUR_MAX: usize = 6;

/// Entries read from one map or list (records of a collection included).
/// Ten times more than the largest the schema means in practice (the INSEE
/// codes of a whole département, about 900; the exclusions of a weekly
/// series over twenty years, about 1,000; a territory's actions over a
/// decade, a few hundred), so that a legal agenda is always read whole.
pub(crate) const ENTREES_MAX: usize = 10_000;

/// Characters kept of one string or text: twice the schema's longest text
/// (an action's description, 10,000), so that two people's concurrent
/// edits of a full description still read whole.
pub(crate) const CARACTERES_MAX: usize = 20_000;

/// Longest key read below a record, in bytes: the schema's ids are at most
/// 64 bytes ([`super::schema::identifiant_valide`]) and its field names
/// and occurrence keys are shorter. A longer key is not part of the schema.
pub(crate) const CLE_MAX: usize = 64;

/// Conflicts recorded by one read: far more than people resolve, and each
/// costs its values again.
pub(crate) const CONFLITS_MAX: usize = 1_000;

/// Values read in all by one read (maps, lists, texts and scalars, conflict
/// values included). A legal agenda at [`ENTREES_MAX`] records of about
/// fifty values each stays under it; it bounds the time and memory of one
/// read (about a second and a few hundred MiB on a small machine) whatever
/// the document holds.
pub(crate) const VALEURS_MAX: usize = 1_000_000;

/// A key with several concurrent values.
#[derive(Debug, Clone)]
pub(crate) struct RawConflict {
    /// Path of the key, `/`-separated from the root.
    pub(crate) path: String,
    /// Every value, with the id of the operation that wrote it (its actor).
    pub(crate) values: Vec<(Value, ObjId)>,
}

/// What a bounded read left out, by reason.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Omissions {
    /// Containers deeper than [`PROFONDEUR_MAX`].
    pub(crate) trop_profonds: usize,
    /// Entries beyond [`ENTREES_MAX`] in a map or list.
    pub(crate) entrees: usize,
    /// Strings or texts cut at [`CARACTERES_MAX`].
    pub(crate) textes_coupes: usize,
    /// Keys longer than [`CLE_MAX`].
    pub(crate) cles_longues: usize,
    /// Conflicts beyond [`CONFLITS_MAX`].
    pub(crate) conflits: usize,
    /// Values not read because [`VALEURS_MAX`] was reached.
    pub(crate) budget: usize,
    /// The first path where something was left out.
    pub(crate) premier: Option<String>,
}

impl Omissions {
    /// Adds what `autre`, read after, left out.
    pub(crate) fn ajouter(&mut self, autre: &Omissions) {
        self.trop_profonds += autre.trop_profonds;
        self.entrees += autre.entrees;
        self.textes_coupes += autre.textes_coupes;
        self.cles_longues += autre.cles_longues;
        self.conflits += autre.conflits;
        self.budget += autre.budget;
        if self.premier.is_none() {
            self.premier.clone_from(&autre.premier);
        }
    }

    /// One French sentence for the read model's errors, if anything was
    /// left out.
    pub(crate) fn message(&self) -> Option<String> {
        let mut parties = Vec::new();
        for (n, quoi) in [
            (self.trop_profonds, "valeurs trop profondes"),
            (self.entrees, "entrées au-delà de la limite d'une liste ou d'une table"),
            (self.textes_coupes, "textes coupés"),
            (self.cles_longues, "clés trop longues"),
            (self.conflits, "conflits au-delà de la limite"),
            (self.budget, "valeurs au-delà de la limite du document"),
        ] {
            if n > 0 {
                parties.push(format!("{n} {quoi}"));
            }
        }
        if parties.is_empty() {
            return None;
        }
        let ou = self.premier.as_deref().map(|p| format!(" (d'abord à « {p} »)")).unwrap_or_default();
        Some(format!("lecture bornée, non lu : {}{ou}", parties.join(", ")))
    }
}

/// A path from the root, built on the stack as the reader descends and
/// written out only when a conflict or an omission needs it.
#[derive(Clone, Copy)]
pub(crate) struct Chemin<'a> {
    parent: Option<&'a Chemin<'a>>,
    cle: &'a str,
}

impl<'a> Chemin<'a> {
    /// The root's path (empty).
    pub(crate) const RACINE: Chemin<'static> = Chemin { parent: None, cle: "" };

    /// The path of `cle` below this one.
    pub(crate) fn sous(&'a self, cle: &'a str) -> Chemin<'a> {
        Chemin { parent: Some(self), cle }
    }

    /// The path as `a/b/c`. Its length is bounded by [`PROFONDEUR_MAX`]
    /// keys of at most [`CLE_MAX`] bytes (plus the caller's few).
    pub(crate) fn texte(&self) -> String {
        let mut cles = Vec::new();
        let mut courant = Some(self);
        while let Some(c) = courant {
            if !c.cle.is_empty() {
                cles.push(c.cle);
            }
            courant = c.parent;
        }
        cles.reverse();
        cles.join("/")
    }
}

/// A bounded reader of one document (see the module docs).
pub(crate) struct Lecteur<'d, R: ReadDoc> {
    doc: &'d R,
    /// Values that may still be read.
    restant: usize,
    /// Conflicts found and not yet taken by the caller.
    pub(crate) conflits: Vec<RawConflict>,
    /// Conflicts found so far, taken or not (the cap counts them).
    conflits_vus: usize,
    /// What was left out so far.
    pub(crate) omissions: Omissions,
}

impl<'d, R: ReadDoc> Lecteur<'d, R> {
    /// A reader with the whole budget.
    pub(crate) fn new(doc: &'d R) -> Lecteur<'d, R> {
        Lecteur { doc, restant: VALEURS_MAX, conflits: Vec::new(), conflits_vus: 0, omissions: Omissions::default() }
    }

    /// Values read so far.
    pub(crate) fn valeurs_lues(&self) -> usize {
        VALEURS_MAX - self.restant
    }

    fn omis(&mut self, chemin: &Chemin<'_>, compteur: fn(&mut Omissions) -> &mut usize) {
        *compteur(&mut self.omissions) += 1;
        if self.omissions.premier.is_none() {
            self.omissions.premier = Some(chemin.texte());
        }
    }

    /// Reads only the keys `cles` of the map `obj` (at depth `profondeur`),
    /// as a JSON object; absent keys are left out. The values of other keys
    /// are never read; at most [`ENTREES_MAX`] keys of the map are looked
    /// at, so a record padded with unknown keys may lose its own fields (it
    /// is then left out as invalid), never the reader's time.
    pub(crate) fn champs(
        &mut self,
        obj: &ObjId,
        chemin: &Chemin<'_>,
        profondeur: usize,
        cles: &[&str],
        conflits: bool,
    ) -> Map<String, Value> {
        let doc = self.doc;
        let mut out = Map::new();
        for (vus, item) in doc.map_range(obj, ..).enumerate() {
            if vus == ENTREES_MAX {
                self.omis(chemin, |o| &mut o.entrees);
                break;
            }
            let cle = item.key.as_ref();
            if !cles.contains(&cle) {
                continue;
            }
            let sous = chemin.sous(cle);
            if conflits && item.conflict {
                let tous = doc.get_all(obj, cle).unwrap_or_default();
                self.conflit(&sous, profondeur + 1, &tous, None);
            }
            let valeur = AmValue::from(item.value.clone());
            if let Some(v) = self.valeur(&valeur, &item.id(), &sous, profondeur + 1, conflits) {
                out.insert(cle.to_owned(), v);
            }
        }
        out
    }

    /// Reads any value at depth `profondeur`, within the bounds; `None` when
    /// it is left out. With `conflits`, keys with concurrent values below it
    /// are recorded; without, only their winners are read.
    pub(crate) fn valeur(
        &mut self,
        value: &AmValue<'_>,
        id: &ObjId,
        chemin: &Chemin<'_>,
        profondeur: usize,
        conflits: bool,
    ) -> Option<Value> {
        if self.restant == 0 {
            self.omis(chemin, |o| &mut o.budget);
            return None;
        }
        self.restant -= 1;
        let doc = self.doc;
        match value {
            AmValue::Object(ObjType::Map | ObjType::Table) => {
                if profondeur > PROFONDEUR_MAX {
                    self.omis(chemin, |o| &mut o.trop_profonds);
                    return None;
                }
                let mut out = Map::new();
                for (vus, item) in doc.map_range(id, ..).enumerate() {
                    if vus == ENTREES_MAX {
                        self.omis(chemin, |o| &mut o.entrees);
                        break;
                    }
                    let cle = item.key.as_ref();
                    if cle.len() > CLE_MAX {
                        self.omis(chemin, |o| &mut o.cles_longues);
                        continue;
                    }
                    let sous = chemin.sous(cle);
                    if conflits && item.conflict {
                        let tous = doc.get_all(id, cle).unwrap_or_default();
                        self.conflit(&sous, profondeur + 1, &tous, None);
                    }
                    let valeur = AmValue::from(item.value.clone());
                    if let Some(v) = self.valeur(&valeur, &item.id(), &sous, profondeur + 1, conflits) {
                        out.insert(cle.to_owned(), v);
                    }
                }
                Some(Value::Object(out))
            }
            AmValue::Object(ObjType::List) => {
                if profondeur > PROFONDEUR_MAX {
                    self.omis(chemin, |o| &mut o.trop_profonds);
                    return None;
                }
                let mut out = Vec::new();
                for item in doc.list_range(id, ..) {
                    if out.len() == ENTREES_MAX {
                        self.omis(chemin, |o| &mut o.entrees);
                        break;
                    }
                    let valeur = AmValue::from(item.value.clone());
                    if let Some(v) = self.valeur(&valeur, &item.id(), chemin, profondeur + 1, conflits) {
                        out.push(v);
                    }
                }
                Some(Value::Array(out))
            }
            AmValue::Object(ObjType::Text) => {
                let texte = doc.text(id).unwrap_or_default();
                Some(Value::String(self.coupe(texte, chemin)))
            }
            AmValue::Scalar(scalar) => match scalar.as_ref() {
                ScalarValue::Str(s) => Some(Value::String(self.coupe(s.to_string(), chemin))),
                other => Some(scalar_to_json(other)),
            },
        }
    }

    /// `texte`, cut at [`CARACTERES_MAX`] characters.
    fn coupe(&mut self, texte: String, chemin: &Chemin<'_>) -> String {
        match texte.char_indices().nth(CARACTERES_MAX) {
            Some((fin, _)) => {
                self.omis(chemin, |o| &mut o.textes_coupes);
                let mut texte = texte;
                texte.truncate(fin);
                texte
            }
            None => texte,
        }
    }

    /// Records the concurrent values of the key at `chemin` (at depth
    /// `profondeur`), read without expanding the conflicts below them, so
    /// nested conflicts cost each value once more per level, not twice.
    /// With `cles`, a map value is read through those keys only (a record
    /// or the profile).
    pub(crate) fn conflit(
        &mut self,
        chemin: &Chemin<'_>,
        profondeur: usize,
        tous: &[(AmValue<'_>, ObjId)],
        cles: Option<&[&str]>,
    ) {
        if self.conflits_vus == CONFLITS_MAX {
            self.omis(chemin, |o| &mut o.conflits);
            return;
        }
        self.conflits_vus += 1;
        let mut values = Vec::with_capacity(tous.len());
        for (v, id) in tous {
            let valeur = match (v, cles) {
                (AmValue::Object(ObjType::Map), Some(cles)) => {
                    Some(Value::Object(self.champs(id, chemin, profondeur, cles, false)))
                }
                _ => self.valeur(v, id, chemin, profondeur, false),
            };
            values.push((valeur.unwrap_or(Value::Null), id.clone()));
        }
        self.conflits.push(RawConflict { path: chemin.texte(), values });
    }

    /// The keys of the map `obj`, at most [`ENTREES_MAX`] of them looked
    /// at, each passed through `garder` first: a key it refuses is never
    /// read (but counts). For collections: the caller reads each record.
    pub(crate) fn entrees(
        &mut self,
        obj: &ObjId,
        chemin: &Chemin<'_>,
        mut garder: impl FnMut(&str) -> bool,
    ) -> Vec<String> {
        let doc = self.doc;
        let mut out = Vec::new();
        for (vus, item) in doc.map_range(obj, ..).enumerate() {
            if vus == ENTREES_MAX {
                self.omis(chemin, |o| &mut o.entrees);
                break;
            }
            if garder(item.key.as_ref()) {
                out.push(item.key.into_owned());
            }
        }
        out
    }

    /// Every value of `cle` in `obj`, the winner last.
    pub(crate) fn tous(&self, obj: &ObjId, cle: &str) -> Vec<(AmValue<'d>, ObjId)> {
        self.doc.get_all(obj, cle).unwrap_or_default()
    }

    /// The document read.
    pub(crate) fn doc(&self) -> &'d R {
        self.doc
    }
}

/// Reads a whole map with the bounds and no key filter, conflicts ignored:
/// what an edit needs to compare or merge one small object it is writing.
fn lire_libre<R: ReadDoc>(doc: &R, value: &AmValue<'_>, id: &ObjId) -> Option<Value> {
    Lecteur::new(doc).valeur(value, id, &Chemin::RACINE, 0, false)
}

fn scalar_to_json(scalar: &ScalarValue) -> Value {
    match scalar {
        ScalarValue::Str(s) => Value::String(s.to_string()),
        ScalarValue::Int(i) => Value::Number((*i).into()),
        ScalarValue::Uint(u) => Value::Number((*u).into()),
        ScalarValue::F64(f) => Number::from_f64(*f).map_or(Value::Null, Value::Number),
        ScalarValue::Boolean(b) => Value::Bool(*b),
        ScalarValue::Timestamp(t) => Value::Number((*t).into()),
        // Counters, bytes and values from future versions are not part of
        // the schema; they read as absent.
        _ => Value::Null,
    }
}

/// Writes the given fields into a map (other keys of the map stay): a
/// nested object replaces the old one key by key, `null` deletes, everything
/// else replaces. Unchanged scalars are not rewritten,
/// so setting a field to its current value creates no false conflict.
pub(crate) fn write_fields(
    tx: &mut Transaction<'_>,
    obj: &ObjId,
    fields: &Map<String, Value>,
) -> Result<(), AutomergeError> {
    for (key, value) in fields {
        write_value(tx, obj, key, value)?;
    }
    Ok(())
}

fn write_value(tx: &mut Transaction<'_>, obj: &ObjId, key: &str, value: &Value) -> Result<(), AutomergeError> {
    let current = tx.get_all(obj, key)?;
    let single = if current.len() == 1 { current.first() } else { None };
    match value {
        Value::Null => {
            if !current.is_empty() {
                tx.delete(obj, key)?;
            }
        }
        Value::Object(fields) => {
            let map = match single {
                Some((AmValue::Object(ObjType::Map), id)) => id.clone(),
                _ => tx.put_object(obj, key, ObjType::Map)?,
            };
            // A nested object replaces the old one: keys it lacks go, keys
            // it keeps are rewritten only if they changed (no false conflict).
            let gone: Vec<String> = tx.keys(&map).filter(|k| !fields.contains_key(k)).collect();
            for k in gone {
                tx.delete(&map, k.as_str())?;
            }
            write_fields(tx, &map, fields)?;
        }
        Value::Array(items) => {
            if single.and_then(|(v, id)| lire_libre(tx, v, id)).as_ref() == Some(value) {
                return Ok(());
            }
            let list = tx.put_object(obj, key, ObjType::List)?;
            for (i, item) in items.iter().enumerate() {
                insert_value(tx, &list, i, item)?;
            }
        }
        Value::String(text) if TEXT_FIELDS.contains(&key) => {
            let text_obj = match single {
                Some((AmValue::Object(ObjType::Text), id)) => id.clone(),
                _ => tx.put_object(obj, key, ObjType::Text)?,
            };
            // A character diff: concurrent edits of one text merge.
            tx.update_text(&text_obj, text)?;
        }
        scalar => {
            let new = json_to_scalar(scalar);
            if let Some((AmValue::Scalar(old), _)) = single
                && old.as_ref() == &new
            {
                return Ok(());
            }
            tx.put(obj, key, new)?;
        }
    }
    Ok(())
}

fn insert_value(tx: &mut Transaction<'_>, list: &ObjId, index: usize, value: &Value) -> Result<(), AutomergeError> {
    match value {
        Value::Object(fields) => {
            let map = tx.insert_object(list, index, ObjType::Map)?;
            write_fields(tx, &map, fields)
        }
        Value::Array(items) => {
            let inner = tx.insert_object(list, index, ObjType::List)?;
            for (i, item) in items.iter().enumerate() {
                insert_value(tx, &inner, i, item)?;
            }
            Ok(())
        }
        scalar => tx.insert(list, index, json_to_scalar(scalar)),
    }
}

fn json_to_scalar(value: &Value) -> ScalarValue {
    match value {
        Value::Bool(b) => ScalarValue::Boolean(*b),
        Value::Number(n) => match (n.as_i64(), n.as_u64(), n.as_f64()) {
            (Some(i), _, _) => ScalarValue::Int(i),
            (None, Some(u), _) => ScalarValue::Uint(u),
            (_, _, Some(f)) => ScalarValue::F64(f),
            _ => ScalarValue::Null,
        },
        Value::String(s) => ScalarValue::Str(s.as_str().into()),
        Value::Null | Value::Array(_) | Value::Object(_) => ScalarValue::Null,
    }
}

/// The map at `path` below `obj`, created if missing.
pub(crate) fn ensure_map(tx: &mut Transaction<'_>, obj: &ObjId, path: &[&str]) -> Result<ObjId, AutomergeError> {
    let mut current = obj.clone();
    for key in path {
        current = match tx.get(&current, *key)? {
            Some((AmValue::Object(ObjType::Map), id)) => id,
            _ => tx.put_object(&current, *key, ObjType::Map)?,
        };
    }
    Ok(current)
}

/// The map at `path` below `obj`, if it exists.
pub(crate) fn find_map<R: ReadDoc>(doc: &R, obj: &ObjId, path: &[&str]) -> Option<ObjId> {
    let mut current = obj.clone();
    for key in path {
        current = match doc.get(&current, *key).ok()?? {
            (AmValue::Object(ObjType::Map), id) => id,
            _ => return None,
        };
    }
    Some(current)
}
