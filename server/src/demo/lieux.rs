//! The demonstration territories' places and people, read from
//! `lieux.json` (data only, compiled in, in French). Every name, address
//! and contact is invented (phone numbers in the range ARCEP keeps for
//! fiction, e-mails at `example.org`); the INSEE codes are real-looking so
//! the feeds and the app show them as they would a real territory's.
//! `contenu.rs` turns one of these into edits.

use serde::Deserialize;

/// A place where rendez-vous happen.
#[derive(Debug, Deserialize)]
pub(super) struct Lieu {
    pub(super) libelle: String,
    pub(super) adresse: String,
}

/// A person or an organisation of the territory.
#[derive(Debug, Deserialize)]
pub(super) struct Personne {
    pub(super) nom: String,
    /// `categorie` of the schema (`elu`, `agent_collectivite`…).
    pub(super) categorie: String,
    pub(super) role: String,
    pub(super) email: String,
    pub(super) tel: String,
}

/// A title and a summary.
#[derive(Debug, Deserialize)]
pub(super) struct Titre {
    pub(super) titre: String,
    pub(super) resume: String,
}

/// The yearly festival, on the last Saturday of `mois`.
#[derive(Debug, Deserialize)]
pub(super) struct Fete {
    pub(super) titre: String,
    pub(super) mois: i8,
}

/// A long project.
#[derive(Debug, Deserialize)]
pub(super) struct Chantier {
    pub(super) titre: String,
    pub(super) resume: String,
    /// Its entry door (`energie`…).
    pub(super) theme: String,
}

/// One demonstration territory, before its dates.
#[derive(Debug, Deserialize)]
pub(super) struct Modele {
    pub(super) nom: String,
    /// `type` of the profile (`commune`, `quartier`…).
    #[serde(rename = "type")]
    pub(super) genre: String,
    pub(super) insee: Vec<String>,
    pub(super) code_epci: Option<String>,
    pub(super) fuseau: String,
    pub(super) presentation: String,
    /// The main hall, the garden, the third place, the school, the market.
    pub(super) lieux: [Lieu; 5],
    /// An elected member, a territorial agent, a State representative,
    /// then three socio-economic actors (the *4 Fantastiques*).
    pub(super) personnes: [Personne; 6],
    /// The weekly basket distribution's title.
    pub(super) panier: String,
    /// The fortnightly workshop.
    pub(super) atelier: Titre,
    pub(super) fete: Fete,
    pub(super) chantiers: [Chantier; 3],
    /// The elected body's name.
    pub(super) conseil: String,
}

/// The places, in the order `essaim demo` makes them.
pub(super) fn modeles() -> Result<Vec<Modele>, serde_json::Error> {
    serde_json::from_str(include_str!("lieux.json"))
}
