//! Large feed bodies compressed once, not on every request.
//!
//! The router's compression layer compresses each response as it goes,
//! which is right for small bodies and ruinous for the national feeds: the
//! agenda of a hundred territories is megabytes, and anyone may ask for it
//! again and again. Here a body of at least [`SEUIL`] bytes is compressed
//! once per `ETag` and encoding (brotli if the request accepts it, else
//! gzip), on the render pool, and kept with the last [`GARDES`] others;
//! the response says `Content-Encoding`, so the layer leaves it alone.
//! Smaller bodies, and requests that accept neither, go through unchanged.

use std::sync::Arc;

use axum::body::Bytes;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::Response;
use tokio::sync::OnceCell;

use super::{Bodies, body_slot, render};
use crate::app::AppState;
use crate::error::HttpError;

/// Bodies under this size are left to the compression layer.
pub(super) const SEUIL: usize = 64 * 1024;

/// Compressed bodies kept, across feeds and encodings.
const GARDES: usize = 16;

/// Brotli's quality: 5 compresses megabytes in tens of milliseconds, within
/// a few percent of gzip's best size below brotli's slow levels.
const QUALITE_BROTLI: i32 = 5;

/// An encoding the feeds compress to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Codage {
    Brotli,
    Gzip,
}

impl Codage {
    fn nom(self) -> &'static str {
        match self {
            Codage::Brotli => "br",
            Codage::Gzip => "gzip",
        }
    }

    /// The encoding to send: brotli if accepted, else gzip, else none
    /// (`Accept-Encoding`, with `q=0` meaning refused).
    fn choisi(headers: &HeaderMap) -> Option<Codage> {
        let acceptes: Vec<(String, bool)> = headers
            .get_all(header::ACCEPT_ENCODING)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .map(|item| {
                let item = item.to_ascii_lowercase();
                let mut parts = item.split(';');
                let nom = parts.next().unwrap_or_default().trim().to_owned();
                let refuse = parts.any(|p| {
                    p.trim().strip_prefix("q=").is_some_and(|q| q.trim().parse::<f32>().is_ok_and(|q| q <= 0.0))
                });
                (nom, !refuse)
            })
            .collect();
        let accepte = |codage: Codage| {
            let explicite = acceptes.iter().find(|(nom, _)| nom == codage.nom()).map(|(_, ok)| *ok);
            explicite.unwrap_or_else(|| acceptes.iter().any(|(nom, ok)| nom == "*" && *ok))
        };
        [Codage::Brotli, Codage::Gzip].into_iter().find(|c| accepte(*c))
    }

    fn compresse(self, texte: &str) -> Vec<u8> {
        use std::io::Write;
        match self {
            Codage::Brotli => {
                let mut sortie = Vec::with_capacity(texte.len() / 8);
                let params = brotli::enc::BrotliEncoderParams { quality: QUALITE_BROTLI, ..Default::default() };
                let mut entree = texte.as_bytes();
                // Writing into a Vec cannot fail.
                let _ = brotli::BrotliCompress(&mut entree, &mut sortie, &params);
                sortie
            }
            Codage::Gzip => {
                let mut encodeur =
                    flate2::write::GzEncoder::new(Vec::with_capacity(texte.len() / 8), flate2::Compression::default());
                let _ = encodeur.write_all(texte.as_bytes());
                encodeur.finish().unwrap_or_default()
            }
        }
    }
}

/// The compressed bodies, by (`ETag`, encoding).
pub(super) type Compresses = Bodies<(String, &'static str), Bytes>;

/// `response` (whose body is `texte`) compressed as the request accepts,
/// from the cache or compressed once; unchanged if small or if the
/// request accepts no encoding we keep.
pub(super) async fn compresser(
    state: &AppState,
    headers: &HeaderMap,
    etag: &str,
    texte: &Arc<String>,
    mut response: Response,
) -> Result<Response, HttpError> {
    let Some(codage) = Codage::choisi(headers).filter(|_| texte.len() >= SEUIL) else { return Ok(response) };
    let slot: Arc<OnceCell<Bytes>> = body_slot(&state.feeds.compresses, (etag.to_owned(), codage.nom()), GARDES);
    let octets = slot
        .get_or_try_init(|| async {
            state.metrics.feed_compressions.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            let texte = texte.clone();
            render(state, move || Bytes::from(codage.compresse(&texte))).await
        })
        .await?
        .clone();
    *response.body_mut() = axum::body::Body::from(octets);
    let en_tetes = response.headers_mut();
    en_tetes.insert(header::CONTENT_ENCODING, HeaderValue::from_static(codage.nom()));
    en_tetes.insert(header::VARY, HeaderValue::from_static("accept-encoding"));
    Ok(response)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn accept(value: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(header::ACCEPT_ENCODING, HeaderValue::from_str(value).expect("header"));
        headers
    }

    #[test]
    fn the_encoding_follows_accept_encoding() {
        assert_eq!(Codage::choisi(&HeaderMap::new()), None);
        assert_eq!(Codage::choisi(&accept("gzip, deflate, br")), Some(Codage::Brotli));
        assert_eq!(Codage::choisi(&accept("gzip")), Some(Codage::Gzip));
        assert_eq!(Codage::choisi(&accept("br;q=0, gzip;q=0.5")), Some(Codage::Gzip));
        assert_eq!(Codage::choisi(&accept("*")), Some(Codage::Brotli));
        assert_eq!(Codage::choisi(&accept("*, br;q=0")), Some(Codage::Gzip));
        assert_eq!(Codage::choisi(&accept("identity")), None);
        assert_eq!(Codage::choisi(&accept("GZIP;Q=0")), None, "q=0 refuses, whatever the case");
    }

    #[test]
    fn both_encodings_decompress_to_the_body() {
        use std::io::Read;
        let texte = "Atelier vélo, mercredi 18 h 30. ".repeat(4_000);
        let gzip = Codage::Gzip.compresse(&texte);
        let mut lu = String::new();
        flate2::read::GzDecoder::new(&gzip[..]).read_to_string(&mut lu).expect("gzip");
        assert_eq!(lu, texte);
        let br = Codage::Brotli.compresse(&texte);
        let mut lu = Vec::new();
        brotli::BrotliDecompress(&mut &br[..], &mut lu).expect("brotli");
        assert_eq!(lu, texte.as_bytes());
        assert!(br.len() < texte.len() / 10 && gzip.len() < texte.len() / 10);
    }
}
