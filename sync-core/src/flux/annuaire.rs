//! The national directory of public territories: the page `/territoires/`
//! (French HTML, no script, a few kilobytes compressed even for a hundred
//! territories) and the entries of `/territoires.json`, narrowed by
//! [`Filtre`] (theme, kind, département, network, Pacte measure, from the
//! query string).
//!
//! A card says what a visitor weighs: name, kind, départements, entry
//! doors in words, networks, how many Pacte commitments, how many public
//! rendez-vous in the next [`JOURS_A_VENIR`] days, whether it is a
//! demonstration. Only territories whose profile is `visibilite: public`
//! are ever listed; which ones are demonstrations is the caller's word
//! (the relay's table), not the profile's.
//!
//! The départements section draws the map (`carte.rs`) when the relay has
//! one, and always lists the same counts as text.
//!
//! Does not: read documents, check access or do HTTP (the relay does).

use std::collections::BTreeMap;
use std::fmt::Write;

use serde::de::DeserializeOwned;
use serde_json::{Value, json};

use super::html::echapper;
use super::{Carte, Territoire, public};
use crate::agenda::{
    Agenda, DEPARTEMENTS, Departement, Profil, Reseau, Theme, TypeTerritoire, VisibiliteTerritoire, departement,
    departements_des_communes, valeur_json,
};
use crate::rythme::{EtatOccurrence, Timestamp};

/// How far ahead a card counts rendez-vous, in days.
pub const JOURS_A_VENIR: i64 = 30;

/// What the directory is narrowed to: each criterion, when given, must hold.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Filtre {
    /// An entry door among the territory's.
    pub theme: Option<Theme>,
    /// The territory's kind.
    pub type_territoire: Option<TypeTerritoire>,
    /// A département one of its communes is in.
    pub departement: Option<&'static Departement>,
    /// A network it works with.
    pub reseau: Option<Reseau>,
    /// A Pacte measure it committed to (`M01` to `M32`).
    pub mesure: Option<String>,
}

/// A query string the directory does not understand.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FiltreError {
    /// A parameter other than `theme`, `type`, `departement`, `reseau`, `mesure`.
    #[error("filtre inconnu\u{a0}: «\u{a0}{0}\u{a0}» (theme, type, departement, reseau ou mesure)")]
    Inconnu(String),
    /// A value that names nothing.
    #[error("valeur inconnue pour {champ}\u{a0}: «\u{a0}{valeur}\u{a0}»")]
    Valeur {
        /// The parameter.
        champ: &'static str,
        /// What was given (cut to 40 characters).
        valeur: String,
    },
    /// The same parameter twice.
    #[error("filtre donné deux fois\u{a0}: {0}")]
    Repete(&'static str),
}

/// An enum value from its JSON text (`energie`, `commune`, `colibris`).
fn valeur<T: DeserializeOwned>(texte: &str) -> Option<T> {
    serde_json::from_value(Value::String(texte.to_owned())).ok()
}

impl Filtre {
    /// The filter of a query string's `(name, value)` pairs, already
    /// percent-decoded; empty values mean "any" (a form's blank choice).
    pub fn depuis(paires: &[(String, String)]) -> Result<Filtre, FiltreError> {
        let mut f = Filtre::default();
        for (nom, texte) in paires {
            if texte.is_empty() {
                continue;
            }
            let inconnue = |champ: &'static str| FiltreError::Valeur {
                champ,
                valeur: texte.chars().take(40).filter(|c| !c.is_control()).collect(),
            };
            match nom.as_str() {
                "theme" if f.theme.is_some() => return Err(FiltreError::Repete("theme")),
                "theme" => f.theme = Some(valeur(texte).ok_or_else(|| inconnue("theme"))?),
                "type" if f.type_territoire.is_some() => return Err(FiltreError::Repete("type")),
                "type" => f.type_territoire = Some(valeur(texte).ok_or_else(|| inconnue("type"))?),
                "departement" if f.departement.is_some() => return Err(FiltreError::Repete("departement")),
                "departement" => f.departement = Some(departement(texte).ok_or_else(|| inconnue("departement"))?),
                "reseau" if f.reseau.is_some() => return Err(FiltreError::Repete("reseau")),
                "reseau" => f.reseau = Some(valeur(texte).ok_or_else(|| inconnue("reseau"))?),
                "mesure" if f.mesure.is_some() => return Err(FiltreError::Repete("mesure")),
                "mesure" if crate::agenda::mesure_valide(texte) => f.mesure = Some(texte.clone()),
                "mesure" => return Err(inconnue("mesure")),
                autre => {
                    return Err(FiltreError::Inconnu(autre.chars().take(40).filter(|c| !c.is_control()).collect()));
                }
            }
        }
        Ok(f)
    }

    /// The filter as a query string in a fixed order (`?theme=energie&type=commune`),
    /// empty when nothing is filtered: one spelling for one filter.
    pub fn requete(&self) -> String {
        let mut paires: Vec<String> = Vec::new();
        if let Some(t) = self.theme {
            paires.push(format!("theme={}", valeur_json(&t)));
        }
        if let Some(t) = self.type_territoire {
            paires.push(format!("type={}", valeur_json(&t)));
        }
        if let Some(d) = self.departement {
            paires.push(format!("departement={}", d.code));
        }
        if let Some(r) = self.reseau {
            paires.push(format!("reseau={}", valeur_json(&r)));
        }
        if let Some(m) = &self.mesure {
            paires.push(format!("mesure={m}"));
        }
        if paires.is_empty() { String::new() } else { format!("?{}", paires.join("&")) }
    }

    fn garde(&self, fiche: &Fiche<'_>) -> bool {
        let p = &fiche.territoire.profil;
        self.theme.is_none_or(|t| p.portes_entree.contains(&t)) && self.garde_territoire(p, &fiche.departements)
    }

    /// Whether a sheet passes: the theme among its entry doors, the measure
    /// among its measures, the other criteria on the profile of the
    /// territory it is shown under (none passes them without one).
    pub(super) fn garde_fiche(&self, c: &crate::agenda::ContenuFiche, territoire: Option<&Profil>) -> bool {
        let reste = Filtre { theme: None, mesure: None, ..self.clone() };
        self.theme.is_none_or(|t| c.portes_entree.contains(&t))
            && self.mesure.as_ref().is_none_or(|m| c.mesures_pacte.contains(m))
            && match territoire {
                Some(p) => reste.garde_territoire(p, &crate::agenda::departements_des_communes(&p.codes.insee)),
                None => reste == Filtre::default(),
            }
    }

    /// Every criterion but the theme, on a territory's profile and the
    /// départements of its communes: the national agenda checks the theme
    /// on each rendez-vous rather than on its territory.
    pub(super) fn garde_territoire(&self, p: &Profil, departements: &[&'static Departement]) -> bool {
        self.type_territoire.is_none_or(|t| p.type_territoire == t)
            && self.departement.is_none_or(|d| departements.contains(&d))
            && self.reseau.is_none_or(|r| p.reseaux.iter().any(|l| l.reseau == r))
            && self.mesure.as_ref().is_none_or(|m| p.engagements_pacte.iter().any(|e| &e.mesure == m))
    }
}

/// One territory as the directory shows it.
#[derive(Debug, Clone)]
pub struct Fiche<'a> {
    /// The territory (its profile, page).
    pub territoire: &'a Territoire,
    /// The départements of its communes, without repeats, in table order.
    pub departements: Vec<&'static Departement>,
    /// Its public rendez-vous in the next [`JOURS_A_VENIR`] days, cancelled ones left out.
    pub a_venir: usize,
}

impl<'a> Fiche<'a> {
    /// The card of `territoire` at `now`.
    pub fn new(territoire: &'a Territoire, agenda: &Agenda, now: Timestamp) -> Fiche<'a> {
        let departements = departements_des_communes(&territoire.profil.codes.insee);
        let au = now.checked_add(jiff::SignedDuration::from_hours(24 * JOURS_A_VENIR)).unwrap_or(Timestamp::MAX);
        let rdv = public(agenda);
        let a_venir = super::occurrences(&rdv, now, au)
            .iter()
            .filter(|(_, o)| o.etat != EtatOccurrence::Annule && o.debut_utc >= now)
            .count();
        Fiche { territoire, departements, a_venir }
    }
}

/// The public territories' cards, narrowed by `filtre`, by name.
pub fn fiches<'a>(territoires: &'a [(Territoire, Agenda)], filtre: &Filtre, now: Timestamp) -> Vec<Fiche<'a>> {
    let mut fiches: Vec<Fiche<'a>> = territoires
        .iter()
        .filter(|(t, _)| t.profil.visibilite == VisibiliteTerritoire::Public)
        .map(|(t, a)| Fiche::new(t, a, now))
        .filter(|f| filtre.garde(f))
        .collect();
    fiches.sort_by_cached_key(|f| (f.territoire.nom().to_lowercase(), f.territoire.document.clone()));
    fiches
}

/// The public directory as JSON: for every public territory, its name,
/// kind, codes, départements, presentation, entry doors, networks, Pacte
/// commitments, upcoming rendez-vous count, demonstration flag and links.
/// Nothing else of the profile, and nothing of its actors or contacts.
pub fn territoires_json(territoires: &[(Territoire, Agenda)], now: Timestamp) -> Value {
    let liste: Vec<Value> = fiches(territoires, &Filtre::default(), now)
        .iter()
        .map(|f| {
            let (t, p) = (f.territoire, &f.territoire.profil);
            json!({
                "id": t.document,
                "nom": p.nom,
                "type": p.type_territoire,
                "codes": p.codes,
                "departements": f.departements.iter().map(|d| json!({ "code": d.code, "nom": d.nom })).collect::<Vec<_>>(),
                "presentation": p.presentation,
                "portes_entree": p.portes_entree,
                "reseaux": p.reseaux.iter().map(|l| l.reseau).collect::<Vec<_>>(),
                "engagements_pacte": p.engagements_pacte,
                "rendez_vous_30_jours": f.a_venir,
                "demonstration": p.demonstration,
                "page": t.page(),
                "agenda_ics": format!("{}agenda.ics", t.page()),
                "agenda_compat_ics": format!("{}agenda-compat.ics", t.page()),
                "agenda_json": format!("{}agenda.json", t.page()),
            })
        })
        .collect();
    json!({ "territoires": liste })
}

pub(super) const CSS: &str = "body{font:1rem/1.5 system-ui,sans-serif;max-width:48rem;margin:0 auto;padding:1rem;color:#1a1a1a}\
a{color:#0b4f8a}h1{font-size:1.6rem}h2{font-size:1.3rem;margin-top:1.5rem}h3{font-size:1.1rem;margin:.2rem 0}\
form{display:flex;flex-wrap:wrap;gap:.5rem 1rem;align-items:end}label{display:grid;grid-template-columns:minmax(0,1fr);font-size:.9rem;max-width:100%}\
select,button{font:inherit;min-height:44px;max-width:100%}ul.fiches{list-style:none;padding:0}\
.fiche{border:1px solid #ccc;border-radius:.5rem;padding:.75rem;margin:.75rem 0}.fiche p{margin:.2rem 0}\
.demo{font-weight:bold}";

/// A `<select>` of the filter form: `options` as (value, label), `choisie` selected.
fn choix(h: &mut String, nom: &str, libelle: &str, options: &[(String, String)], choisie: Option<&str>) {
    let _ = write!(h, "<label>{libelle}<select name=\"{nom}\"><option value=\"\">Tous</option>");
    for (v, l) in options {
        let selected = if choisie == Some(v.as_str()) { " selected" } else { "" };
        let _ = write!(h, "<option value=\"{}\"{selected}>{}</option>", echapper(v), echapper(l));
    }
    h.push_str("</select></label>\n");
}

pub(super) fn pluriel(n: usize, un: &str, plusieurs: &str) -> String {
    if n <= 1 { format!("{n}\u{a0}{un}") } else { format!("{n}\u{a0}{plusieurs}") }
}

/// The directory page: the filter form (plain GET, works without script),
/// the départements with their counts as links to their filter, on
/// `carte` if given and as a list, then the count and the cards.
pub fn annuaire_html(
    territoires: &[(Territoire, Agenda)],
    filtre: &Filtre,
    now: Timestamp,
    carte: Option<&Carte>,
) -> String {
    let tous = fiches(territoires, &Filtre::default(), now);
    let liste: Vec<&Fiche<'_>> = tous.iter().filter(|f| filtre.garde(f)).collect();
    let mut h = String::with_capacity(8192);
    let _ = write!(
        h,
        "<!doctype html>\n<html lang=\"fr\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>Territoires en transition – Essaim</title>\n\
         <link rel=\"alternate\" type=\"application/json\" href=\"/territoires.json\">\n\
         <style>{CSS}{}</style>\n</head>\n<body>\n<header>\n<h1>Territoires en transition</h1>\n\
         <p>Les communes, quartiers, intercommunalités et pays qui publient leur agenda sur ce relais.</p>\n\
         </header>\n<main>\n",
        if carte.is_some() { super::carte::CSS } else { "" }
    );
    formulaire(&mut h, "/territoires/", "Filtrer les territoires", filtre);

    // Départements with at least one public territory, as links to their
    // filter, with their count: the map's text equivalent.
    let mut par_departement: BTreeMap<usize, (&Departement, usize)> = BTreeMap::new();
    for f in &tous {
        for d in &f.departements {
            let rang = DEPARTEMENTS.iter().position(|x| x == *d).unwrap_or(usize::MAX);
            par_departement.entry(rang).or_insert((d, 0)).1 += 1;
        }
    }
    h.push_str("<section aria-labelledby=\"departements\">\n<h2 id=\"departements\">Par département</h2>\n");
    if let Some(carte) = carte {
        let comptes: BTreeMap<&str, usize> = par_departement.values().map(|(d, n)| (d.code, *n)).collect();
        carte.svg(&mut h, &comptes, filtre.departement.map(|d| d.code));
    }
    if par_departement.is_empty() {
        h.push_str("<p>Aucun territoire public n'a encore indiqué ses communes.</p>\n");
    } else {
        h.push_str("<ul>\n");
        for (d, n) in par_departement.values() {
            let _ = writeln!(
                h,
                "<li><a href=\"/territoires/?departement={}\">{} ({})</a>\u{a0}: {}</li>",
                d.code,
                echapper(d.nom),
                d.code,
                pluriel(*n, "territoire", "territoires")
            );
        }
        h.push_str("</ul>\n");
    }
    h.push_str("</section>\n");
    let _ = write!(
        h,
        "<section aria-labelledby=\"liste\">\n<h2 id=\"liste\">{}</h2>\n",
        pluriel(liste.len(), "territoire", "territoires")
    );
    if !filtre.requete().is_empty() {
        h.push_str("<p><a href=\"/territoires/\">Voir tous les territoires</a></p>\n");
    }
    if liste.is_empty() {
        h.push_str("<p>Aucun territoire public ne répond à ces critères.</p>\n");
    }
    h.push_str("<ul class=\"fiches\">\n");
    for f in &liste {
        fiche_html(&mut h, f);
    }
    h.push_str("</ul>\n</section>\n</main>\n</body>\n</html>\n");
    h
}

/// The filter form (a plain GET to `action`, which works without script),
/// each choice showing `filtre`'s.
pub(super) fn formulaire(h: &mut String, action: &str, nom: &str, filtre: &Filtre) {
    let _ = writeln!(h, "<form method=\"get\" action=\"{action}\" aria-label=\"{nom}\">");
    let themes: Vec<(String, String)> = Theme::TOUS.iter().map(|t| (valeur_json(t), t.libelle().to_owned())).collect();
    let types: Vec<(String, String)> =
        TypeTerritoire::TOUS.iter().map(|t| (valeur_json(t), t.libelle().to_owned())).collect();
    let departements: Vec<(String, String)> =
        DEPARTEMENTS.iter().map(|d| (d.code.to_owned(), format!("{} ({})", d.nom, d.code))).collect();
    let reseaux: Vec<(String, String)> =
        Reseau::TOUS.iter().map(|r| (valeur_json(r), r.libelle().to_owned())).collect();
    let mesures: Vec<(String, String)> = (1..=32).map(|n| (format!("M{n:02}"), format!("Mesure {n}"))).collect();
    choix(h, "theme", "Porte d'entrée", &themes, filtre.theme.map(|t| valeur_json(&t)).as_deref());
    choix(h, "type", "Type", &types, filtre.type_territoire.map(|t| valeur_json(&t)).as_deref());
    choix(h, "departement", "Département", &departements, filtre.departement.map(|d| d.code));
    choix(h, "reseau", "Réseau", &reseaux, filtre.reseau.map(|r| valeur_json(&r)).as_deref());
    choix(h, "mesure", "Mesure du Pacte", &mesures, filtre.mesure.as_deref());
    h.push_str("<button type=\"submit\">Filtrer</button>\n</form>\n");
}

fn fiche_html(h: &mut String, f: &Fiche<'_>) {
    let t = f.territoire;
    let p = &t.profil;
    let _ = write!(
        h,
        "<li class=\"fiche\"><article>\n<h3><a href=\"{}\">{}</a></h3>\n<p>{}",
        echapper(&t.page()),
        echapper(t.nom()),
        p.type_territoire.libelle()
    );
    for d in &f.departements {
        let _ = write!(h, " · {} ({})", echapper(d.nom), d.code);
    }
    h.push_str("</p>\n");
    if p.demonstration {
        h.push_str("<p class=\"demo\">Territoire de démonstration (contenu inventé)</p>\n");
    }
    if !p.portes_entree.is_empty() {
        let portes: Vec<&str> = p.portes_entree.iter().map(|t| t.libelle()).collect();
        let _ = writeln!(h, "<p>Portes d'entrée\u{a0}: {}</p>", echapper(&portes.join(", ")));
    }
    if !p.reseaux.is_empty() {
        let reseaux: Vec<&str> = p.reseaux.iter().map(|l| l.reseau.libelle()).collect();
        let _ = writeln!(h, "<p>Réseaux\u{a0}: {}</p>", echapper(&reseaux.join(", ")));
    }
    if !p.engagements_pacte.is_empty() {
        let _ = writeln!(
            h,
            "<p>{} du Pacte pour la transition</p>",
            pluriel(p.engagements_pacte.len(), "engagement", "engagements")
        );
    }
    let _ = writeln!(
        h,
        "<p>{} dans les {JOURS_A_VENIR} prochains jours</p>\n</article></li>",
        pluriel(f.a_venir, "rendez-vous", "rendez-vous")
    );
}
