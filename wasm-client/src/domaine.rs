//! What the app's screens need of the agenda's domain, besides the read
//! model: the French labels of enum values, days, dates and times in French
//! words, a rhythm's sentence, which themes governance bodies belong to, the
//! check of INSEE codes, and
//! the TypeScript declarations of the read model and edits
//! ([`declarations`], committed as `web/src/genere/agenda.ts`).
//!
//! Conversions only: every word and every rule is `sync-core`'s
//! (`agenda::libelles`, `rythme::mots`, `Instance::THEMES`,
//! `agenda::verifier_codes_insee`).

use js_sys::{Array, Object};
use sync_core::agenda::{self, Instance};
use sync_core::rythme::{DateHeure, Jour, Rythme, mots};
use wasm_bindgen::prelude::*;

use crate::set;

/// The generated declarations the signatures below name, from where
/// wasm-bindgen writes its output (`web/src/pkg`).
#[wasm_bindgen(typescript_custom_section)]
const IMPORTS_TS: &str = r#"import type { LibellesFiches, Libelles, Output, Theme } from "../genere/agenda";"#;

/// The French label of every enum value, by enum then value, in the order
/// screens list them: `libelles().theme.economie_locale` is "Économie
/// locale".
#[wasm_bindgen(unchecked_return_type = "Libelles")]
pub fn libelles() -> JsValue {
    let tout = Object::new();
    for enumeration in agenda::libelles() {
        let valeurs = Object::new();
        for (valeur, libelle) in enumeration.valeurs {
            set(&valeurs, &valeur, &JsValue::from_str(libelle));
        }
        set(&tout, enumeration.champ, &valeurs);
    }
    tout.into()
}

/// The words of experience sheets (issue 18), all the core's: the five
/// sections in reading order with their titles, each state's and each
/// licence's label, and each licence's address.
#[wasm_bindgen(js_name = libellesFiches, unchecked_return_type = "LibellesFiches")]
pub fn libelles_fiches() -> JsValue {
    use agenda::{LicenceFiche, StatutFiche};
    let tout = Object::new();
    let sections: Array = agenda::SECTIONS
        .iter()
        .map(|(cle, titre)| Array::of2(&JsValue::from_str(cle), &JsValue::from_str(titre)))
        .collect();
    set(&tout, "sections", &sections);
    let statuts = Object::new();
    for &statut in StatutFiche::TOUS {
        if let Ok(serde_json::Value::String(cle)) = serde_json::to_value(statut) {
            set(&statuts, &cle, &JsValue::from_str(statut.libelle()));
        }
    }
    set(&tout, "statuts", &statuts);
    let (licences, adresses) = (Object::new(), Object::new());
    for licence in LicenceFiche::TOUS {
        set(&licences, licence.libelle(), &JsValue::from_str(licence.libelle()));
        set(&adresses, licence.libelle(), &JsValue::from_str(licence.adresse()));
    }
    set(&tout, "licences", &licences);
    set(&tout, "adresses_licences", &adresses);
    tout.into()
}

/// The themes a governance body is shown under by a theme filter.
#[wasm_bindgen(js_name = themesDesInstances, unchecked_return_type = "Theme[]")]
pub fn themes_des_instances() -> Array {
    Instance::THEMES
        .iter()
        .filter_map(|t| serde_json::to_value(t).ok())
        .map(|t| JsValue::from_str(t.as_str().unwrap_or_default()))
        .collect()
}

/// Checks a territory's INSEE codes as its profile's validation does (at
/// most 50, each of a commune code's shape); throws the core's French
/// message. The creation form checks a candidature with it, which no edit
/// validates before it is sent.
#[wasm_bindgen(js_name = verifierCodesInsee)]
pub fn verifier_codes_insee(codes: Vec<String>) -> Result<(), JsError> {
    Ok(agenda::verifier_codes_insee(&codes)?)
}

/// "samedi 6 décembre à 18 h 30" from a local `AAAA-MM-JJTHH:MM[:SS]`;
/// the year when not in `aujourdhui`'s (`AAAA-MM-JJ`, the device's date).
#[wasm_bindgen]
pub fn quand(local: &str, aujourdhui: &str) -> Result<String, JsError> {
    Ok(mots::quand(local.parse::<DateHeure>()?, aujourdhui.parse::<Jour>()?))
}

/// "samedi 6 décembre" from `AAAA-MM-JJ`; the year when not in
/// `aujourdhui`'s.
#[wasm_bindgen(js_name = jourEnLettres)]
pub fn jour_en_lettres(jour: &str, aujourdhui: &str) -> Result<String, JsError> {
    Ok(mots::jour_en_lettres(jour.parse::<Jour>()?, aujourdhui.parse::<Jour>()?))
}

/// "du jeudi 15 janvier au mardi 30 juin", "à partir du …", "jusqu'au …",
/// "dates à fixer", from optional `AAAA-MM-JJ` days; years on both ends
/// when either is outside `aujourdhui`'s year.
#[wasm_bindgen]
pub fn periode(debut: Option<String>, fin: Option<String>, aujourdhui: &str) -> Result<String, JsError> {
    let jour = |j: Option<String>| j.map(|j| j.parse::<Jour>()).transpose();
    Ok(mots::periode(jour(debut)?, jour(fin)?, aujourdhui.parse::<Jour>()?))
}

/// The French sentence of a rhythm (JSON of `Rythme`), or its error.
#[wasm_bindgen(js_name = phraseRythme)]
pub fn phrase_rythme(rythme_json: &str) -> Result<String, JsError> {
    let rythme: Rythme = serde_json::from_str(rythme_json)?;
    Ok(rythme.phrase())
}

// Issue 15, the agenda's views (H2): the time alone, short weekdays and
// month titles, all from `mots`.

/// "18 h 30", "10 h" from a local `AAAA-MM-JJTHH:MM[:SS]`.
#[wasm_bindgen]
pub fn heure(local: &str) -> Result<String, JsError> {
    Ok(mots::heure(local.parse::<DateHeure>()?))
}

/// "lun." … "dim.": the short weekday of `AAAA-MM-JJ` (the first three
/// letters of `mots::nom_jour`, which are ASCII for every day).
#[wasm_bindgen(js_name = jourCourt)]
pub fn jour_court(jour: &str) -> Result<String, JsError> {
    let nom = mots::nom_jour(jour.parse::<Jour>()?.jour_semaine());
    Ok(format!("{}.", nom.get(..3).unwrap_or(nom)))
}

/// "Décembre 2026": the month of `AAAA-MM-JJ` with its year.
#[wasm_bindgen(js_name = moisEnLettres)]
pub fn mois_en_lettres(jour: &str) -> Result<String, JsError> {
    let j = jour.parse::<Jour>()?;
    Ok(mots::majuscule(&format!("{} {}", mots::nom_mois(j.mois()), j.annee())))
}

/// The TypeScript declarations of the read model and of edits, from the
/// Rust types (ts-rs), with the `Libelles` table of [`libelles`].
pub fn declarations() -> String {
    use sync_core::agenda::*;
    use sync_core::rythme::{EtatOccurrence, Exception, Frequence, Occurrence, Pause, Regle, Retrait};
    use ts_rs::{Config, TS};

    let cfg = Config::new().with_large_int("number");
    let mut ts = String::from(
        "// Generated from sync-core's types by wasm-client (src/domaine.rs);\n\
         // do not edit. Regenerate: UPDATE_EXPECT=1 cargo test -p wasm-client typescript\n",
    );
    macro_rules! declarer {
        ($($t:ty),+ $(,)?) => {$(
            ts.push_str("\nexport ");
            ts.push_str(&sans_docs(&<$t as TS>::decl(&cfg)));
            ts.push('\n');
        )+};
    }
    declarer!(
        Agenda,
        Profil,
        Codes,
        LienReseau,
        Engagement,
        Action,
        Provenance,
        ActionPublique,
        Auteur,
        Evenement,
        GenreDocument,
        Carnet,
        EditCarnet,
        Lieu,
        Porteur,
        Besoin,
        Volontaire,
        Accessibilite,
        Acteur,
        ContactPrive,
        FeuilleDeRoute,
        Phase,
        Instance,
        Membre,
        Decision,
        Issue,
        Conflit,
        ValeurConcurrente,
        RendezVous,
        Collection,
        Edit,
        Rythme,
        Regle,
        Frequence,
        Pause,
        Exception,
        Occurrence,
        Retrait,
        crate::BrowserOutput,
        // The enums of `Libelles`, in its order.
        TypeTerritoire,
        VisibiliteTerritoire,
        Theme,
        Reseau,
        RoleReseau,
        Nature,
        PhaseAction,
        Statut,
        Priorite,
        ModeParticipation,
        RolePorteur,
        TypeBesoin,
        StatutBesoin,
        Public,
        Visibilite,
        Publication,
        Categorie,
        Famille4F,
        StatutPhase,
        TypeInstance,
        Processus,
        StatutDecision,
        EtatOccurrence,
        // Experience sheets (issue 18).
        ContenuFiche,
        ActionLiee,
        LicenceFiche,
        Fiche,
        TerritoireFiche,
        Relecture,
        VersionFiche,
        RetraitFiche,
        StatutFiche,
        EditFiche,
        FichePubliee,
        DifferenceSection,
        Morceau,
        GenreMorceau,
    );
    ts.push_str("\n/** A record an edit creates or changes (`creer`, `modifier`). */\n");
    ts.push_str(
        "export type Enregistrement = Partial<Action> | Partial<Acteur> | Partial<Instance> | Partial<Decision> | \
         Partial<Phase>;\n",
    );
    ts.push_str("\n/** The words of experience sheets (`libellesFiches()` of the wasm client). */\n");
    ts.push_str(
        "export type LibellesFiches = { sections: [string, string][]; statuts: Record<StatutFiche, string>; \
         licences: Record<LicenceFiche, string>; adresses_licences: Record<LicenceFiche, string> };\n",
    );
    ts.push_str("\n/** The French label of every enum value (`libelles()` of the wasm client). */\n");
    ts.push_str("export type Libelles = {\n");
    for enumeration in agenda::libelles() {
        ts.push_str(&format!("  {}: Record<{}, string>;\n", enumeration.champ, enumeration.type_ts));
    }
    ts.push_str("};\n");
    ts
}

/// A declaration without its fields' doc comments, one line per type: the
/// docs are the Rust types' (which every record's bookkeeping fields would
/// otherwise repeat five times).
fn sans_docs(decl: &str) -> String {
    let mut reste = decl;
    let mut sortie = String::with_capacity(decl.len());
    while let Some(debut) = reste.find("/**") {
        sortie.push_str(&reste[..debut]);
        reste = reste[debut..].find("*/").map_or("", |fin| &reste[debut + fin + 2..]);
    }
    sortie.push_str(reste);
    sortie.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    #[test]
    fn typescript_declarations_are_up_to_date() {
        expect_test::expect_file!["../../web/src/genere/agenda.ts"].assert_eq(&super::declarations());
    }
}
