//! The dashboard (`www/`), served from the Worker at the admin prefix.

use crate::http::HttpResponse;

/// The dashboard (`www/`), compiled in. The page holds no data and needs no
/// token; its calls to the API send the token the user types.
pub fn dashboard_asset(method: &str, path: &str) -> Option<HttpResponse> {
    if method != "GET" {
        return None;
    }
    let (content_type, body) = file(path)?;
    let mut headers = vec![("content-type".to_string(), content_type.to_string())];
    headers.extend(DASHBOARD_HEADERS.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    Some(HttpResponse {
        status: 200,
        headers,
        body: body.as_bytes().to_vec(),
        stream: None,
    })
}

fn file(path: &str) -> Option<(&'static str, &'static str)> {
    match path {
        "" | "index.html" => Some(("text/html; charset=utf-8", include_str!("../../../www/index.html"))),
        "dashboard.js" => Some((
            "text/javascript; charset=utf-8",
            include_str!("../../../www/dashboard.js"),
        )),
        "dashboard.css" => Some(("text/css; charset=utf-8", include_str!("../../../www/dashboard.css"))),
        _ => None,
    }
}

/// Headers for the dashboard's files: no framing, scripts only from here.
pub const DASHBOARD_HEADERS: [(&str, &str); 3] = [
    ("content-security-policy", "default-src 'self'; frame-ancestors 'none'"),
    ("x-content-type-options", "nosniff"),
    ("cache-control", "no-cache"),
];
