//! The built-in origin the Worker serves when no `ORIGIN` is set, so a
//! newcomer sees a miss and then a hit without running a server.

use crate::http::HttpResponse;

/// A demo answer, before it becomes the shared [`HttpResponse`].
struct DemoResponse {
    status: u16,
    headers: Vec<(&'static str, String)>,
    body: String,
}

impl From<DemoResponse> for HttpResponse {
    fn from(d: DemoResponse) -> Self {
        HttpResponse {
            status: d.status,
            headers: d.headers.into_iter().map(|(k, v)| (k.to_string(), v)).collect(),
            body: d.body.into_bytes(),
            stream: None,
        }
    }
}

/// Answers `path` at `now_ms`. The body carries the time it was made, so a
/// cache hit is visible: it repeats the earlier time.
pub fn respond(path: &str, now_ms: u64) -> HttpResponse {
    answer(path, now_ms).into()
}

fn answer(path: &str, now_ms: u64) -> DemoResponse {
    let json = |body: String, extra: Vec<(&'static str, String)>| {
        let mut headers = vec![("content-type", "application/json".to_string())];
        headers.extend(extra);
        DemoResponse {
            status: 200,
            headers,
            body,
        }
    };
    let made = format!(
        "{{\"path\":{},\"generated_at_ms\":{now_ms}",
        serde_json::Value::from(path)
    );
    match path {
        "/" => DemoResponse {
            status: 200,
            headers: vec![("content-type", "text/html; charset=utf-8".to_string())],
            body: format!(
                "<!doctype html><title>edgecache demo origin</title><h1>edgecache demo origin</h1>\
                 <p>Generated at {now_ms} ms. Request this page twice: the second answer comes from \
                 the cache (see the <code>Cache-Status</code> header) and repeats this time.</p>\
                 <p>Try <a href=\"/hello\">/hello</a>, <a href=\"/private\">/private</a> (never cached) \
                 and <a href=\"/cookie\">/cookie</a> (sets a cookie, never cached).</p>"
            ),
        },
        "/private" => json(
            format!("{made},\"cached\":false}}"),
            vec![("cache-control", "private".into())],
        ),
        "/cookie" => json(
            format!("{made},\"cached\":false}}"),
            vec![("set-cookie", "demo=1; Path=/".into())],
        ),
        _ if path.starts_with("/status/") => {
            // Only statuses a Response can carry (200–599); no body where
            // the status forbids one.
            let status = path[8..]
                .parse()
                .ok()
                .filter(|s| (200..=599).contains(s))
                .unwrap_or(400);
            let body = match status {
                204 | 205 | 304 => String::new(),
                _ => format!("status {status} at {now_ms}"),
            };
            DemoResponse {
                status,
                headers: vec![("content-type", "text/plain".into())],
                body,
            }
        }
        _ => json(
            format!("{made}}}"),
            vec![("cache-control", "public, max-age=60".into())],
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bodies_carry_the_time() {
        let text = |r: HttpResponse| String::from_utf8(r.body).unwrap();
        assert_eq!(
            text(respond("/hello", 42)),
            "{\"path\":\"/hello\",\"generated_at_ms\":42}"
        );
        assert!(text(respond("/", 7)).contains("Generated at 7 ms"));
        assert_eq!(respond("/status/404", 1).status, 404);
        assert!(respond("/cookie", 1).headers.iter().any(|(k, _)| *k == "set-cookie"));
    }

    #[test]
    fn every_answer_can_be_sent() {
        for (path, want) in [
            ("/status/0", 400),
            ("/status/99", 400),
            ("/status/1000", 400),
            ("/status/503", 503),
        ] {
            assert_eq!(respond(path, 1).status, want, "{path}");
        }
        for path in ["/status/204", "/status/304"] {
            assert!(respond(path, 1).body.is_empty(), "{path}");
        }
        let r = respond("/a\u{1}\"b", 7);
        let v: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
        assert_eq!(v["path"], "/a\u{1}\"b");
    }
}
