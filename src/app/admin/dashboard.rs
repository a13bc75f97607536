//! The dashboard (`www/`), served from the Worker at the admin prefix.

/// The dashboard (`www/`), compiled in. The page holds no data and needs no
/// token; its calls to the API send the token the user types.
pub fn dashboard_asset(method: &str, path: &str) -> Option<(&'static str, &'static str)> {
    if method != "GET" {
        return None;
    }
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
