//! The web UI's files, built from `web/` by the build script and embedded
//! in the binary, served with their content type and caching headers:
//! hashed files under `/assets/` are immutable, `index.html` (at `/`) is
//! revalidated.
//! The files hold no data: every data call goes through the API's auth.

use axum::http::{header, HeaderValue, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};

mod built {
    include!(concat!(env!("OUT_DIR"), "/web_assets.rs"));
}

/// The embedded files: (URL path, bytes).
pub fn assets() -> &'static [(&'static str, &'static [u8])] {
    built::ASSETS
}

/// The content type of a file name.
pub fn content_type(path: &str) -> &'static str {
    let ext = path.rsplit_once('.').map(|(_, e)| e).unwrap_or("");
    match ext {
        "html" => "text/html; charset=utf-8",
        "js" | "mjs" => "text/javascript; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "json" | "map" => "application/json",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "ico" => "image/x-icon",
        "woff2" => "font/woff2",
        "txt" => "text/plain; charset=utf-8",
        _ => "application/octet-stream",
    }
}

fn find(path: &str) -> Option<&'static [u8]> {
    assets().iter().find(|(p, _)| *p == path).map(|(_, b)| *b)
}

/// Serves `uri`'s file (`/` is `index.html`; the UI routes itself in the
/// URL's fragment). `None` for an unknown file (the caller answers 404).
pub fn serve(method: &Method, uri: &Uri) -> Option<Response> {
    if method != Method::GET && method != Method::HEAD {
        return None;
    }
    let name = match uri.path() {
        "/" => "/index.html",
        p => p,
    };
    let body = find(name)?;
    let cache = if name.starts_with("/assets/") {
        "public, max-age=31536000, immutable"
    } else {
        "no-cache"
    };
    let mut r = (StatusCode::OK, body).into_response();
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(content_type(name)),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    if name == "/index.html" {
        h.insert(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(
                "default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:",
            ),
        );
    }
    Some(r)
}

/// The router's fallback: API paths get the JSON 404, others the UI.
pub async fn fallback(method: Method, uri: Uri) -> Response {
    if !uri.path().starts_with("/api/") {
        if let Some(r) = serve(&method, &uri) {
            return r;
        }
    }
    crate::api::not_found(uri).await
}
