//! Why the cache did what it did, as types: each reason's `as_str()` is what
//! `Cache-Status` reports in `detail` (RFC 9211) and what stats are keyed by.

/// Why a request went to the origin without the cache.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum BypassReason {
    /// Not GET or HEAD.
    Method,
    /// The request said `Cache-Control: no-store`.
    NoStore,
    /// A route rule says `bypass`.
    Route,
    /// No route rule matches the path.
    NoRoute,
    /// The policy names a store that does not exist.
    StoreUnknown,
    /// The store failed before the lookup (fail open).
    StoreError,
    /// The request carries cookies and the route does not ignore them.
    Cookie,
    /// The request is authorized and the route does not opt in.
    Authorization,
}

impl BypassReason {
    /// The token used in `Cache-Status: …; detail=`.
    pub fn as_str(self) -> &'static str {
        match self {
            BypassReason::Method => "method",
            BypassReason::NoStore => "no-store",
            BypassReason::Route => "route",
            BypassReason::NoRoute => "no-route",
            BypassReason::StoreUnknown => "store-unknown",
            BypassReason::StoreError => "store-error",
            BypassReason::Cookie => "cookie",
            BypassReason::Authorization => "authorization",
        }
    }
}

/// Why an origin's answer was not stored.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum NotStored {
    /// A status that is not cacheable by default (RFC 9110 §15.1).
    Status,
    /// The response sets a cookie: it belongs to one user.
    SetCookie,
    /// `Cache-Control: no-store`.
    NoStore,
    /// `Cache-Control: private`.
    Private,
    /// `Cache-Control: no-cache` without a validator (`ETag`,
    /// `Last-Modified`): every use would be a full fetch, so it is not
    /// stored (with one, it is stored and revalidated on every use).
    NoCache,
    /// `Vary: *`.
    VaryStar,
    /// The request was authorized and the response does not allow sharing
    /// (RFC 9111 §3.5).
    Authorization,
    /// The lifetime is zero and there is no stale window.
    TtlZero,
    /// The body is over the policy's `max_entry_bytes`.
    TooLarge,
    /// The origin's `Age` already uses up the lifetime.
    TooOld,
    /// The store failed to write (fail open: the answer is served).
    StoreError,
}

impl NotStored {
    /// The token used in `Cache-Status: …; detail=`.
    pub fn as_str(self) -> &'static str {
        match self {
            NotStored::Status => "status",
            NotStored::SetCookie => "set-cookie",
            NotStored::NoStore => "no-store",
            NotStored::Private => "private",
            NotStored::NoCache => "no-cache",
            NotStored::VaryStar => "vary-star",
            NotStored::Authorization => "authorization",
            NotStored::TtlZero => "ttl-0",
            NotStored::TooLarge => "too-large",
            NotStored::TooOld => "too-old",
            NotStored::StoreError => "store-error",
        }
    }

    /// Whether the answer may still go to other requests waiting for the
    /// same key: it was meant for everyone, it just was not kept. Answers
    /// for one user (cookie, private, authorized) never are.
    pub fn shareable(self) -> bool {
        matches!(
            self,
            NotStored::StoreError | NotStored::TooLarge | NotStored::TooOld | NotStored::TtlZero
        )
    }
}

/// Why the cache went forward to the origin (`Cache-Status` `fwd`, RFC 9211 §2.2).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Forward {
    /// Nothing usable was stored.
    Miss,
    /// A stale entry was refreshed.
    Stale,
    /// The request asked for a fresh answer (`no-cache`).
    Request,
    /// The cache was not consulted.
    Bypass,
}

impl Forward {
    /// The token used in `Cache-Status: …; fwd=`.
    pub fn as_str(self) -> &'static str {
        match self {
            Forward::Miss => "miss",
            Forward::Stale => "stale",
            Forward::Request => "request",
            Forward::Bypass => "bypass",
        }
    }
}
