//! Experience sheets over HTTP: per territory `/t/{id}/fiches/` and
//! `/t/{id}/fiches.json` (its published sheets), `/t/{id}/fiches/{fiche}/`
//! (`?version=` for an earlier one), `/t/{id}/fiches/{fiche}.json` and
//! `.md`; national `/fiches/` and `/fiches.json` (the sheets the relay's
//! team admitted, `crate::fiches`, filtered like the directory (`?theme=`, `?mesure=`, and the territory's `type`, `departement`, `reseau`)).
//! The texts are `sync_core::flux::fiche`'s.
//!
//! Access is the territory's feeds' (`mod.rs`): a public territory for
//! anyone, a private one with `?token=`, the same 404 otherwise. A sheet
//! shows under territory T only if T lists it (`documents/<id>`, kind
//! `fiche`) and the sheet names T: neither side alone puts a sheet on
//! another territory's pages. Never published, or an unknown `?version=`:
//! the feeds' 404. Withdrawn: 410, with the page, JSON `{"erreur"}` or
//! Markdown saying when and why.
//!
//! A sheet is no territory of the relay, so it has its own version probe
//! (the hash of its stored chunks' names, as a territory's) and its own
//! cache of read models ([`Cache`]: the document and its latest
//! publication), least recently used out beyond the feeds' bound; every
//! rendered body is kept with its version. Loads and renders go through
//! the feeds' semaphore (`render`). Bounds: a territory lists at most
//! `DOCUMENTS_MAX` documents, the national list reads at most
//! `NATIONALES_MAX` rows; ids and versions are checked before any lookup.

use std::collections::{HashMap, HashSet};
use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::extract::rejection::QueryRejection;
use axum::extract::{ConnectInfo, Path as UrlPath, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use sync_core::agenda::{FichePubliee, fiche_publiee, territoires_de_fiche};
use sync_core::automerge::Automerge;
use sync_core::flux::{self, FicheAffichee, Filtre};
use sync_core::{Access, DocumentId};
use tokio::sync::OnceCell;

use super::{Read, Version, cache_control, chunk_version, etag, matches, not_modified, read, render};
use crate::app::{AppState, admit};
use crate::error::{HttpError, Source};
use crate::store::open_read_only;

/// Bodies kept per cached sheet (kinds × versions × base URLs).
const BODIES_PER_SHEET: usize = 16;

/// Longest `?version=` (a version id is 16 hex digits).
const VERSION_MAX: usize = 64;

/// The routes, merged into the feeds'.
pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route("/t/{id}/fiches/", get(liste_territoire_html))
        .route("/t/{id}/fiches.json", get(liste_territoire_json))
        .route("/t/{id}/fiches/{file}", get(fichier))
        .route("/t/{id}/fiches/{fiche}/", get(page))
        .route("/fiches/", get(|s, h, q| nationale(s, h, q, Sorte::Html)))
        .route("/fiches.json", get(|s, h, q| nationale(s, h, q, Sorte::Json)))
}

/// What is asked of one sheet, or of a list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Sorte {
    Html,
    Json,
    Markdown,
}

impl Sorte {
    fn content_type(self) -> &'static str {
        match self {
            Sorte::Html => "text/html; charset=utf-8",
            Sorte::Json => "application/json; charset=utf-8",
            Sorte::Markdown => "text/markdown; charset=utf-8",
        }
    }
}

// ---------------------------------------------------------------------------
// The cache of sheets.

/// One sheet's read model at one stored version.
struct Lue {
    /// The document, for earlier versions (`fiche_publiee` forks it).
    am: Mutex<Automerge>,
    /// The territories it names.
    territoires: Vec<DocumentId>,
    /// Its latest publication, if any.
    derniere: Option<FichePubliee>,
}

/// A rendered answer: status and body.
type Rendu = Arc<(StatusCode, String)>;

/// Key of a rendered answer: kind, `?version=`, base URL, national, and
/// the territory's id and version (its name is on the page).
type CleRendu = (Sorte, Option<String>, String, bool, DocumentId, Version);

struct Entree {
    lue: OnceCell<Option<Arc<Lue>>>,
    rendus: Mutex<Vec<(CleRendu, Arc<OnceCell<Rendu>>)>>,
}

/// The sheets' cached versions.
pub(super) struct Cache(super::CacheDeVersions<Entree>);

impl Cache {
    pub(super) fn new(max: usize) -> Cache {
        Cache(super::CacheDeVersions::new(max))
    }

    fn entree(&self, fiche: &DocumentId, version: Version) -> Arc<Entree> {
        self.0.entree(fiche, version, || Entree { lue: OnceCell::new(), rendus: Mutex::new(Vec::new()) })
    }
}

impl Entree {
    fn slot(&self, cle: CleRendu) -> Arc<OnceCell<Rendu>> {
        let mut rendus = self.rendus.lock().unwrap_or_else(|p| p.into_inner());
        if let Some((_, slot)) = rendus.iter().find(|(k, _)| *k == cle) {
            return slot.clone();
        }
        let slot = Arc::new(OnceCell::new());
        rendus.push((cle, slot.clone()));
        if rendus.len() > BODIES_PER_SHEET {
            rendus.remove(0);
        }
        slot
    }
}

/// The read model of sheet `fiche` at `entree`'s version, loaded once.
async fn lue(state: &AppState, entree: &Entree, fiche: &DocumentId) -> Result<Option<Arc<Lue>>, HttpError> {
    let lue = entree
        .lue
        .get_or_try_init(|| async {
            let (storage, fiche) = (state.storage.clone(), fiche.clone());
            state.metrics.feed_documents_read.fetch_add(1, Ordering::Relaxed);
            let charge = render(state, move || -> Result<Option<Lue>, String> {
                let entries = storage.reader().and_then(|mut r| r.entries(&fiche)).map_err(|e| e.to_string())?;
                let am = sync_core::load_chunks(&fiche, entries);
                if am.get_heads().is_empty() {
                    return Ok(None);
                }
                let territoires = territoires_de_fiche(&am);
                let derniere = fiche_publiee(&am, None).ok().flatten();
                Ok(Some(Lue { am: Mutex::new(am), territoires, derniere }))
            })
            .await?;
            charge.map(|l| l.map(Arc::new)).map_err(|e| HttpError::Unavailable(Source::Feed, e))
        })
        .await?;
    Ok(lue.clone())
}

/// The stored versions of `fiches` (off the async threads), `None` for
/// one with no chunk; and which of them are on the national list, with
/// their territory.
async fn sonder(
    state: &AppState,
    fiches: Vec<DocumentId>,
) -> Result<(Vec<(DocumentId, Option<Version>)>, Vec<(DocumentId, DocumentId)>), HttpError> {
    let (storage, data_dir) = (state.storage.clone(), state.data_dir.clone());
    let probe = tokio::task::spawn_blocking(move || -> Result<_, String> {
        let mut reader = storage.reader().map_err(|e| e.to_string())?;
        let mut versions = Vec::with_capacity(fiches.len());
        for fiche in fiches {
            let v = chunk_version(reader.as_mut(), &fiche)?;
            versions.push((fiche, v));
        }
        let conn = open_read_only(&data_dir).map_err(|e| e.to_string())?;
        let admises = crate::fiches::admises(&conn).map_err(|e| e.to_string())?;
        Ok((versions, admises))
    })
    .await;
    HttpError::or_unavailable(Source::Feed, probe)
}

// ---------------------------------------------------------------------------
// A territory's sheets.

/// A territory the request may read.
struct Territoire {
    doc: DocumentId,
    version: Version,
    read: Arc<Read>,
    with_token: bool,
}

/// The query string of the sheets' routes.
#[derive(Debug, serde::Deserialize)]
struct FicheQuery {
    token: Option<String>,
    version: Option<String>,
}

/// Territory `id` if the request may read its feeds (as `mod.rs`'s
/// `territory`: public, or a token of it; the same 404 otherwise).
async fn territoire(
    state: &AppState,
    from: SocketAddr,
    headers: &HeaderMap,
    id: &str,
    token: Option<String>,
) -> Result<Territoire, HttpError> {
    let token = token.filter(|t| !t.is_empty());
    let with_token = token.is_some();
    let grants = match token {
        Some(token) => admit(&state.gate, state.gate.client_address(from, headers), Some(token)).await?.grants,
        None => Vec::new(),
    };
    let doc = id.parse::<DocumentId>().map_err(|_| HttpError::NoFeed)?;
    let version = super::stored_version(state, &doc).await?;
    let granted = crate::gate::access(&crate::gate::Pass::granted(grants), &doc) != Access::Denied;
    let entry = state.feeds.cache.entry(&doc, version);
    let read = read(state, &entry, &doc).await?.ok_or(HttpError::NoFeed)?;
    if !granted && !read.public {
        return Err(HttpError::NoFeed);
    }
    Ok(Territoire { doc, version, read, with_token })
}

impl Territoire {
    fn nom(&self) -> &str {
        self.read.agenda.profil.as_ref().map_or("", |p| p.nom.as_str())
    }

    fn fuseau(&self) -> &str {
        self.read.agenda.profil.as_ref().map_or(sync_core::rythme::FUSEAU_PAR_DEFAUT, |p| p.fuseau.as_str())
    }
}

async fn liste_territoire_html(
    state: State<AppState>,
    from: ConnectInfo<SocketAddr>,
    UrlPath(id): UrlPath<String>,
    Query(q): Query<FicheQuery>,
    headers: HeaderMap,
) -> Result<Response, HttpError> {
    liste_territoire(state, from, id, q.token, headers, Sorte::Html).await
}

async fn liste_territoire_json(
    state: State<AppState>,
    from: ConnectInfo<SocketAddr>,
    UrlPath(id): UrlPath<String>,
    Query(q): Query<FicheQuery>,
    headers: HeaderMap,
) -> Result<Response, HttpError> {
    liste_territoire(state, from, id, q.token, headers, Sorte::Json).await
}

/// `/t/{id}/fiches/` and `.json`: the published, not withdrawn, sheets
/// the territory lists and that name it.
async fn liste_territoire(
    State(state): State<AppState>,
    ConnectInfo(from): ConnectInfo<SocketAddr>,
    id: String,
    token: Option<String>,
    headers: HeaderMap,
    sorte: Sorte,
) -> Result<Response, HttpError> {
    let t = territoire(&state, from, &headers, &id, token).await?;
    let base = state.feeds.site.base(&headers);
    let (versions, admises) = sonder(&state, t.read.fiches.clone()).await?;
    let nationales: HashSet<&DocumentId> =
        admises.iter().filter(|(_, terr)| *terr == t.doc && t.read.public).map(|(f, _)| f).collect();
    let mut empreinte: Vec<Vec<u8>> = vec![t.version.to_vec()];
    for (fiche, v) in &versions {
        let nationale = nationales.contains(fiche);
        empreinte.push([fiche.to_string().as_bytes(), &v.unwrap_or_default()[..], &[u8::from(nationale)]].concat());
    }
    let refs: Vec<&[u8]> = empreinte.iter().map(Vec::as_slice).collect();
    let etag = etag(&refs, super::Kind::Html, sorte as i64, &format!("fiches/{}", base.url));
    let cache = cache_control(t.with_token, &base);
    if matches(&headers, &etag) {
        return Ok(not_modified(&etag, cache));
    }
    let mut lues: Vec<(DocumentId, Arc<Lue>, bool)> = Vec::new();
    for (fiche, v) in versions {
        let Some(v) = v else { continue };
        let entree = state.feeds.fiches.entree(&fiche, v);
        if let Some(l) = lue(&state, &entree, &fiche).await? {
            let nationale = nationales.contains(&fiche);
            lues.push((fiche, l, nationale));
        }
    }
    let url = base.url.clone();
    let corps = render(&state, move || {
        let ids: Vec<String> = lues.iter().map(|(f, _, _)| f.to_string()).collect();
        let doc = t.doc.to_string();
        let affichees: Vec<FicheAffichee<'_>> = lues
            .iter()
            .zip(&ids)
            .filter(|((_, l, _), _)| l.territoires.contains(&t.doc))
            .filter_map(|((_, l, nationale), id)| {
                let p = l.derniere.as_ref().filter(|p| !flux::fiche_retiree(p))?;
                Some(FicheAffichee {
                    id,
                    territoire: &doc,
                    nom_territoire: t.nom(),
                    fuseau: t.fuseau(),
                    base_url: &url,
                    publiee: p,
                    nationale: *nationale,
                    agenda: None,
                })
            })
            .collect();
        match sorte {
            Sorte::Json => flux::fiches_json(&doc, t.nom(), &affichees),
            _ => flux::fiches_html(&doc, t.nom(), &url, &affichees),
        }
    })
    .await?;
    Ok(repondre(sorte, StatusCode::OK, &etag, cache, &corps))
}

async fn page(
    state: State<AppState>,
    from: ConnectInfo<SocketAddr>,
    UrlPath((id, fiche)): UrlPath<(String, String)>,
    Query(q): Query<FicheQuery>,
    headers: HeaderMap,
) -> Result<Response, HttpError> {
    une_fiche(state, from, id, fiche, q, headers, Sorte::Html).await
}

async fn fichier(
    state: State<AppState>,
    from: ConnectInfo<SocketAddr>,
    UrlPath((id, file)): UrlPath<(String, String)>,
    Query(q): Query<FicheQuery>,
    headers: HeaderMap,
) -> Result<Response, HttpError> {
    let (fiche, sorte) = match (file.strip_suffix(".json"), file.strip_suffix(".md")) {
        (Some(f), _) => (f.to_owned(), Sorte::Json),
        (_, Some(f)) => (f.to_owned(), Sorte::Markdown),
        _ => return Err(HttpError::NoFeed),
    };
    une_fiche(state, from, id, fiche, q, headers, sorte).await
}

/// One sheet of territory `id`, at its latest or `?version=` publication.
async fn une_fiche(
    State(state): State<AppState>,
    ConnectInfo(from): ConnectInfo<SocketAddr>,
    id: String,
    fiche: String,
    q: FicheQuery,
    headers: HeaderMap,
    sorte: Sorte,
) -> Result<Response, HttpError> {
    // Checked before anything else: a malformed sheet id or version costs
    // no token check, no query and no load.
    let fiche = fiche.parse::<DocumentId>().map_err(|_| HttpError::NoFeed)?;
    let version = match q.version.filter(|v| !v.is_empty()) {
        Some(v) if v.len() > VERSION_MAX || !v.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-') => {
            return Err(HttpError::NoFeed);
        }
        v => v,
    };
    let t = territoire(&state, from, &headers, &id, q.token).await?;
    if !t.read.fiches.contains(&fiche) {
        return Err(HttpError::NoFeed);
    }
    let (versions, admises) = sonder(&state, vec![fiche.clone()]).await?;
    let v = versions.first().and_then(|(_, v)| *v).ok_or(HttpError::NoFeed)?;
    // On the national list only while its territory is public.
    let nationale = t.read.public && admises.contains(&(fiche.clone(), t.doc.clone()));
    let base = state.feeds.site.base(&headers);
    let cache = cache_control(t.with_token, &base);
    let quoi = format!("{fiche}\0{}\0{}", version.as_deref().unwrap_or(""), u8::from(nationale));
    let etag = etag(&[&t.version, &v, quoi.as_bytes()], super::Kind::Html, sorte as i64 + 10, &base.url);
    if matches(&headers, &etag) {
        return Ok(not_modified(&etag, cache));
    }
    let entree = state.feeds.fiches.entree(&fiche, v);
    let l = lue(&state, &entree, &fiche).await?.ok_or(HttpError::NoFeed)?;
    if !l.territoires.contains(&t.doc) {
        return Err(HttpError::NoFeed);
    }
    let cle = (sorte, version.clone(), base.url.clone(), nationale, t.doc.clone(), t.version);
    let slot = entree.slot(cle);
    let url = base.url.clone();
    let rendu = slot
        .get_or_try_init(|| async move {
            state.metrics.feed_renders.fetch_add(1, Ordering::Relaxed);
            render(&state, move || {
                let publiee = {
                    let am = l.am.lock().unwrap_or_else(|p| p.into_inner());
                    fiche_publiee(&am, version.as_deref())
                };
                let Ok(Some(p)) = publiee else { return Arc::new((StatusCode::NOT_FOUND, String::new())) };
                let (id, doc) = (fiche.to_string(), t.doc.to_string());
                let f = FicheAffichee {
                    id: &id,
                    territoire: &doc,
                    nom_territoire: t.nom(),
                    fuseau: t.fuseau(),
                    base_url: &url,
                    publiee: &p,
                    nationale,
                    agenda: Some(&t.read.agenda),
                };
                let retiree = flux::fiche_retiree(&p);
                let corps = match (sorte, retiree) {
                    (Sorte::Html, false) => flux::fiche_html(&f),
                    (Sorte::Json, false) => flux::fiche_json(&f),
                    (Sorte::Markdown, false) => flux::fiche_markdown(&f),
                    (Sorte::Html, true) => flux::fiche_retiree_html(&f),
                    (Sorte::Json, true) => flux::fiche_retiree_json(&f),
                    (Sorte::Markdown, true) => flux::fiche_retiree_markdown(&f),
                };
                Arc::new((if retiree { StatusCode::GONE } else { StatusCode::OK }, corps))
            })
            .await
        })
        .await?
        .clone();
    match rendu.0 {
        StatusCode::NOT_FOUND => Err(HttpError::NoFeed),
        status => Ok(repondre(sorte, status, &etag, cache, &rendu.1)),
    }
}

// ---------------------------------------------------------------------------
// The national list.

/// `/fiches/` and `/fiches.json`: the admitted sheets still published,
/// of public territories of this relay that list them and that they name.
async fn nationale(
    State(state): State<AppState>,
    headers: HeaderMap,
    query: Result<Query<Vec<(String, String)>>, QueryRejection>,
    sorte: Sorte,
) -> Result<Response, HttpError> {
    let Query(paires) = query.map_err(|_| HttpError::Invalide("adresse illisible\u{a0}: filtres attendus".into()))?;
    let filtre = Filtre::depuis(&paires).map_err(|e| HttpError::Invalide(e.to_string()))?;
    let (tous, _) = super::territories(&state).await?;
    let publics: HashMap<DocumentId, (Version, Arc<Read>)> =
        tous.into_iter().filter(|(_, _, r)| r.public).map(|(d, v, r)| (d, (v, r))).collect();
    let (_, admises) = sonder(&state, Vec::new()).await?;
    let admises: Vec<(DocumentId, DocumentId)> =
        admises.into_iter().filter(|(f, t)| publics.get(t).is_some_and(|(_, r)| r.fiches.contains(f))).collect();
    let (versions, _) = sonder(&state, admises.iter().map(|(f, _)| f.clone()).collect()).await?;
    let base = state.feeds.site.base(&headers);
    let mut empreinte: Vec<Vec<u8>> = Vec::new();
    for ((fiche, t), (_, v)) in admises.iter().zip(&versions) {
        let tv = publics.get(t).map(|(v, _)| *v).unwrap_or_default();
        empreinte.push([fiche.to_string().as_bytes(), t.to_string().as_bytes(), &tv, &v.unwrap_or_default()].concat());
    }
    let refs: Vec<&[u8]> = empreinte.iter().map(Vec::as_slice).collect();
    let etag = etag(&refs, super::Kind::Html, sorte as i64 + 20, &format!("{}{}", base.url, filtre.requete()));
    let cache = cache_control(false, &base);
    if matches(&headers, &etag) {
        return Ok(not_modified(&etag, cache));
    }
    let mut lues: Vec<(DocumentId, DocumentId, Arc<Lue>, Arc<Read>)> = Vec::new();
    for ((fiche, t), (_, v)) in admises.into_iter().zip(versions) {
        let (Some(v), Some((_, read))) = (v, publics.get(&t)) else { continue };
        let entree = state.feeds.fiches.entree(&fiche, v);
        if let Some(l) = lue(&state, &entree, &fiche).await?
            && l.territoires.contains(&t)
        {
            lues.push((fiche, t, l, read.clone()));
        }
    }
    let url = base.url.clone();
    let corps = render(&state, move || {
        let ids: Vec<(String, String)> = lues.iter().map(|(f, t, _, _)| (f.to_string(), t.to_string())).collect();
        let fuseau = |r: &Read| {
            r.agenda.profil.as_ref().map_or(sync_core::rythme::FUSEAU_PAR_DEFAUT, |p| p.fuseau.as_str()).to_owned()
        };
        let noms: Vec<(String, String)> = lues
            .iter()
            .map(|(_, _, _, r)| (r.agenda.profil.as_ref().map(|p| p.nom.clone()).unwrap_or_default(), fuseau(r)))
            .collect();
        let affichees: Vec<FicheAffichee<'_>> = lues
            .iter()
            .zip(&ids)
            .zip(&noms)
            .filter_map(|(((_, _, l, r), (id, t)), (nom, fuseau))| {
                let p = l.derniere.as_ref().filter(|p| !flux::fiche_retiree(p))?;
                Some(FicheAffichee {
                    id,
                    territoire: t,
                    nom_territoire: nom,
                    fuseau,
                    base_url: &url,
                    publiee: p,
                    nationale: true,
                    // The filter's territory criteria read its profile.
                    agenda: Some(&r.agenda),
                })
            })
            .collect();
        match sorte {
            Sorte::Json => flux::fiches_nationales_json(&affichees, &filtre),
            _ => flux::fiches_nationales_html(&url, &affichees, &filtre),
        }
    })
    .await?;
    Ok(repondre(sorte, StatusCode::OK, &etag, cache, &corps))
}

fn repondre(sorte: Sorte, status: StatusCode, etag: &str, cache: &'static str, corps: &str) -> Response {
    let mut response = (status, corps.to_owned()).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(sorte.content_type()));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    if let Ok(value) = HeaderValue::from_str(etag) {
        headers.insert(header::ETAG, value);
    }
    response
}
