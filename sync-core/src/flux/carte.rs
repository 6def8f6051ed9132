//! The map of départements drawn in the directory page `/territoires/`:
//! each département (metropolitan, and the overseas ones in boxes of their
//! own) a link to its filter whose accessible name says its count, the
//! count also written on it, never colour alone.
//!
//! The geometry comes from open sources and is built with the web app
//! (`web/carte/departements.mjs`, which credits them), as JSON:
//! `{ vue, credit, departements: [{ code, d, x, y }], encarts: [{ code, x,
//! y, l, h }] }`. [`Carte::lire`] checks it before anything is drawn: known
//! codes only, each once, paths of plain `M`/`l`/`z` commands and numbers,
//! bounded sizes; so a page never carries markup it did not write.
//!
//! Does not: read files (the relay hands the text), or count territories
//! (the directory does).

use std::collections::{BTreeMap, HashSet};
use std::fmt::Write;

use serde::Deserialize;

use super::annuaire::pluriel;
use super::html::echapper;
use crate::agenda::{DEPARTEMENTS, Departement, departement};

/// The largest map text [`Carte::lire`] reads.
pub const CARTE_MAX_OCTETS: usize = 512 * 1024;
/// The longest outline of one département.
const CHEMIN_MAX: usize = 20_000;
/// The longest credit line.
const CREDIT_MAX: usize = 400;

/// Why a map was not taken.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CarteError {
    /// More than [`CARTE_MAX_OCTETS`].
    #[error("carte trop grande ({0} octets)")]
    TropGrande(usize),
    /// Not the JSON described in the module documentation.
    #[error("carte illisible\u{a0}: {0}")]
    Illisible(String),
    /// A code that is no département, or one given twice.
    #[error("carte\u{a0}: département inconnu ou répété «\u{a0}{0}\u{a0}»")]
    Departement(String),
    /// An outline, box or view that is not plain numbers and commands.
    #[error("carte\u{a0}: tracé invalide pour «\u{a0}{0}\u{a0}»")]
    Trace(String),
}

#[derive(Deserialize)]
struct Brute {
    vue: String,
    credit: String,
    departements: Vec<TraceBrute>,
    #[serde(default)]
    encarts: Vec<EncartBrut>,
}

#[derive(Deserialize)]
struct TraceBrute {
    code: String,
    d: String,
    x: f32,
    y: f32,
}

#[derive(Deserialize)]
struct EncartBrut {
    code: String,
    x: f32,
    y: f32,
    l: f32,
    h: f32,
}

/// One département's outline and where its count is written.
#[derive(Debug, Clone, PartialEq)]
struct Trace {
    departement: &'static Departement,
    d: String,
    x: f32,
    y: f32,
}

/// A checked map (see the module documentation).
#[derive(Debug, Clone, PartialEq)]
pub struct Carte {
    vue: [f32; 4],
    credit: String,
    traces: Vec<Trace>,
    /// The boxes around overseas départements: theirs, and (x, y, width,
    /// height).
    encarts: Vec<(&'static Departement, [f32; 4])>,
}

fn fini(v: &[f32]) -> bool {
    v.iter().all(|x| x.is_finite() && x.abs() < 100_000.0)
}

impl Carte {
    /// Checks the map's JSON text (see the module documentation).
    pub fn lire(texte: &str) -> Result<Carte, CarteError> {
        if texte.len() > CARTE_MAX_OCTETS {
            return Err(CarteError::TropGrande(texte.len()));
        }
        let brute: Brute = serde_json::from_str(texte).map_err(|e| CarteError::Illisible(e.to_string()))?;
        let vue: Vec<f32> = brute.vue.split(' ').map(|n| n.parse().unwrap_or(f32::NAN)).collect();
        let vue: [f32; 4] = vue.try_into().map_err(|_| CarteError::Trace("vue".into()))?;
        if !fini(&vue) || vue[2] <= 0.0 || vue[3] <= 0.0 {
            return Err(CarteError::Trace("vue".into()));
        }
        if brute.credit.chars().count() > CREDIT_MAX || brute.departements.len() > DEPARTEMENTS.len() {
            return Err(CarteError::Illisible("crédit ou liste trop longs".into()));
        }
        let coupe = |code: &str| code.chars().take(8).collect::<String>();
        let mut vus = HashSet::new();
        let mut traces = Vec::with_capacity(brute.departements.len());
        for t in brute.departements {
            let departement = departement(&t.code)
                .filter(|d| vus.insert(d.code))
                .ok_or_else(|| CarteError::Departement(coupe(&t.code)))?;
            let commandes = |c: char| matches!(c, 'M' | 'l' | 'z' | ' ' | '.' | '-') || c.is_ascii_digit();
            if t.d.len() > CHEMIN_MAX || !t.d.starts_with('M') || !t.d.chars().all(commandes) || !fini(&[t.x, t.y]) {
                return Err(CarteError::Trace(departement.code.into()));
            }
            traces.push(Trace { departement, d: t.d, x: t.x, y: t.y });
        }
        if brute.encarts.len() > DEPARTEMENTS.len() {
            return Err(CarteError::Illisible("trop d'encarts".into()));
        }
        let mut encarts = Vec::with_capacity(brute.encarts.len());
        for e in brute.encarts {
            let boite = [e.x, e.y, e.l, e.h];
            let Some(d) = departement(&e.code) else { return Err(CarteError::Departement(coupe(&e.code))) };
            if !fini(&boite) || e.l <= 0.0 || e.h <= 0.0 {
                return Err(CarteError::Trace(coupe(&e.code)));
            }
            encarts.push((d, boite));
        }
        Ok(Carte { vue, credit: brute.credit, traces, encarts })
    }

    /// The map as the app reads it (`/carte-departements.json` on the
    /// relay): the checked JSON, each département with its name from
    /// [`DEPARTEMENTS`], so the app needs no table of its own.
    pub fn json(&self) -> String {
        let [x, y, l, h] = self.vue;
        serde_json::json!({
            "vue": format!("{x} {y} {l} {h}"),
            "credit": self.credit,
            "departements": self.traces.iter().map(|t| serde_json::json!({
                "code": t.departement.code, "nom": t.departement.nom, "d": t.d, "x": t.x, "y": t.y,
            })).collect::<Vec<_>>(),
            "encarts": self.encarts.iter()
                .map(|(d, [x, y, l, h])| serde_json::json!({ "code": d.code, "x": x, "y": y, "l": l, "h": h }))
                .collect::<Vec<_>>(),
        })
        .to_string()
    }

    /// The map as inline SVG in a `<figure>`: each département a link to
    /// `/territoires/?departement=<code>` named « <nom> (<code>)\u{a0}: N
    /// territoires », the count written on those that have territories,
    /// shaded by it, `choisi` outlined; the sources credited below.
    pub fn svg(&self, h: &mut String, comptes: &BTreeMap<&str, usize>, choisi: Option<&str>) {
        let [x, y, l, ht] = self.vue;
        let _ = write!(
            h,
            "<figure class=\"carte-departements\">\n<svg viewBox=\"{x} {y} {l} {ht}\" role=\"group\" \
             aria-label=\"Carte des départements\" xmlns=\"http://www.w3.org/2000/svg\">\n"
        );
        for (_, [x, y, l, ht]) in &self.encarts {
            let _ = writeln!(h, "<rect class=\"encart\" x=\"{x}\" y=\"{y}\" width=\"{l}\" height=\"{ht}\"/>");
        }
        for t in &self.traces {
            let d = t.departement;
            let n = comptes.get(d.code).copied().unwrap_or(0);
            let teinte = match n {
                0 => 0,
                1 => 1,
                2..=4 => 2,
                _ => 3,
            };
            let choisi = if choisi == Some(d.code) { " choisi" } else { "" };
            let _ = write!(
                h,
                "<a href=\"/territoires/?departement={}\" class=\"n{teinte}{choisi}\" aria-label=\"{} ({})\u{a0}: {}\">\
                 <path d=\"{}\"/>",
                d.code,
                echapper(d.nom),
                d.code,
                pluriel(n, "territoire", "territoires"),
                t.d
            );
            if n > 0 {
                let _ = write!(h, "<text x=\"{}\" y=\"{}\" aria-hidden=\"true\">{n}</text>", t.x, t.y);
            }
            h.push_str("</a>\n");
        }
        let _ = write!(h, "</svg>\n<figcaption>{}</figcaption>\n</figure>\n", echapper(&self.credit));
    }
}

/// The map's styles, for the directory page's stylesheet.
pub(super) const CSS: &str = ".carte-departements{margin:1rem 0}.carte-departements svg{width:100%;height:auto;max-width:40rem}\
.carte-departements path{fill-rule:evenodd;stroke:#fff;stroke-width:.6}.carte-departements .n0 path{fill:#e6ebe6}\
.carte-departements :is(.n1,.n2,.n3) path{stroke:#1d5236;stroke-width:1.2}.carte-departements .n1 path{fill:#bcdcc1}.carte-departements .n2 path{fill:#8cc596}.carte-departements .n3 path{fill:#5fae6c}\
.carte-departements a:hover path,.carte-departements a:focus path,.carte-departements .choisi path{stroke:#1a1a1a;stroke-width:2}\
.carte-departements text{font:bold 18px system-ui,sans-serif;fill:#1a1a1a;text-anchor:middle;dominant-baseline:middle;paint-order:stroke;stroke:#fff;stroke-width:4px}\
.carte-departements .encart{fill:none;stroke:#999}.carte-departements figcaption{font-size:.8rem;color:#555}";
