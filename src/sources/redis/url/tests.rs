use super::*;

fn ep(url: &str) -> Endpoint {
    Endpoint::parse(url).unwrap_or_else(|e| panic!("{url}: {e}"))
}

fn err(url: &str) -> String {
    match Endpoint::parse(url) {
        Ok(e) => panic!("{url} parsed: {e:?}"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn tcp_urls_with_credentials_and_database() {
    let e = ep("redis://app:p%40ss@cache-1:6380/2");
    assert_eq!(
        e.target,
        Target::Tcp {
            host: "cache-1".into(),
            port: 6380
        }
    );
    assert_eq!(e.auth.user.as_deref(), Some("app"));
    assert_eq!(e.auth.password.as_deref(), Some("p@ss"));
    assert_eq!(e.db, 2);
    assert!(!e.tls);
    let e = ep("rediss://:pw@[::1]");
    assert!(e.tls);
    assert_eq!(
        e.target,
        Target::Tcp {
            host: "::1".into(),
            port: DEFAULT_PORT
        }
    );
    assert_eq!(e.auth.user, None);
    assert_eq!(e.display_name(), "[::1]:6379");
    assert_eq!(ep("redis://h?db=3&password=x").db, 3);
    assert_eq!(
        ep("redis://h?db=3&password=x").auth.password.as_deref(),
        Some("x")
    );
    assert_eq!(ep("REDIS://h:1/").db, 0);
}

#[test]
fn unix_urls() {
    for url in [
        "unix:///run/redis/redis.sock?db=1&pass=s",
        "redis+unix:///run/redis/redis.sock?db=1&password=s",
    ] {
        let e = ep(url);
        assert_eq!(
            e.target,
            Target::Unix(PathBuf::from("/run/redis/redis.sock"))
        );
        assert_eq!((e.db, e.auth.password.as_deref()), (1, Some("s")));
        assert_eq!(e.display_name(), "/run/redis/redis.sock");
    }
    assert!(err("unix://host/x.sock").contains("path, not a host"));
    assert!(err("unix://").contains("absolute path"));
}

#[test]
fn sentinel_urls() {
    let e = ep("redis+sentinel://u:pw@s1:5000,s2,[::1]:5002/mymaster/3?sentinel_password=sp");
    assert_eq!(
        e.target,
        Target::Sentinel {
            sentinels: vec![
                ("s1".into(), 5000),
                ("s2".into(), DEFAULT_SENTINEL_PORT),
                ("::1".into(), 5002)
            ],
            service: "mymaster".into()
        }
    );
    assert_eq!(e.db, 3);
    assert_eq!(e.auth.password.as_deref(), Some("pw"));
    let s = e.sentinel_auth.clone().unwrap_or_default();
    assert_eq!((s.user, s.password.as_deref()), (None, Some("sp")));
    assert!(e.is_sentinel());
    assert_eq!(e.display_name(), "mymaster (sentinel)");
    assert!(ep("rediss+sentinel://s/m").tls);
    assert!(err("redis+sentinel://s1,s2").contains("names its service"));
}

#[test]
fn tls_files_only_on_tls_urls_and_in_pairs() {
    let e = ep("rediss://h?tls_ca=/etc/ca.pem&tls_cert=/c%20d.pem&tls_key=/k.pem");
    assert_eq!(e.tls_files.ca, Some(PathBuf::from("/etc/ca.pem")));
    assert_eq!(e.tls_files.cert, Some(PathBuf::from("/c d.pem")));
    assert!(err("redis://h?tls_ca=/x").contains("needs a TLS URL"));
    assert!(err("rediss://h?tls_cert=/x").contains("both tls_cert and tls_key"));
}

#[test]
fn bad_urls_say_why_and_never_show_the_password() {
    for (url, want) in [
        ("http://h", "unknown scheme"),
        ("redis://h:0", "not a port"),
        ("redis://h:99999", "not a port"),
        ("redis://h/x", "not a database"),
        ("redis://h/1?db=2", "given twice"),
        ("redis://:hunter2@a,b", "one host per URL"),
        (
            "redis://:hunter2@h?colour=red",
            "unknown URL option `colour`",
        ),
        ("redis://h#insecure", "not supported"),
        ("redis://:hunter2@[::1", "closing"),
        ("redis://[zz::1]:6430", "`[zz::1]` is not an IPv6 address"),
        ("redis://:hunter2@", "no host"),
        ("redis://h?sentinel_password=x", "redis+sentinel"),
        ("cache-1:6379", "not a URL"),
    ] {
        let e = err(url);
        assert!(e.contains(want), "{url}: {e}");
        assert!(!e.contains("hunter2"), "{url}: {e}");
    }
}

#[test]
fn credentials_debug_hides_the_password() {
    let e = ep("redis://u:hunter2@h");
    let dbg = format!("{e:?}");
    assert!(!dbg.contains("hunter2") && dbg.contains("***"), "{dbg}");
}

#[test]
fn defaults_fill_only_what_a_url_lacks() {
    let tls = TlsFiles {
        ca: Some(PathBuf::from("/ca dir/ca.pem")),
        cert: Some(PathBuf::from("/c.pem")),
        key: Some(PathBuf::from("/k.pem")),
    };
    let none = TlsFiles::default();
    assert_eq!(
        with_defaults("redis://h:1", Some("p&w"), &tls),
        "redis://h:1?password=p%26w"
    );
    assert_eq!(
        with_defaults("redis://:own@h", Some("x"), &none),
        "redis://:own@h"
    );
    assert_eq!(
        with_defaults("redis://h?db=1", None, &none),
        "redis://h?db=1"
    );
    let u = with_defaults("rediss://h?tls_ca=/mine.pem", None, &tls);
    assert_eq!(
        u,
        "rediss://h?tls_ca=/mine.pem&tls_cert=/c.pem&tls_key=/k.pem"
    );
    let e = ep(&with_defaults("rediss://h", Some("p&w"), &tls));
    assert_eq!(e.tls_files, tls);
    assert_eq!(e.auth.password.as_deref(), Some("p&w"));
    let e = ep(&with_defaults("unix:///s.sock", Some("pw"), &tls));
    assert_eq!(e.auth.password.as_deref(), Some("pw"));
    assert_eq!(e.tls_files, TlsFiles::default());
    assert_eq!(with_defaults("not a url", Some("pw"), &tls), "not a url");
}
