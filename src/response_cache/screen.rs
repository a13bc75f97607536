//! What a request must not bring into a shared cache: credentials (cookies,
//! `Authorization`) bypass it unless the policy opts in, and cookies a
//! policy ignores are removed before the lookup and the origin.

use super::policy::{AuthorizationPolicy, CookiePolicy};
use super::CachePolicy;
use crate::http::{BypassReason, HttpRequest};

/// Why `req` must bypass the cache under `policy`, if it must; removes
/// the cookies the policy ignores.
pub(super) fn screen(req: &mut HttpRequest, policy: &CachePolicy) -> Option<BypassReason> {
    let has = |name: &str| req.headers.iter().any(|(k, _)| k.eq_ignore_ascii_case(name));
    if policy.authorization == AuthorizationPolicy::Bypass && has("authorization") {
        return Some(BypassReason::Authorization);
    }
    if !has("cookie") {
        return None;
    }
    match &policy.cookies {
        CookiePolicy::Bypass => return Some(BypassReason::Cookie),
        CookiePolicy::Ignore => {}
        CookiePolicy::IgnoreNamed(names) => {
            let other = req
                .headers
                .iter()
                .filter(|(k, _)| k.eq_ignore_ascii_case("cookie"))
                .flat_map(|(_, v)| v.split(';'))
                .map(|c| c.split('=').next().unwrap_or("").trim())
                .any(|name| !name.is_empty() && !names.iter().any(|n| n == name));
            if other {
                return Some(BypassReason::Cookie);
            }
        }
    }
    req.headers.retain(|(k, _)| !k.eq_ignore_ascii_case("cookie"));
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with(policy: CachePolicy, headers: &[(&str, &str)]) -> (Option<BypassReason>, Option<String>) {
        let mut req = HttpRequest::get("https://example.com/");
        for (k, v) in headers {
            req = req.with_header(k, v);
        }
        let why = screen(&mut req, &policy);
        (why, req.header("cookie"))
    }

    #[test]
    fn cookies_and_authorization_bypass_by_default() {
        let p = CachePolicy::default();
        assert_eq!(with(p.clone(), &[("cookie", "s=1")]).0, Some(BypassReason::Cookie));
        assert_eq!(
            with(p.clone(), &[("authorization", "Bearer x")]).0,
            Some(BypassReason::Authorization)
        );
        assert_eq!(with(p, &[("accept", "*/*")]), (None, None));
    }

    #[test]
    fn ignored_cookies_are_removed_others_bypass() {
        let ignore = CachePolicy {
            cookies: CookiePolicy::Ignore,
            ..Default::default()
        };
        assert_eq!(with(ignore, &[("cookie", "s=1; t=2")]), (None, None));
        let named = CachePolicy {
            cookies: CookiePolicy::IgnoreNamed(vec!["_ga".into(), "_gid".into()]),
            ..Default::default()
        };
        assert_eq!(with(named.clone(), &[("cookie", "_ga=1; _gid=2")]), (None, None));
        assert_eq!(
            with(named, &[("cookie", "_ga=1; session=alice")]).0,
            Some(BypassReason::Cookie)
        );
    }

    #[test]
    fn rfc9111_authorization_is_looked_up() {
        let p = CachePolicy {
            authorization: AuthorizationPolicy::Rfc9111,
            ..Default::default()
        };
        assert_eq!(with(p, &[("authorization", "Bearer x")]).0, None);
    }
}
