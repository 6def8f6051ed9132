//! Where the feeds' absolute links point: `--url` when set, else the
//! request's `Host` and `X-Forwarded-Proto` once validated, else the
//! listening address. Nothing else from a request reaches a link.

use axum::http::{HeaderMap, header};

use crate::RunError;

/// Where the feeds' absolute links point.
pub(super) struct Site {
    /// `--url`, validated at start: used whenever set.
    pub(super) public_url: Option<String>,
    /// Without `--url` and without a valid `Host`: the listening address.
    pub(super) fallback: String,
}

/// A base URL for links, and whether it came from the request (then the
/// response must not be publicly cached).
pub(super) struct Base {
    pub(super) url: String,
    pub(super) reflected: bool,
}

impl Site {
    /// `--url` if set; else `X-Forwarded-Proto` (`http` or `https`, else
    /// `http`) and `Host` (a valid `host[:port]`, else the listening
    /// address): never anything else from the request.
    pub(super) fn base(&self, headers: &HeaderMap) -> Base {
        if let Some(url) = &self.public_url {
            return Base { url: url.clone(), reflected: false };
        }
        let scheme = headers
            .get("x-forwarded-proto")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(',').next())
            .map(|v| v.trim().to_ascii_lowercase())
            .filter(|v| v == "http" || v == "https")
            .unwrap_or_else(|| "http".to_owned());
        let host = headers.get(header::HOST).and_then(|v| v.to_str().ok()).and_then(host_and_port);
        match host {
            Some(host) => Base { url: format!("{scheme}://{host}"), reflected: true },
            None => Base { url: self.fallback.clone(), reflected: true },
        }
    }
}

/// Validates `--url`: `http` or `https`, a valid host with an optional
/// port, an optional path of plain characters; no user, query or fragment.
/// Returns it normalised (lower-case scheme and host, no trailing `/`).
pub(crate) fn public_url(text: &str) -> Result<String, RunError> {
    let invalid = || RunError::PublicUrl(text.to_owned());
    let (scheme, rest) = text.split_once("://").ok_or_else(invalid)?;
    let scheme = scheme.to_ascii_lowercase();
    if scheme != "http" && scheme != "https" {
        return Err(invalid());
    }
    let (authority, path) = match rest.find('/') {
        Some(i) => rest.split_at(i),
        None => (rest, ""),
    };
    let host = host_and_port(authority).ok_or_else(invalid)?;
    let plain = |c: char| c.is_ascii_alphanumeric() || "-._~/%".contains(c);
    if !path.chars().all(plain) || path.contains("//") {
        return Err(invalid());
    }
    Ok(format!("{scheme}://{host}{}", path.trim_end_matches('/')))
}

/// `host[:port]` if it is a DNS name (letters, digits, hyphens, dots), an
/// IPv4 address or a bracketed IPv6 address, with a port of 1 to 65535;
/// lower-cased. Anything else (spaces, quotes, `@`, `/`, a scheme) is not a
/// host.
fn host_and_port(text: &str) -> Option<String> {
    let (host, port) = if let Some(rest) = text.strip_prefix('[') {
        let (v6, after) = rest.split_once(']')?;
        v6.parse::<std::net::Ipv6Addr>().ok()?;
        (&text[..v6.len() + 2], after.strip_prefix(':'))
    } else {
        match text.rsplit_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (text, None),
        }
    };
    if let Some(port) = port
        && (port.is_empty() || port.len() > 5 || !port.bytes().all(|b| b.is_ascii_digit()) || {
            let n: u32 = port.parse().ok()?;
            n == 0 || n > 65_535
        })
    {
        return None;
    }
    if !host.starts_with('[') {
        let name = host.strip_suffix('.').unwrap_or(host);
        let label_ok = |l: &str| {
            !l.is_empty()
                && l.len() <= 63
                && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
                && !l.starts_with('-')
                && !l.ends_with('-')
        };
        if name.is_empty() || name.len() > 253 || !name.split('.').all(label_ok) {
            return None;
        }
    }
    Some(text.to_ascii_lowercase())
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;

    use super::*;

    // See: issue #12, item 14.
    #[test]
    fn r12_14_hosts_and_public_urls_are_validated() {
        for good in ["example.org", "agenda.example.org:8443", "127.0.0.1:3030", "[::1]:3030", "[2001:db8::1]", "a-b.c"]
        {
            assert_eq!(host_and_port(good).as_deref(), Some(good.to_ascii_lowercase().as_str()), "{good}");
        }
        for bad in [
            "",
            ":80",
            "example.org:",
            "example.org:0",
            "example.org:65536",
            "exa mple.org",
            "evil.org/x",
            "a@b",
            "javascript:alert(1)",
            "\"><script>",
            "-a.org",
            "a..org",
            "[::1",
            "[nope]:80",
            "example.org:80:80",
        ] {
            assert_eq!(host_and_port(bad), None, "{bad}");
        }
        assert_eq!(public_url("HTTPS://Agenda.Example.org/").ok().as_deref(), Some("https://agenda.example.org"));
        assert_eq!(public_url("http://127.0.0.1:3030/essaim/").ok().as_deref(), Some("http://127.0.0.1:3030/essaim"));
        for bad in [
            "javascript://x",
            "ftp://example.org",
            "example.org",
            "https://",
            "https://a b",
            "https://x/?q",
            "https://x/#f",
            "https://u@x",
        ] {
            assert!(public_url(bad).is_err(), "{bad}");
        }
        let site = Site { public_url: None, fallback: "http://127.0.0.1:3030".into() };
        let mut headers = HeaderMap::new();
        headers.insert(header::HOST, HeaderValue::from_static("evil.org\"><a href=x"));
        headers.insert("x-forwarded-proto", HeaderValue::from_static("javascript"));
        let base = site.base(&headers);
        assert_eq!((base.url.as_str(), base.reflected), ("http://127.0.0.1:3030", true));
        headers.insert(header::HOST, HeaderValue::from_static("agenda.example.org"));
        headers.insert("x-forwarded-proto", HeaderValue::from_static("HTTPS"));
        assert_eq!(site.base(&headers).url, "https://agenda.example.org");
    }
}
