//! Keeping secrets off the screen and out of logs: passwords in URLs
//! (userinfo and query parameters) replaced by `***`.
//!
//! A leaf module: it imports nothing from the crate, so sources, ops,
//! config and the UI all redact the same way without depending on each
//! other.

/// The parts of `scheme://userinfo@host/rest?query` that matter here.
pub(crate) struct UrlParts<'a> {
    pub scheme: &'a str,
    /// Everything after `://`.
    pub rest: &'a str,
    /// Byte range in the whole URL of the password in the userinfo, if any.
    pub password: Option<(usize, usize)>,
}

pub(crate) fn split_url(url: &str) -> Option<UrlParts<'_>> {
    let (scheme, rest) = url.split_once("://")?;
    let base = scheme.len() + 3;
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let authority = &rest[..authority_end];
    let password = authority.rfind('@').and_then(|at| {
        let userinfo = &authority[..at];
        let colon = userinfo.find(':')?;
        (colon + 1 < at).then_some((base + colon + 1, base + at))
    });
    Some(UrlParts {
        scheme,
        rest,
        password,
    })
}

/// Query parameters that carry a password (Redis URLs take `pass=` for
/// unix sockets and `sentinel_password=` for the Sentinels).
const PASSWORD_PARAMS: [&str; 3] = ["password=", "pass=", "sentinel_password="];

/// Byte ranges of non-empty password values in the query string.
fn query_passwords(url: &str) -> Vec<(usize, usize)> {
    let Some(q) = url.find('?') else {
        return Vec::new();
    };
    let end = url[q..].find('#').map_or(url.len(), |h| q + h);
    let mut out = Vec::new();
    let mut start = q + 1;
    for pair in url[q + 1..end].split('&') {
        for param in PASSWORD_PARAMS {
            if let Some(value) = pair.strip_prefix(param)
                && !value.is_empty()
            {
                let v0 = start + param.len();
                out.push((v0, v0 + value.len()));
            }
        }
        start += pair.len() + 1;
    }
    out
}

/// True when `url` carries a password (`scheme://user:pass@…`,
/// `scheme://:pass@…` or a `password=`, `pass=` or `sentinel_password=`
/// query parameter).
pub fn url_has_password(url: &str) -> bool {
    split_url(url).is_some_and(|p| p.password.is_some()) || !query_passwords(url).is_empty()
}

/// `url` with any password replaced by `***`; anything that is not a URL is
/// returned unchanged. Use it wherever a URL reaches the screen or a log.
pub fn redact_url(url: &str) -> String {
    let mut ranges = passwords(url);
    ranges.sort_unstable();
    let mut out = String::with_capacity(url.len());
    let mut at = 0;
    for (s, e) in ranges {
        // Ranges can overlap in text that is not a real URL
        // (`x?password=a://u:p@h`): the part already hidden stays hidden.
        if s < at {
            at = at.max(e);
            continue;
        }
        out.push_str(&url[at..s]);
        out.push_str("***");
        at = e;
    }
    out.push_str(&url[at..]);
    out
}

/// Byte ranges of every password in `url` (userinfo and query).
fn passwords(url: &str) -> Vec<(usize, usize)> {
    let mut ranges = query_passwords(url);
    if let Some(r) = split_url(url).and_then(|p| p.password) {
        ranges.push(r);
    }
    ranges
}

/// `text` (an error message about `url`) with every password of `url`
/// replaced by `***`, wherever the message quotes it.
pub fn scrub(text: &str, url: &str) -> String {
    let mut out = text.to_string();
    for (s, e) in passwords(url) {
        if let Some(pw) = url.get(s..e)
            && !pw.is_empty()
        {
            out = out.replace(pw, "***");
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redacts_passwords_only() {
        let cases = [
            (
                "redis://user:secret@cache-1:6379/0",
                "redis://user:***@cache-1:6379/0",
            ),
            (
                "rediss://:secret@cache-1:6380",
                "rediss://:***@cache-1:6380",
            ),
            ("postgres://app:p%40ss@db/app", "postgres://app:***@db/app"),
            ("postgres://app:a:b@db", "postgres://app:***@db"),
            ("postgres://app:x@y@db/app", "postgres://app:***@db/app"),
            ("redis://user@cache-1", "redis://user@cache-1"),
            ("redis://cache-1:6379", "redis://cache-1:6379"),
            ("redis://:@cache-1", "redis://:@cache-1"),
            (
                "postgres://db/app?password=hunter2&sslmode=require",
                "postgres://db/app?password=***&sslmode=require",
            ),
            (
                "postgres://u:a@db/app?sslmode=require&password=b#frag",
                "postgres://u:***@db/app?sslmode=require&password=***#frag",
            ),
            ("unix:///run/redis.sock", "unix:///run/redis.sock"),
            ("not a url", "not a url"),
            ("", ""),
            ("redis://h/path@x:y", "redis://h/path@x:y"),
            (
                "unix:///r.sock?db=1&pass=s3&x=1",
                "unix:///r.sock?db=1&pass=***&x=1",
            ),
            (
                "redis+sentinel://s/m?sentinel_password=a&password=b",
                "redis+sentinel://s/m?sentinel_password=***&password=***",
            ),
        ];
        for (url, want) in cases {
            assert_eq!(redact_url(url), want, "{url}");
        }
    }

    #[test]
    fn detects_passwords() {
        assert!(url_has_password("redis://u:p@h"));
        assert!(url_has_password("redis://:p@h"));
        assert!(url_has_password("postgres://h/db?password=p"));
        assert!(!url_has_password("redis://u@h"));
        assert!(!url_has_password("redis://:@h"));
        assert!(!url_has_password("postgres://h/db?password="));
        assert!(!url_has_password("postgres://h/db?mypassword=x"));
        assert!(url_has_password("unix:///s?pass=x"));
        assert!(url_has_password("redis+sentinel://s/m?sentinel_password=x"));
        assert!(!url_has_password("heliostat:events"));
    }

    #[test]
    fn overlapping_password_ranges_do_not_panic() {
        let r = redact_url("x?password=a://u:p@h");
        assert!(
            !r.contains("a://u:p@h") && r.starts_with("x?password=***"),
            "{r}"
        );
    }

    proptest::proptest! {
        #[test]
        fn redacting_any_text_never_panics(url in "[a-z:/@?=&#%.]{0,40}") {
            let _ = redact_url(&url);
            let _ = url_has_password(&url);
        }
    }

    #[test]
    fn redacted_never_contains_the_password() {
        for url in [
            "redis://user:s3cr3t@h",
            "rediss://:s3cr3t@h:1/2",
            "postgres://h?password=s3cr3t",
        ] {
            let r = redact_url(url);
            assert!(!r.contains("s3cr3t"), "{r}");
            assert!(!url_has_password(&r.replace("***", "")), "{r}");
        }
    }

    #[test]
    fn scrub_hides_a_quoted_password() {
        let url = "postgres://app:s3cr3t@db/app?password=other";
        let msg = "invalid port in s3cr3t and other";
        assert_eq!(scrub(msg, url), "invalid port in *** and ***");
        assert_eq!(scrub("nothing here", "redis://h"), "nothing here");
    }
}
