//! Requests and responses as plain data, shared by the response cache, the
//! proxy, the admin API and the demo origin. Header names are lower-case.

/// A request as plain data. Header names are lower-case.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct HttpRequest {
    /// HTTP method, e.g. `GET` (compared case-insensitively).
    pub method: String,
    /// Absolute URL.
    pub url: String,
    /// (name, value) pairs in order; a name may repeat.
    pub headers: Vec<(String, String)>,
    /// Request body; empty for GET.
    pub body: Vec<u8>,
}

/// A response as plain data. Header names are lower-case.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct HttpResponse {
    /// HTTP status code.
    pub status: u16,
    /// (name, value) pairs in order; a name may repeat.
    pub headers: Vec<(String, String)>,
    /// Response body, stored as is.
    pub body: Vec<u8>,
    /// A body too large to hold, left streaming on the platform (then
    /// `body` is empty): relayed once, never stored, never shared.
    pub stream: Option<BodyStream>,
}

/// A platform's body stream, opaque to the engine (in Workers a
/// `ReadableStream`). Equal only to itself.
#[derive(Clone)]
pub struct BodyStream(pub std::rc::Rc<dyn std::any::Any>);

impl PartialEq for BodyStream {
    fn eq(&self, other: &Self) -> bool {
        std::rc::Rc::ptr_eq(&self.0, &other.0)
    }
}

impl std::fmt::Debug for BodyStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("BodyStream(..)")
    }
}

/// Every value of header `name` (any case) in `headers`, joined with `, `;
/// `None` if absent.
pub fn header_of(headers: &[(String, String)], name: &str) -> Option<String> {
    let values: Vec<&str> = headers
        .iter()
        .filter(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
        .collect();
    (!values.is_empty()).then(|| values.join(", "))
}

impl HttpRequest {
    /// A GET of `url` with no headers and no body.
    pub fn get(url: &str) -> Self {
        HttpRequest {
            method: "GET".into(),
            url: url.into(),
            ..Default::default()
        }
    }

    /// Every value of header `name` (any case) joined with `, `; `None` if absent.
    pub fn header(&self, name: &str) -> Option<String> {
        header_of(&self.headers, name)
    }

    /// Adds a header (name lower-cased), keeping earlier values of it.
    pub fn with_header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.to_ascii_lowercase(), value.to_string()));
        self
    }
}

impl HttpResponse {
    /// Every value of header `name` (any case) joined with `, `; `None` if absent.
    pub fn header(&self, name: &str) -> Option<String> {
        header_of(&self.headers, name)
    }

    /// Replaces every value of header `name` (any case) with `value`.
    pub fn set_header(&mut self, name: &str, value: String) {
        self.headers.retain(|(k, _)| !k.eq_ignore_ascii_case(name));
        self.headers.push((name.to_string(), value));
    }

    /// A plain-text error answer.
    pub fn text(status: u16, body: &str) -> Self {
        HttpResponse {
            status,
            headers: vec![("content-type".into(), "text/plain; charset=utf-8".into())],
            body: body.as_bytes().to_vec(),
            stream: None,
        }
    }
}
