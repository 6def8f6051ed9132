//! The records of a territory document, with their validation.
//!
//! Field names and enum values are French, as in the domain model (the
//! layout and its sources: `docs/schema.md`). These types are the UI boundary:
//! the read model serialises them, edits carry them, and `tree.rs` stores
//! them in Automerge. Validation here is what makes an invalid edit change
//! nothing. The document layout is documented in `docs/schema.md`.
//!
//! Longer than the ~600 lines a file usually gets, on purpose: it is the
//! one place a reader compares the records with the domain model, each
//! record beside its validation; the enums and their labels are apart
//! (`schema/valeurs.rs`).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use ts_rs::TS;

use crate::rythme::Rythme;

/// Why a record is invalid. Each variant names the field at fault.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ValidationError {
    /// A required text is empty.
    #[error("`{0}` ne peut pas être vide")]
    Vide(&'static str),
    /// A text longer than the schema allows.
    #[error("`{champ}` dépasse {max} caractères")]
    TropLong {
        /// The field.
        champ: &'static str,
        /// Its maximum length in characters.
        max: usize,
    },
    /// A number outside its range.
    #[error("`{champ}` doit être entre {min} et {max}")]
    HorsBornes {
        /// The field.
        champ: &'static str,
        /// Smallest value allowed.
        min: i64,
        /// Largest value allowed.
        max: i64,
    },
    /// A date that is not `AAAA-MM-JJ`.
    #[error("`{champ}` n'est pas une date AAAA-MM-JJ\u{a0}: {valeur}")]
    DateInvalide {
        /// The field.
        champ: &'static str,
        /// The value received.
        valeur: String,
    },
    /// An end before its start.
    #[error("`{fin}` est avant `{debut}`")]
    FinAvantDebut {
        /// The start field.
        debut: &'static str,
        /// The end field.
        fin: &'static str,
    },
    /// A field required by another one's value.
    #[error("`{0}` est obligatoire ici")]
    Requis(&'static str),
    /// A link that is not an absolute `http:` or `https:` address.
    #[error("`{0}` doit être une adresse web complète commençant par http:// ou https://")]
    LienInvalide(&'static str),
    /// An invalid rhythm.
    #[error("rythme invalide\u{a0}: {0}")]
    Rythme(String),
    /// Anything else, with a message.
    #[error("{0}")]
    Autre(String),
}

/// Bookkeeping every record carries; set by edits, not by the UI.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, TS)]
pub struct Suivi {
    /// Creation time, milliseconds since the epoch.
    #[serde(default)]
    pub cree_le: Option<i64>,
    /// Last change, milliseconds since the epoch.
    #[serde(default)]
    pub modifie_le: Option<i64>,
    /// Actor id of the last author.
    #[serde(default)]
    pub modifie_par: Option<String>,
    /// Tombstone: deleted records stay, so a concurrent edit cannot revive
    /// half of them.
    #[serde(default)]
    pub supprime: bool,
}

mod valeurs;

pub use valeurs::*;

impl Instance {
    /// The themes a governance body belongs to, whatever its kind: a theme
    /// filter shows it under these.
    pub const THEMES: &'static [Theme] = &[Theme::GouvernanceDemocratie];
}

/// Codes that identify a territory in French open data.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, TS)]
pub struct Codes {
    /// INSEE codes of its communes.
    #[serde(default)]
    pub insee: Vec<String>,
    /// SIREN of the body.
    #[serde(default)]
    pub siren: Option<String>,
    /// EPCI code.
    #[serde(default)]
    pub code_epci: Option<String>,
}

/// Most INSEE codes a territory's profile holds (an intercommunality's
/// communes).
pub const MAX_CODES_INSEE: usize = 50;

/// Whether `code` has the shape of an INSEE commune code: two digits (01
/// to 95, or 2A and 2B for Corsica) then three, or 97x and 98x then two for
/// overseas. The shape only: whether the commune exists is not known here.
pub fn code_insee_valide(code: &str) -> bool {
    let b = code.as_bytes();
    if b.len() != 5 || !b[2..].iter().all(u8::is_ascii_digit) {
        return false;
    }
    match &b[..2] {
        b"2A" | b"2B" => true,
        [d1, d2] if d1.is_ascii_digit() && d2.is_ascii_digit() => {
            matches!((d1 - b'0') * 10 + (d2 - b'0'), 1..=19 | 21..=95 | 97 | 98)
        }
        _ => false,
    }
}

/// Checks a territory's INSEE codes: at most [`MAX_CODES_INSEE`], each of
/// the shape [`code_insee_valide`] checks. The profile's validation, the
/// relay's creation requests and the app's creation form all use it.
pub fn verifier_codes_insee(codes: &[String]) -> Result<(), ValidationError> {
    if codes.len() > MAX_CODES_INSEE {
        return Err(ValidationError::Autre(format!("{MAX_CODES_INSEE} codes INSEE au plus")));
    }
    match codes.iter().find(|code| !code_insee_valide(code)) {
        Some(code) => {
            let extrait: String = code.chars().take(40).filter(|c| !c.is_control()).collect();
            Err(ValidationError::Autre(format!(
                "code INSEE invalide\u{a0}: «\u{a0}{extrait}\u{a0}» (5 caractères, comme 44109, 2A004 ou 97411)"
            )))
        }
        None => Ok(()),
    }
}

/// A national network's link with the territory.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, TS)]
pub struct LienReseau {
    /// Which network.
    pub reseau: Reseau,
    /// What it does here.
    pub role: RoleReseau,
    /// Since when (`AAAA-MM-JJ`).
    #[serde(default)]
    pub depuis: Option<String>,
}

/// A *Pacte pour la Transition* commitment.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, TS)]
pub struct Engagement {
    /// Measure code, `M01` to `M32`.
    pub mesure: String,
    /// Level 1 to 3.
    pub niveau: u8,
}

/// The territory's profile.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct Profil {
    /// Name.
    pub nom: String,
    /// Kind of territory.
    #[serde(rename = "type", default)]
    pub type_territoire: TypeTerritoire,
    /// Open-data codes.
    #[serde(default)]
    pub codes: Codes,
    /// IANA time zone of its rendez-vous.
    #[serde(default = "default_fuseau")]
    pub fuseau: String,
    /// Presentation (collaborative text).
    #[serde(default)]
    pub presentation: String,
    /// Themes.
    #[serde(default)]
    pub portes_entree: Vec<Theme>,
    /// National networks.
    #[serde(default)]
    pub reseaux: Vec<LienReseau>,
    /// Pacte commitments.
    #[serde(default)]
    pub engagements_pacte: Vec<Engagement>,
    /// Who decides what, and how: the shared governance as the territory
    /// publishes it (collaborative text).
    #[serde(default)]
    pub comment_cest_decide: String,
    /// Who may see the territory.
    #[serde(default)]
    pub visibilite: VisibiliteTerritoire,
    /// A demonstration territory (`essaim demo`): invented content, which
    /// anyone may read on the relay that made it.
    #[serde(default)]
    pub demonstration: bool,
    /// Bookkeeping.
    #[serde(flatten)]
    pub suivi: Suivi,
}

impl Default for Profil {
    /// An empty profile in the default time zone.
    fn default() -> Profil {
        Profil {
            nom: String::new(),
            type_territoire: TypeTerritoire::default(),
            codes: Codes::default(),
            fuseau: default_fuseau(),
            presentation: String::new(),
            portes_entree: Vec::new(),
            reseaux: Vec::new(),
            engagements_pacte: Vec::new(),
            comment_cest_decide: String::new(),
            visibilite: VisibiliteTerritoire::default(),
            demonstration: false,
            suivi: Suivi::default(),
        }
    }
}

fn default_fuseau() -> String {
    crate::rythme::FUSEAU_PAR_DEFAUT.to_owned()
}

/// Where an action takes place.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, TS)]
pub struct Lieu {
    /// Short label ("Salle des fêtes").
    #[serde(default)]
    pub libelle: String,
    /// Postal address.
    #[serde(default)]
    pub adresse: String,
    /// INSEE code of the commune.
    #[serde(default)]
    pub code_insee: Option<String>,
    /// Latitude.
    #[serde(default)]
    pub lat: Option<f64>,
    /// Longitude.
    #[serde(default)]
    pub lon: Option<f64>,
    /// How to get there ("arrêt de car…").
    #[serde(default)]
    pub acces: String,
}

/// Someone carrying an action.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, TS)]
pub struct Porteur {
    /// The actor.
    pub acteur_id: String,
    /// Their role.
    pub role: RolePorteur,
}

/// Someone who answered a need. Contact details are in
/// `contacts_prives`, not here.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, TS)]
pub struct Volontaire {
    /// A known actor, or
    #[serde(default)]
    pub acteur_id: Option<String>,
    /// a name, for people without an actor record.
    #[serde(default)]
    pub nom: Option<String>,
    /// When they signed up (`AAAA-MM-JJ`).
    #[serde(default)]
    pub date: Option<String>,
    /// Confirmed by a carrier.
    #[serde(default)]
    pub confirme: bool,
    /// What they wrote to the organisers, at most [`MESSAGE_MAX`]
    /// characters.
    #[serde(default)]
    pub message: Option<String>,
    /// For a resident's volunteering through the relay: the hex SHA-256 of
    /// the secret their device keeps, which alone withdraws it (see
    /// `demande.rs`). Every reader of the document sees it, so never the
    /// secret itself.
    #[serde(default)]
    pub preuve: Option<String>,
}

/// Longest message a volunteer leaves, in characters.
pub const MESSAGE_MAX: usize = 500;

/// Is `preuve` a volunteering's proof: 64 lowercase hexadecimal digits
/// (a SHA-256)? The same shape is asked of the secret that withdraws it.
pub fn preuve_valide(preuve: &str) -> bool {
    preuve.len() == 64 && preuve.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// A need of an action.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, TS)]
pub struct Besoin {
    /// Kind of need.
    #[serde(rename = "type")]
    pub type_besoin: TypeBesoin,
    /// What is needed.
    #[serde(default)]
    pub description: String,
    /// How many.
    #[serde(default)]
    pub quantite: Option<u32>,
    /// Of what unit.
    #[serde(default)]
    pub unite: Option<String>,
    /// By when (`AAAA-MM-JJ`).
    #[serde(default)]
    pub echeance: Option<String>,
    /// Or for which occurrence (its original local start).
    #[serde(default)]
    pub occurrence: Option<String>,
    /// Open or filled.
    #[serde(default)]
    pub statut: StatutBesoin,
    /// Who answered, by id.
    #[serde(default)]
    #[ts(type = "Record<string, Volontaire>")]
    pub volontaires: BTreeMap<String, Volontaire>,
}

/// Accessibility of an action.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, TS)]
pub struct Accessibilite {
    /// Hearing.
    #[serde(default)]
    pub auditif: bool,
    /// Sight.
    #[serde(default)]
    pub visuel: bool,
    /// Psychic.
    #[serde(default)]
    pub psychique: bool,
    /// Mobility.
    #[serde(default)]
    pub moteur: bool,
    /// Intellectual.
    #[serde(default)]
    pub intellectuel: bool,
    /// Easy-to-read summary available (FALC).
    #[serde(default)]
    pub falc: bool,
    /// Notes.
    #[serde(default)]
    pub notes: String,
}

/// An action of the territory: a rendez-vous, a rhythm or a long chantier.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, TS)]
pub struct Action {
    /// Title, at most 140 characters.
    pub titre: String,
    /// Summary, at most 200 characters.
    #[serde(default)]
    pub resume: String,
    /// Description (collaborative text), at most 10,000 characters.
    #[serde(default)]
    pub description: String,
    /// Nature.
    #[serde(default)]
    pub nature: Nature,
    /// Themes.
    #[serde(default)]
    pub portes_entree: Vec<Theme>,
    /// Free keywords.
    #[serde(default)]
    pub mots_cles: Vec<String>,
    /// Status.
    #[serde(default)]
    pub statut: Statut,
    /// Flag: to discuss.
    #[serde(default)]
    pub a_discuter: bool,
    /// A highlight of the territory's year (a festival, a big day): listed
    /// first in the national agenda.
    #[serde(default)]
    pub temps_fort: bool,
    /// Phase.
    #[serde(default)]
    pub phase: PhaseAction,
    /// Progress, 0 to 100.
    #[serde(default)]
    pub avancement: u8,
    /// Priority.
    #[serde(default)]
    pub priorite: Priorite,
    /// Start of a long action (`AAAA-MM-JJ`).
    #[serde(default)]
    pub debut: Option<String>,
    /// Planned end of a long action (`AAAA-MM-JJ`).
    #[serde(default)]
    pub fin_prevue: Option<String>,
    /// When its rendez-vous happen.
    #[serde(default)]
    pub rythme: Option<Rythme>,
    /// Where.
    #[serde(default)]
    pub lieu: Option<Lieu>,
    /// On site or online.
    #[serde(default)]
    pub mode_participation: ModeParticipation,
    /// Online link, required when online or mixed.
    #[serde(default)]
    pub lien_en_ligne: Option<String>,
    /// Who carries it.
    #[serde(default)]
    pub porteurs: Vec<Porteur>,
    /// What it needs, by id.
    #[serde(default)]
    #[ts(type = "Record<string, Besoin>")]
    pub besoins: BTreeMap<String, Besoin>,
    /// Audiences.
    #[serde(default)]
    pub publics: Vec<Public>,
    /// Accessibility.
    #[serde(default)]
    pub accessibilite: Accessibilite,
    /// Publication state.
    #[serde(default)]
    pub publication: Publication,
    /// Who sees it.
    #[serde(default)]
    pub visibilite: Visibilite,
    /// Parent action.
    #[serde(default)]
    pub parent_id: Option<String>,
    /// The action of another territory this one was taken up from
    /// (essaimage, see `agenda::essaimage`).
    #[serde(default)]
    pub inspire_de: Option<Provenance>,
    /// Bookkeeping.
    #[serde(flatten)]
    pub suivi: Suivi,
}

/// Where an action taken up from another territory comes from, shown as
/// « Inspiré de : <territoire> – <titre> ».
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, TS)]
pub struct Provenance {
    /// The source territory's document id.
    pub territoire: String,
    /// Its name when the action was taken up.
    pub territoire_nom: String,
    /// The source action's id.
    pub action: String,
    /// Its title when taken up.
    pub titre: String,
    /// The source document's heads when taken up (hex): whether it changed since.
    #[serde(default)]
    pub tetes: Vec<String>,
    /// The licence of the content taken up.
    pub licence: String,
}

/// Most heads a provenance records.
pub const TETES_MAX: usize = 16;

impl Valider for Provenance {
    fn valider(&self) -> Result<(), ValidationError> {
        non_vide("inspire_de.territoire", &self.territoire, 64)?;
        au_plus("inspire_de.territoire_nom", &self.territoire_nom, 120)?;
        if !identifiant_valide(&self.action) {
            return Err(ValidationError::Autre(format!("identifiant invalide\u{a0}: {:?}", self.action)));
        }
        au_plus("inspire_de.titre", &self.titre, 140)?;
        non_vide("inspire_de.licence", &self.licence, 40)?;
        let empreinte = |t: &String| t.len() == 64 && t.bytes().all(|b| b.is_ascii_hexdigit());
        if self.tetes.len() > TETES_MAX || !self.tetes.iter().all(empreinte) {
            return Err(ValidationError::Autre(format!(
                "inspire_de.tetes\u{a0}: {TETES_MAX} empreintes de 64 chiffres hexadécimaux au plus"
            )));
        }
        Ok(())
    }
}

/// A person or organisation. Actors need no account.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, TS)]
pub struct Acteur {
    /// Name.
    pub nom: String,
    /// Category.
    #[serde(default)]
    pub categorie: Categorie,
    /// Which of the *4 Fantastiques*, if any.
    #[serde(default)]
    pub famille_4f: Option<Famille4F>,
    /// Free roles.
    #[serde(default)]
    pub roles: Vec<String>,
    /// Skills.
    #[serde(default)]
    pub competences: Vec<String>,
    /// Shown in public views.
    #[serde(default)]
    pub visible_publiquement: bool,
    /// Bookkeeping.
    #[serde(flatten)]
    pub suivi: Suivi,
}

impl Acteur {
    /// The *4 Fantastiques* family: as set, or derived from the category.
    pub fn famille(&self) -> Option<Famille4F> {
        self.famille_4f.or(match self.categorie {
            Categorie::Elu => Some(Famille4F::Elu),
            Categorie::AgentCollectivite => Some(Famille4F::AgentTerritorial),
            Categorie::RepresentantEtat => Some(Famille4F::Etat),
            Categorie::Association | Categorie::EntrepriseEss | Categorie::Entreprise => {
                Some(Famille4F::SocioEconomique)
            }
            _ => None,
        })
    }
}

/// An actor's private contact, kept in the organisers' notebook
/// (`documents.rs`), never in the territory document residents read.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, TS)]
pub struct ContactPrive {
    /// E-mail address.
    #[serde(default)]
    pub email: Option<String>,
    /// Phone number.
    #[serde(default)]
    pub tel: Option<String>,
    /// Postal address.
    #[serde(default)]
    pub adresse: Option<String>,
    /// Organisers' notes.
    #[serde(default)]
    pub notes: Option<String>,
}

/// A phase of the multi-year roadmap.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, TS)]
pub struct Phase {
    /// Title.
    pub titre: String,
    /// Start (`AAAA-MM-JJ`).
    #[serde(default)]
    pub debut: Option<String>,
    /// End (`AAAA-MM-JJ`).
    #[serde(default)]
    pub fin: Option<String>,
    /// Description (collaborative text).
    #[serde(default)]
    pub description: String,
    /// Status.
    #[serde(default)]
    pub statut: StatutPhase,
    /// Bookkeeping.
    #[serde(flatten)]
    pub suivi: Suivi,
}

/// A member of a governance body.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, TS)]
pub struct Membre {
    /// The actor.
    pub acteur_id: String,
    /// Free role ("président", "secrétaire"…).
    #[serde(default)]
    pub role: String,
}

/// A governance body, with its own rhythm.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, TS)]
pub struct Instance {
    /// Name.
    pub nom: String,
    /// Kind.
    #[serde(rename = "type", default)]
    pub type_instance: TypeInstance,
    /// When it meets.
    #[serde(default)]
    pub rythme: Option<Rythme>,
    /// Members.
    #[serde(default)]
    pub membres: Vec<Membre>,
    /// Bookkeeping.
    #[serde(flatten)]
    pub suivi: Suivi,
}

/// How a person who edits a territory is named to the others (their
/// device asks once), by their Automerge actor id: the history and the
/// conflicts show names, not ids.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, TS)]
pub struct Auteur {
    /// The name they gave.
    pub nom: String,
}

/// Outcome of a decision.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, TS)]
pub struct Issue {
    /// What was decided.
    pub enonce: String,
    /// When (`AAAA-MM-JJ`).
    #[serde(default)]
    pub date: Option<String>,
    /// Review date (`AAAA-MM-JJ`).
    #[serde(default)]
    pub a_revoir_le: Option<String>,
}

/// A decision, enough for a *relevé de décision* recorded offline.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, TS)]
pub struct Decision {
    /// Title.
    pub titre: String,
    /// Context (collaborative text).
    #[serde(default)]
    pub contexte: String,
    /// Body that decided, if any.
    #[serde(default)]
    pub instance_id: Option<String>,
    /// Process.
    #[serde(default)]
    pub processus: Processus,
    /// Closing date (`AAAA-MM-JJ`).
    #[serde(default)]
    pub cloture: Option<String>,
    /// State.
    #[serde(default)]
    pub statut: StatutDecision,
    /// Outcome.
    #[serde(default)]
    pub issue: Option<Issue>,
    /// Actions it concerns.
    #[serde(default)]
    pub actions: Vec<String>,
    /// Objections raised and how they were handled (a *relevé de
    /// décision*).
    #[serde(default)]
    pub objections: String,
    /// Whether residents read it: only `publie` decisions are shown to
    /// them and on the public page.
    #[serde(default)]
    pub publication: Publication,
    /// Bookkeeping.
    #[serde(flatten)]
    pub suivi: Suivi,
}

/// Longest record id, in bytes.
pub const IDENTIFIANT_MAX: usize = 64;

/// Is `id` a record id of the schema: 1 to [`IDENTIFIANT_MAX`] ASCII
/// letters, digits, `-` or `_`? Ids are map keys of the collections, shared
/// with storage paths, URLs, HTML anchors and iCalendar UIDs, so they stay
/// short and inert. Edits refuse other ids; reading drops records under
/// them (an organiser can write any key with a raw change).
pub fn identifiant_valide(id: &str) -> bool {
    !id.is_empty() && id.len() <= IDENTIFIANT_MAX && id.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_".contains(&b))
}

/// Longest link, in bytes: beyond what any video-call or form service
/// hands out, well under what browsers and calendar apps accept.
pub const LIEN_MAX: usize = 2_000;

/// Is `lien` an absolute `http:` or `https:` URL with a host, at most
/// [`LIEN_MAX`] bytes, with no space, quote, angle bracket, backslash or
/// control character? Only such links are stored by edits and shown as
/// links: any other scheme (`javascript:`, `data:`) could run script where
/// it is clicked.
pub fn lien_valide(lien: &str) -> bool {
    if lien.len() > LIEN_MAX || lien.chars().any(|c| c.is_control() || c.is_whitespace() || "\"<>\\`".contains(c)) {
        return false;
    }
    let Some((schema, reste)) = lien.split_once("://") else { return false };
    let hote = reste.split(['/', '?', '#']).next().unwrap_or_default();
    let hote = hote.rsplit_once('@').map_or(hote, |(_, h)| h);
    (schema.eq_ignore_ascii_case("http") || schema.eq_ignore_ascii_case("https"))
        && !hote.is_empty()
        && !hote.starts_with(':')
}

/// Checks an optional link field: absent or blank is fine (where a link is
/// required, the caller says so), anything else must be [`lien_valide`].
fn lien(champ: &'static str, valeur: Option<&str>) -> Result<(), ValidationError> {
    match valeur {
        Some(l) if !l.trim().is_empty() && !lien_valide(l) => Err(ValidationError::LienInvalide(champ)),
        _ => Ok(()),
    }
}

/// The keys a record of type `T` may hold, from its serde shape: the only
/// keys the reader looks at in such a record.
pub(crate) fn champs_connus<T: Default + Serialize>() -> Vec<String> {
    match serde_json::to_value(T::default()) {
        Ok(serde_json::Value::Object(m)) => m.keys().cloned().collect(),
        _ => Vec::new(),
    }
}

/// Is `mesure` a measure of the Pacte pour la Transition, `M01` to `M32`?
/// Two digits: `M+1` is none, though Rust reads `+1` as a number.
pub(crate) fn mesure_valide(mesure: &str) -> bool {
    let Some(chiffres) = mesure.strip_prefix('M').filter(|n| n.len() == 2 && n.bytes().all(|b| b.is_ascii_digit()))
    else {
        return false;
    };
    chiffres.parse::<u8>().is_ok_and(|n| (1..=32).contains(&n))
}

/// Checks a record before it is written.
pub(crate) trait Valider {
    fn valider(&self) -> Result<(), ValidationError>;
}

fn non_vide(champ: &'static str, valeur: &str, max: usize) -> Result<(), ValidationError> {
    if valeur.trim().is_empty() {
        return Err(ValidationError::Vide(champ));
    }
    au_plus(champ, valeur, max)
}

fn au_plus(champ: &'static str, valeur: &str, max: usize) -> Result<(), ValidationError> {
    if valeur.chars().count() > max {
        return Err(ValidationError::TropLong { champ, max });
    }
    Ok(())
}

/// Checks `AAAA-MM-JJ`, with real month lengths and leap years.
pub(crate) fn date(champ: &'static str, valeur: &Option<String>) -> Result<(), ValidationError> {
    let Some(valeur) = valeur else { return Ok(()) };
    let invalide = || ValidationError::DateInvalide { champ, valeur: valeur.clone() };
    let parts: Vec<&str> = valeur.split('-').collect();
    let [y, m, d] = parts.as_slice() else { return Err(invalide()) };
    if y.len() != 4 || m.len() != 2 || d.len() != 2 {
        return Err(invalide());
    }
    let (y, m, d): (u32, u32, u32) =
        (y.parse().map_err(|_| invalide())?, m.parse().map_err(|_| invalide())?, d.parse().map_err(|_| invalide())?);
    let leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    let days = match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return Err(invalide()),
    };
    if d == 0 || d > days {
        return Err(invalide());
    }
    Ok(())
}

fn ordre(debut: (&'static str, &Option<String>), fin: (&'static str, &Option<String>)) -> Result<(), ValidationError> {
    date(debut.0, debut.1)?;
    date(fin.0, fin.1)?;
    if let (Some(a), Some(b)) = (debut.1, fin.1)
        && b < a
    {
        return Err(ValidationError::FinAvantDebut { debut: debut.0, fin: fin.0 });
    }
    Ok(())
}

fn rythme(r: &Option<Rythme>) -> Result<(), ValidationError> {
    match r {
        Some(r) => {
            r.valider().map_err(|e| ValidationError::Rythme(e.to_string()))?;
            liens_du_rythme(r)
        }
        None => Ok(()),
    }
}

/// Checks the links of a rhythm's exceptions (an occurrence moved online).
pub(crate) fn liens_du_rythme(r: &Rythme) -> Result<(), ValidationError> {
    r.exceptions.values().try_for_each(|e| lien("lien_en_ligne", e.lien_en_ligne.as_deref()))
}

impl Valider for Profil {
    fn valider(&self) -> Result<(), ValidationError> {
        non_vide("nom", &self.nom, 200)?;
        verifier_codes_insee(&self.codes.insee)?;
        crate::rythme::valider_fuseau(&self.fuseau).map_err(|e| ValidationError::Autre(e.to_string()))?;
        for e in &self.engagements_pacte {
            if !mesure_valide(&e.mesure) {
                return Err(ValidationError::Autre(format!("mesure du Pacte inconnue\u{a0}: {}", e.mesure)));
            }
            if !(1..=3).contains(&e.niveau) {
                return Err(ValidationError::HorsBornes { champ: "niveau", min: 1, max: 3 });
            }
        }
        for r in &self.reseaux {
            date("depuis", &r.depuis)?;
        }
        au_plus("comment_cest_decide", &self.comment_cest_decide, 5_000)?;
        Ok(())
    }
}

impl Valider for Action {
    fn valider(&self) -> Result<(), ValidationError> {
        non_vide("titre", &self.titre, 140)?;
        au_plus("resume", &self.resume, 200)?;
        au_plus("description", &self.description, 10_000)?;
        if self.avancement > 100 {
            return Err(ValidationError::HorsBornes { champ: "avancement", min: 0, max: 100 });
        }
        ordre(("debut", &self.debut), ("fin_prevue", &self.fin_prevue))?;
        let en_ligne = matches!(self.mode_participation, ModeParticipation::EnLigne | ModeParticipation::Mixte);
        if en_ligne && self.lien_en_ligne.as_deref().is_none_or(|l| l.trim().is_empty()) {
            return Err(ValidationError::Requis("lien_en_ligne"));
        }
        lien("lien_en_ligne", self.lien_en_ligne.as_deref())?;
        rythme(&self.rythme)?;
        for besoin in self.besoins.values() {
            besoin.valider()?;
        }
        if let Some(p) = &self.inspire_de {
            p.valider()?;
        }
        Ok(())
    }
}

impl Valider for Besoin {
    fn valider(&self) -> Result<(), ValidationError> {
        date("echeance", &self.echeance)?;
        for v in self.volontaires.values() {
            let nomme = v.acteur_id.is_some() || v.nom.as_deref().is_some_and(|n| !n.trim().is_empty());
            if !nomme {
                return Err(ValidationError::Requis("acteur_id ou nom"));
            }
            date("date", &v.date)?;
            if let Some(message) = &v.message {
                au_plus("message", message, MESSAGE_MAX)?;
            }
            if v.preuve.as_deref().is_some_and(|p| !preuve_valide(p)) {
                return Err(ValidationError::Autre("preuve invalide\u{a0}: 64 chiffres hexadécimaux attendus".into()));
            }
        }
        Ok(())
    }
}

impl Valider for Acteur {
    fn valider(&self) -> Result<(), ValidationError> {
        non_vide("nom", &self.nom, 200)
    }
}

impl Valider for ContactPrive {
    fn valider(&self) -> Result<(), ValidationError> {
        if let Some(email) = &self.email
            && !email.contains('@')
        {
            return Err(ValidationError::Autre(format!("adresse e-mail invalide\u{a0}: {email}")));
        }
        au_plus("email", self.email.as_deref().unwrap_or_default(), 200)?;
        au_plus("tel", self.tel.as_deref().unwrap_or_default(), 40)?;
        au_plus("adresse", self.adresse.as_deref().unwrap_or_default(), 300)?;
        au_plus("notes", self.notes.as_deref().unwrap_or_default(), 2_000)?;
        Ok(())
    }
}

impl Valider for Phase {
    fn valider(&self) -> Result<(), ValidationError> {
        non_vide("titre", &self.titre, 200)?;
        ordre(("debut", &self.debut), ("fin", &self.fin))
    }
}

impl Valider for Instance {
    fn valider(&self) -> Result<(), ValidationError> {
        non_vide("nom", &self.nom, 200)?;
        rythme(&self.rythme)
    }
}

impl Valider for Decision {
    fn valider(&self) -> Result<(), ValidationError> {
        non_vide("titre", &self.titre, 200)?;
        au_plus("contexte", &self.contexte, 5_000)?;
        au_plus("objections", &self.objections, 5_000)?;
        date("cloture", &self.cloture)?;
        if let Some(issue) = &self.issue {
            non_vide("enonce", &issue.enonce, 2_000)?;
            ordre(("date", &issue.date), ("a_revoir_le", &issue.a_revoir_le))?;
        }
        Ok(())
    }
}
