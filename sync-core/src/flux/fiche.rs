//! Experience sheets for the public, as pure functions: a published
//! version's page (`/t/{t}/fiches/{f}/`), its JSON, its Markdown export, a
//! withdrawn sheet's explanation (the relay's 410), a territory's list of
//! sheets and the national list (filtered by entry door and Pacte
//! measure).
//!
//! The same rules as the other pages (`html.rs`): French, no script, the
//! same head and stylesheet, every text escaped, each line of a text a
//! paragraph, dates in words. Only what [`FichePubliee`] holds (the content
//! at the published heads) is shown: edits made since the publication
//! change nothing here.
//!
//! The Markdown export is a YAML front matter between `---` lines (every
//! string value written as a JSON string, which YAML reads) and one
//! `## <title>` per non-empty section, in [`SECTIONS`] order. A line of a
//! section that would end it or read as markup (starting with `#` or `\`
//! after its leading spaces, or made of `-` or `=` only) gets a backslash
//! before its first non-space character, which a Markdown reader shows as
//! the character itself and a parser removes ([`ligne_de_section`]), so
//! sections read back exactly.
//!
//! Does not: decide who reads a sheet, which version exists or whether it
//! is on the national list (the relay does), nor read documents.

use std::fmt::Write;

use jiff::tz::TimeZone;
use serde_json::{Value, json};

use super::Filtre;
use super::html::{CSS, echapper};
use crate::agenda::{Agenda, FichePubliee, SECTIONS, StatutFiche, Theme};
use crate::rythme::mots::date;
use crate::rythme::{DateHeure, FUSEAU_PAR_DEFAUT, Jour, Timestamp, fuseau};

/// A published sheet as one territory shows it.
#[derive(Debug, Clone, Copy)]
pub struct FicheAffichee<'a> {
    /// The sheet's document id.
    pub id: &'a str,
    /// The territory's document id (the address is under it).
    pub territoire: &'a str,
    /// The territory's name.
    pub nom_territoire: &'a str,
    /// The territory's time zone, for dates.
    pub fuseau: &'a str,
    /// Base URL of the relay, without a trailing slash.
    pub base_url: &'a str,
    /// The version shown.
    pub publiee: &'a FichePubliee,
    /// Admitted on the national list by the relay's team.
    pub nationale: bool,
    /// The territory's agenda, for the titles of the linked actions it
    /// holds (none on the lists, which do not show them).
    pub agenda: Option<&'a Agenda>,
}

impl FicheAffichee<'_> {
    /// `/t/{t}/fiches/{f}/`, relative to the relay.
    pub fn chemin(&self) -> String {
        format!("/t/{}/fiches/{}/", self.territoire, self.id)
    }

    /// The page's absolute address.
    pub fn adresse(&self) -> String {
        format!("{}{}", self.base_url, self.chemin())
    }

    fn jour(&self, millis: i64) -> Jour {
        let tz = fuseau(self.fuseau).or_else(|| fuseau(FUSEAU_PAR_DEFAUT)).unwrap_or(TimeZone::UTC);
        let instant = Timestamp::from_millisecond(millis).unwrap_or(Timestamp::UNIX_EPOCH);
        DateHeure::de_instant(instant, &tz).jour()
    }

    /// « 7 décembre 2026 ».
    fn date(&self, millis: i64) -> String {
        date(self.jour(millis), true)
    }
}

/// The head of every sheet page, up to `<main>`.
fn entete(h: &mut String, titre: &str, retour: &str, nom_retour: &str, alternatives: &str) {
    let _ = write!(
        h,
        "<!doctype html>\n<html lang=\"fr\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>{titre}</title>\n{alternatives}<style>{CSS}</style>\n</head>\n<body>\n<header>\n\
         <p><a href=\"{retour}\">{nom_retour}</a></p>\n"
    );
}

/// Each non-blank line of `texte` as an escaped paragraph.
fn paragraphes(h: &mut String, texte: &str) {
    for ligne in texte.lines().map(str::trim).filter(|l| !l.is_empty()) {
        let _ = writeln!(h, "<p>{}</p>", echapper(ligne));
    }
}

/// « Mesure 5 » for `M05`.
fn libelle_mesure(mesure: &str) -> String {
    format!("Mesure {}", mesure.trim_start_matches('M').trim_start_matches('0'))
}

fn valeur_json<T: serde::Serialize>(v: &T) -> String {
    serde_json::to_value(v).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default()
}

/// The page of a published version.
pub fn fiche_html(f: &FicheAffichee<'_>) -> String {
    let p = f.publiee;
    let c = &p.contenu;
    let (titre, nom) = (echapper(&c.titre), echapper(f.nom_territoire));
    let page = echapper(&f.adresse());
    let territoire = echapper(&format!("{}/t/{}/", f.base_url, f.territoire));
    let mut h = String::with_capacity(8192);
    let alternatives = format!(
        "<link rel=\"alternate\" type=\"application/json\" href=\"{0}\">\n\
         <link rel=\"alternate\" type=\"text/markdown\" href=\"{1}\">\n",
        echapper(&format!("{}/t/{}/fiches/{}.json", f.base_url, f.territoire, f.id)),
        echapper(&format!("{}/t/{}/fiches/{}.md", f.base_url, f.territoire, f.id)),
    );
    entete(&mut h, &format!("{titre} – {nom}"), &territoire, &nom, &alternatives);
    let _ = writeln!(h, "<h1>{titre}</h1>");
    let _ = write!(h, "<p>Fiche d'expérience de {nom}");
    if f.nationale {
        h.push_str(" · <strong>Publiée nationalement</strong>");
    }
    h.push_str("</p>\n");
    if !c.resume.trim().is_empty() {
        paragraphes(&mut h, &c.resume);
    }
    let _ = writeln!(
        h,
        "<p>Version du <time datetime=\"{}\">{}</time></p>\n</header>\n<main>",
        f.jour(p.version.le),
        f.date(p.version.le)
    );
    for (cle, libelle) in SECTIONS {
        let texte = c.section(cle);
        if texte.trim().is_empty() {
            continue;
        }
        let _ = writeln!(h, "<section aria-labelledby=\"{cle}\">\n<h2 id=\"{cle}\">{}</h2>", echapper(libelle));
        paragraphes(&mut h, texte);
        h.push_str("</section>\n");
    }

    let mut reperes = String::new();
    if !c.portes_entree.is_empty() {
        let portes: Vec<&str> = c.portes_entree.iter().map(|t| t.libelle()).collect();
        let _ = writeln!(reperes, "<li>Portes d'entrée\u{a0}: {}</li>", echapper(&portes.join(", ")));
    }
    if !c.mesures_pacte.is_empty() {
        let mesures: Vec<String> = c.mesures_pacte.iter().map(|m| libelle_mesure(m)).collect();
        let _ = writeln!(reperes, "<li>Pacte pour la transition\u{a0}: {}</li>", echapper(&mesures.join(", ")));
    }
    if !c.acteurs.is_empty() {
        let _ = writeln!(reperes, "<li>Acteurs\u{a0}: {}</li>", echapper(&c.acteurs.join(", ")));
    }
    if !reperes.is_empty() {
        let _ = write!(
            h,
            "<section aria-labelledby=\"reperes\">\n<h2 id=\"reperes\">Repères</h2>\n<ul>\n{reperes}</ul>\n</section>\n"
        );
    }
    // The territory's own actions by their title, public ones only
    // (another's page would be a 404, and a draft's title private);
    // another territory's action by its page.
    let mut liees = String::new();
    for a in &c.actions {
        let lien = format!("{}/t/{}/actions/{}/", f.base_url, a.territoire, a.action);
        let titre = match f.agenda.filter(|_| a.territoire == f.territoire) {
            Some(agenda) => match super::public(agenda).into_iter().find(|r| *r.id == a.action) {
                Some(r) => r.titre.to_owned(),
                None => continue,
            },
            None => "Une action d'un autre territoire".to_owned(),
        };
        let _ = writeln!(liees, "<li><a href=\"{}\">{}</a></li>", echapper(&lien), echapper(&titre));
    }
    if !liees.is_empty() {
        // The app takes them up as drafts in one's own territory.
        let app = format!("{}/#/t/{}/fiches/{}", f.base_url, f.territoire, f.id);
        let _ = write!(
            h,
            "<section aria-labelledby=\"actions\">\n<h2 id=\"actions\">Actions liées</h2>\n<ul>\n{liees}</ul>\n\
             <p><a href=\"{}\">S'inspirer de cette fiche dans l'application</a>\u{a0}: ses actions deviennent des \
             brouillons dans votre territoire.</p>\n</section>\n",
            echapper(&app)
        );
    }
    h.push_str("<section aria-labelledby=\"versions\">\n<h2 id=\"versions\">Versions publiées</h2>\n<ul>\n");
    for v in p.versions.iter().rev() {
        let quand = format!("{} (par {})", f.date(v.le), v.par);
        if v.id == p.version.id {
            let _ = writeln!(h, "<li>{} <span class=\"etat\">(affichée)</span></li>", echapper(&quand));
        } else {
            let _ = writeln!(h, "<li><a href=\"{page}?version={}\">{}</a></li>", echapper(&v.id), echapper(&quand));
        }
    }
    h.push_str("</ul>\n</section>\n</main>\n<footer>\n");
    if !p.contributeurs.is_empty() {
        let _ = writeln!(h, "<p>Écrite par {}.</p>", echapper(&p.contributeurs.join(", ")));
    }
    let _ = write!(
        h,
        "<p>Contenu sous licence <a href=\"{}\">{}</a> · <a href=\"{}\">Données (JSON)</a> · \
         <a href=\"{}\">Markdown</a> · <a href=\"{territoire}fiches/\">Toutes les fiches de {nom}</a></p>\n\
         </footer>\n</body>\n</html>\n",
        c.licence.adresse(),
        c.licence.libelle(),
        echapper(&format!("{}/t/{}/fiches/{}.json", f.base_url, f.territoire, f.id)),
        echapper(&format!("{}/t/{}/fiches/{}.md", f.base_url, f.territoire, f.id)),
    );
    h
}

/// « Cette fiche a été retirée le 7 décembre 2026. » and its reason.
fn phrase_retrait(f: &FicheAffichee<'_>) -> (String, String) {
    let retrait = f.publiee.retrait.as_ref();
    let le = retrait.map(|r| f.date(r.le)).unwrap_or_default();
    let motif = retrait.map(|r| r.motif.clone()).unwrap_or_default();
    (format!("Cette fiche a été retirée le {le}."), motif)
}

/// The page a withdrawn sheet answers (with the relay's 410).
pub fn fiche_retiree_html(f: &FicheAffichee<'_>) -> String {
    let (phrase, motif) = phrase_retrait(f);
    let (titre, nom) = (echapper(&f.publiee.contenu.titre), echapper(f.nom_territoire));
    let territoire = echapper(&format!("{}/t/{}/", f.base_url, f.territoire));
    let mut h = String::with_capacity(2048);
    entete(&mut h, &format!("Fiche retirée – {nom}"), &territoire, &nom, "");
    let _ = writeln!(h, "<h1>{titre}</h1>\n</header>\n<main>\n<p>{}</p>", echapper(&phrase));
    if !motif.trim().is_empty() {
        let _ = writeln!(h, "<p>Motif\u{a0}: {}</p>", echapper(&motif));
    }
    let _ = write!(
        h,
        "</main>\n<footer>\n<p><a href=\"{territoire}fiches/\">Les autres fiches de {nom}</a></p>\n</footer>\n</body>\n</html>\n"
    );
    h
}

/// `{"erreur": …}` for a withdrawn sheet.
pub fn fiche_retiree_json(f: &FicheAffichee<'_>) -> String {
    let (phrase, motif) = phrase_retrait(f);
    let erreur = if motif.trim().is_empty() { phrase } else { format!("{phrase} Motif\u{a0}: {motif}") };
    json!({ "erreur": erreur }).to_string()
}

/// The Markdown a withdrawn sheet answers.
pub fn fiche_retiree_markdown(f: &FicheAffichee<'_>) -> String {
    let (phrase, motif) = phrase_retrait(f);
    let mut m = format!("# {}\n\n{phrase}\n", ligne_de_section(&f.publiee.contenu.titre));
    if !motif.trim().is_empty() {
        for ligne in motif.split('\n') {
            let _ = write!(m, "\n{}", ligne_de_section(ligne));
        }
        m.push('\n');
    }
    m
}

/// The published version's JSON: [`FichePubliee`] with `id`, `territoire`
/// and `nationale`.
pub fn fiche_json(f: &FicheAffichee<'_>) -> String {
    let mut v = serde_json::to_value(f.publiee).unwrap_or(Value::Null);
    if let Value::Object(o) = &mut v {
        o.insert("id".into(), f.id.into());
        o.insert("territoire".into(), f.territoire.into());
        o.insert("nationale".into(), f.nationale.into());
    }
    v.to_string()
}

/// A line of a section as the Markdown export writes it: a backslash
/// before its first non-space character when it starts with `#` or `\`
/// or is made of `-` or `=` only (a heading, a thematic break, a setext
/// underline, the front matter's end).
pub fn ligne_de_section(ligne: &str) -> String {
    let espaces = ligne.len() - ligne.trim_start_matches(' ').len();
    let reste = &ligne[espaces..];
    let regle = |c: char| !reste.trim_end().is_empty() && reste.trim_end().chars().all(|x| x == c);
    if reste.starts_with('#') || reste.starts_with('\\') || regle('-') || regle('=') {
        format!("{}\\{reste}", &ligne[..espaces])
    } else {
        ligne.to_owned()
    }
}

/// A line of a section as read back from the export: the inverse of
/// [`ligne_de_section`].
pub fn ligne_lue(ligne: &str) -> String {
    let espaces = ligne.len() - ligne.trim_start_matches(' ').len();
    match ligne[espaces..].strip_prefix('\\') {
        Some(reste) => format!("{}{reste}", &ligne[..espaces]),
        None => ligne.to_owned(),
    }
}

/// The Markdown export of a published version.
pub fn fiche_markdown(f: &FicheAffichee<'_>) -> String {
    let p = f.publiee;
    let c = &p.contenu;
    let chaine = |s: &str| Value::from(s).to_string();
    let liste = |v: Vec<String>| Value::from(v).to_string();
    let mut m = String::with_capacity(4096);
    m.push_str("---\n");
    let _ = writeln!(m, "titre: {}", chaine(&c.titre));
    let _ = writeln!(m, "resume: {}", chaine(&c.resume));
    let _ = writeln!(m, "licence: {}", chaine(c.licence.libelle()));
    let _ = writeln!(m, "licence_url: {}", chaine(c.licence.adresse()));
    let _ = writeln!(m, "auteurs: {}", liste(p.contributeurs.clone()));
    let _ = writeln!(m, "version: {}", chaine(&f.jour(p.version.le).to_string()));
    let _ = writeln!(m, "version_id: {}", chaine(&p.version.id));
    let _ = writeln!(m, "territoires: {}", liste(p.territoires.clone()));
    let _ = writeln!(m, "portes_entree: {}", liste(c.portes_entree.iter().map(valeur_json).collect()));
    let _ = writeln!(m, "mesures_pacte: {}", liste(c.mesures_pacte.clone()));
    let _ = writeln!(m, "source: {}", chaine(&format!("{}?version={}", f.adresse(), p.version.id)));
    m.push_str("---\n");
    for (cle, libelle) in SECTIONS {
        let texte = c.section(cle);
        if texte.trim().is_empty() {
            continue;
        }
        let _ = write!(m, "\n## {libelle}\n\n");
        for ligne in texte.split('\n') {
            m.push_str(&ligne_de_section(ligne));
            m.push('\n');
        }
    }
    m
}

/// One line of a list's JSON.
fn entree_json(f: &FicheAffichee<'_>) -> Value {
    let c = &f.publiee.contenu;
    json!({
        "id": f.id,
        "titre": c.titre,
        "resume": c.resume,
        "portes_entree": c.portes_entree,
        "mesures_pacte": c.mesures_pacte,
        "licence": c.licence,
        "version": f.publiee.version,
        "nationale": f.nationale,
        "adresse": f.chemin(),
    })
}

/// `/t/{t}/fiches.json`: the territory's published sheets.
pub fn fiches_json(territoire: &str, nom: &str, fiches: &[FicheAffichee<'_>]) -> String {
    let liste: Vec<Value> = fiches.iter().map(entree_json).collect();
    json!({ "territoire": territoire, "nom": nom, "fiches": liste }).to_string()
}

/// `/fiches.json`: the national list, narrowed by `filtre`; each line
/// also names its territory.
pub fn fiches_nationales_json(fiches: &[FicheAffichee<'_>], filtre: &Filtre) -> String {
    let liste: Vec<Value> = fiches
        .iter()
        .filter(|f| filtre.garde_fiche(&f.publiee.contenu, f.agenda.and_then(|a| a.profil.as_ref())))
        .map(|f| {
            let mut v = entree_json(f);
            v["territoire"] = f.territoire.into();
            v["nom_territoire"] = f.nom_territoire.into();
            v
        })
        .collect();
    json!({ "fiches": liste }).to_string()
}

/// One sheet in a list page.
fn entree_html(h: &mut String, f: &FicheAffichee<'_>, avec_territoire: bool) {
    let c = &f.publiee.contenu;
    let _ = write!(h, "<li><a href=\"{}\">{}</a>", echapper(&f.adresse()), echapper(&c.titre));
    if avec_territoire {
        let _ = write!(h, " – {}", echapper(f.nom_territoire));
    }
    if f.nationale && !avec_territoire {
        h.push_str(" <span class=\"etat\">(publiée nationalement)</span>");
    }
    let _ = write!(
        h,
        " <span>(version du <time datetime=\"{}\">{}</time>)</span>",
        f.jour(f.publiee.version.le),
        f.date(f.publiee.version.le)
    );
    if !c.resume.trim().is_empty() {
        let _ = write!(h, "<br>{}", echapper(c.resume.trim()));
    }
    h.push_str("</li>\n");
}

/// `/t/{t}/fiches/`: the territory's published sheets.
pub fn fiches_html(territoire: &str, nom: &str, base_url: &str, fiches: &[FicheAffichee<'_>]) -> String {
    let (nom, page) = (echapper(nom), echapper(&format!("{base_url}/t/{territoire}/")));
    let mut h = String::with_capacity(4096);
    let alternatives = format!("<link rel=\"alternate\" type=\"application/json\" href=\"{page}fiches.json\">\n");
    entete(&mut h, &format!("Fiches d'expérience – {nom}"), &page, &nom, &alternatives);
    let _ = writeln!(h, "<h1>Fiches d'expérience – {nom}</h1>\n</header>\n<main>");
    if fiches.is_empty() {
        h.push_str("<p>Aucune fiche publiée pour l'instant.</p>\n");
    } else {
        h.push_str("<ul>\n");
        for f in fiches {
            entree_html(&mut h, f, false);
        }
        h.push_str("</ul>\n");
    }
    let _ = write!(
        h,
        "</main>\n<footer>\n<p><a href=\"{page}fiches.json\">Données (JSON)</a> · <a href=\"{page}\">Agenda de {nom}</a> · \
         <a href=\"{}/fiches/\">Fiches de tous les territoires</a></p>\n</footer>\n</body>\n</html>\n",
        echapper(base_url)
    );
    h
}

/// `/fiches/`: the sheets admitted nationally, narrowed by `filtre`, with
/// links to narrow them by entry door and by measure.
pub fn fiches_nationales_html(base_url: &str, fiches: &[FicheAffichee<'_>], filtre: &Filtre) -> String {
    let base = echapper(base_url);
    let mut h = String::with_capacity(4096);
    let alternatives = format!(
        "<link rel=\"alternate\" type=\"application/json\" href=\"{base}/fiches.json{}\">\n",
        echapper(&filtre.requete())
    );
    entete(
        &mut h,
        "Fiches d'expérience des territoires",
        &format!("{base}/territoires/"),
        "Les territoires",
        &alternatives,
    );
    h.push_str("<h1>Fiches d'expérience des territoires</h1>\n</header>\n<main>\n");

    h.push_str("<section aria-labelledby=\"filtres\">\n<h2 id=\"filtres\">Filtrer</h2>\n");
    let lien = |h: &mut String, f: Filtre, texte: &str, actif: bool| {
        if actif {
            let _ = writeln!(h, "<li><strong>{}</strong> (choisi)</li>", echapper(texte));
        } else {
            let _ =
                writeln!(h, "<li><a href=\"{base}/fiches/{}\">{}</a></li>", echapper(&f.requete()), echapper(texte));
        }
    };
    h.push_str("<p>Par porte d'entrée\u{a0}:</p>\n<ul>\n");
    lien(&mut h, Filtre { theme: None, ..filtre.clone() }, "Toutes", filtre.theme.is_none());
    for t in Theme::TOUS {
        lien(&mut h, Filtre { theme: Some(*t), ..filtre.clone() }, t.libelle(), filtre.theme == Some(*t));
    }
    h.push_str("</ul>\n<p>Par mesure du Pacte pour la transition\u{a0}:</p>\n<ul>\n");
    lien(&mut h, Filtre { mesure: None, ..filtre.clone() }, "Toutes", filtre.mesure.is_none());
    let mut mesures: Vec<&String> = fiches.iter().flat_map(|f| &f.publiee.contenu.mesures_pacte).collect();
    if let Some(m) = &filtre.mesure {
        mesures.push(m);
    }
    mesures.sort();
    mesures.dedup();
    for m in mesures {
        let actif = filtre.mesure.as_ref() == Some(m);
        lien(&mut h, Filtre { mesure: Some(m.clone()), ..filtre.clone() }, &libelle_mesure(m), actif);
    }
    h.push_str("</ul>\n</section>\n");

    h.push_str("<section aria-labelledby=\"liste\">\n<h2 id=\"liste\">Fiches</h2>\n");
    let gardees: Vec<&FicheAffichee<'_>> = fiches
        .iter()
        .filter(|f| filtre.garde_fiche(&f.publiee.contenu, f.agenda.and_then(|a| a.profil.as_ref())))
        .collect();
    if gardees.is_empty() {
        h.push_str("<p>Aucune fiche ne correspond.</p>\n");
    } else {
        h.push_str("<ul>\n");
        for f in gardees {
            entree_html(&mut h, f, true);
        }
        h.push_str("</ul>\n");
    }
    let _ = write!(
        h,
        "</section>\n</main>\n<footer>\n<p><a href=\"{base}/fiches.json{}\">Données (JSON)</a></p>\n</footer>\n</body>\n</html>\n",
        echapper(&filtre.requete())
    );
    h
}

/// Whether `publiee` is withdrawn (its pages answer 410).
pub fn fiche_retiree(publiee: &FichePubliee) -> bool {
    publiee.statut == StatutFiche::Retiree
}

#[cfg(test)]
mod tests;
