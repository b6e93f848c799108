//! The TLS settings of a PostgreSQL URL, read as libpq reads them, and the
//! connection attempts they call for.
//!
//! tokio-postgres knows `sslmode=disable`, `prefer` and `require` only, and
//! refuses `sslrootcert`, so the command line takes both out of the URL and
//! decides here what libpq would do:
//!
//! | `sslmode` | Attempts | The server's certificate |
//! |---|---|---|
//! | `disable` | without TLS | |
//! | `allow` | without TLS, then with TLS | checked against a root certificate if there is one |
//! | `prefer` (the default) | with TLS (without it if the server has none), then without TLS | checked against a root certificate if there is one |
//! | `require` | with TLS | checked against a root certificate if there is one |
//! | `verify-ca` | with TLS | signed by a root certificate, which must exist |
//! | `verify-full` | with TLS | signed by a root certificate, and issued for the host name |
//!
//! The root certificates are the PEM file `sslrootcert` names, else
//! `~/.postgresql/root.crt` when it exists; `sslrootcert=system` means the
//! system's trusted roots, makes `verify-full` the default and refuses any
//! weaker mode. Unix-domain sockets never use TLS, whatever the mode: the
//! server does not offer it there.

use std::path::PathBuf;

/// libpq's `sslmode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SslMode {
    Disable,
    Allow,
    Prefer,
    Require,
    VerifyCa,
    VerifyFull,
}

impl SslMode {
    fn parse(value: &str) -> Result<SslMode, String> {
        Ok(match value {
            "disable" => SslMode::Disable,
            "allow" => SslMode::Allow,
            "prefer" => SslMode::Prefer,
            "require" => SslMode::Require,
            "verify-ca" => SslMode::VerifyCa,
            "verify-full" => SslMode::VerifyFull,
            other => {
                return Err(format!(
                    "invalid sslmode `{other}`: expected disable, allow, prefer, require, verify-ca or verify-full"
                ));
            }
        })
    }

    pub(crate) fn name(self) -> &'static str {
        match self {
            SslMode::Disable => "disable",
            SslMode::Allow => "allow",
            SslMode::Prefer => "prefer",
            SslMode::Require => "require",
            SslMode::VerifyCa => "verify-ca",
            SslMode::VerifyFull => "verify-full",
        }
    }
}

/// Where the certificate authorities that the server's certificate must chain
/// to come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Trust {
    /// A PEM file of certificates.
    File(PathBuf),
    /// The system's trusted roots (`sslrootcert=system`).
    System,
}

/// The TLS settings a URL gives.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct TlsSettings {
    /// `sslmode`, when the URL has it.
    pub(crate) mode: Option<SslMode>,
    /// `sslrootcert`, when the URL has it (an empty value counts as absent, as
    /// in libpq).
    pub(crate) root_cert: Option<Trust>,
}

/// What is checked of the server's certificate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Verify {
    /// Nothing: the connection is encrypted, and the server is not authenticated.
    Nothing,
    /// That it chains to one of these certificate authorities.
    Chain(Trust),
    /// That it chains to one of these certificate authorities and was issued
    /// for the host name the URL gives.
    ChainAndHost(Trust),
}

/// One connection attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Attempt {
    /// Without TLS.
    Plain,
    /// With TLS. When `plain_if_refused`, a server that answers that it has
    /// no TLS is talked to without it, as `prefer` asks.
    Tls {
        verify: Verify,
        plain_if_refused: bool,
    },
}

impl Attempt {
    /// How messages name this attempt.
    pub(crate) fn label(&self) -> &'static str {
        match self {
            Attempt::Plain => "without TLS",
            Attempt::Tls { .. } => "with TLS",
        }
    }
}

/// libpq's default root certificate file, `~/.postgresql/root.crt`, and
/// whether it exists.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct DefaultRoot {
    /// The path, or `None` when there is no home folder.
    pub(crate) path: Option<PathBuf>,
    pub(crate) exists: bool,
}

/// The keys libpq knows that migrate does not honour: refused, so that a
/// URL never silently means less than it says.
const UNSUPPORTED: &[(&str, &str)] = &[
    ("sslcert", "client certificates are not supported"),
    ("sslkey", "client certificates are not supported"),
    ("sslpassword", "client certificates are not supported"),
    ("sslcertmode", "client certificates are not supported"),
    ("sslcrl", "certificate revocation lists are not supported"),
    (
        "sslcrldir",
        "certificate revocation lists are not supported",
    ),
    (
        "sslsni",
        "the server name is always sent for host names, never for addresses",
    ),
    ("sslcompression", "TLS compression is not supported"),
    (
        "ssl_min_protocol_version",
        "TLS 1.2 and 1.3 are always offered",
    ),
    (
        "ssl_max_protocol_version",
        "TLS 1.2 and 1.3 are always offered",
    ),
    ("requiressl", "use sslmode=require"),
];

/// Takes `sslmode` and `sslrootcert` out of a `postgres://` URL: returns the
/// URL for tokio-postgres, with every other parameter as it was, and the
/// settings.
pub(crate) fn split_url(url: &str) -> Result<(String, TlsSettings), String> {
    let mut settings = TlsSettings::default();
    let Some((base, query)) = url.split_once('?') else {
        return Ok((url.to_owned(), settings));
    };
    let mut kept = Vec::new();
    for pair in query.split('&').filter(|pair| !pair.is_empty()) {
        let (raw_key, raw_value) = pair.split_once('=').unwrap_or((pair, ""));
        let key = percent_decode(raw_key)?;
        match key.as_str() {
            "sslmode" => settings.mode = Some(SslMode::parse(&percent_decode(raw_value)?)?),
            "sslrootcert" => {
                settings.root_cert = match percent_decode(raw_value)?.as_str() {
                    "" => None,
                    "system" => Some(Trust::System),
                    path => Some(Trust::File(PathBuf::from(path))),
                }
            }
            _ => {
                if let Some((_, why)) = UNSUPPORTED.iter().find(|(name, _)| *name == key) {
                    return Err(format!(
                        "the URL parameter `{key}` is not supported ({why}); migrate reads sslmode and sslrootcert"
                    ));
                }
                kept.push(pair);
            }
        }
    }
    let url = if kept.is_empty() {
        base.to_owned()
    } else {
        format!("{base}?{}", kept.join("&"))
    };
    Ok((url, settings))
}

/// The attempts that the settings call for, in order: each is made when the
/// one before it failed. `sockets_only` says that every host of the URL is a
/// unix-domain socket.
pub(crate) fn attempts(
    settings: &TlsSettings,
    sockets_only: bool,
    default_root: &DefaultRoot,
) -> Result<Vec<Attempt>, String> {
    let system = settings.root_cert == Some(Trust::System);
    let mode = match settings.mode {
        Some(mode) => mode,
        None if system => SslMode::VerifyFull,
        None => SslMode::Prefer,
    };
    if system && mode != SslMode::VerifyFull {
        return Err(format!(
            "sslmode={} may not be used with sslrootcert=system, which trusts every certificate authority of the system: use sslmode=verify-full",
            mode.name()
        ));
    }
    if sockets_only || mode == SslMode::Disable {
        return Ok(vec![Attempt::Plain]);
    }
    let trust = settings.root_cert.clone().or_else(|| {
        default_root
            .path
            .clone()
            .filter(|_| default_root.exists)
            .map(Trust::File)
    });
    let verify = match (mode, trust) {
        (SslMode::VerifyCa, Some(trust)) => Verify::Chain(trust),
        (SslMode::VerifyFull, Some(trust)) => Verify::ChainAndHost(trust),
        (SslMode::VerifyCa | SslMode::VerifyFull, None) => {
            return Err(no_root_certificate(mode, default_root));
        }
        (_, Some(trust)) => Verify::Chain(trust),
        (_, None) => Verify::Nothing,
    };
    Ok(match mode {
        SslMode::Allow => vec![
            Attempt::Plain,
            Attempt::Tls {
                verify,
                plain_if_refused: false,
            },
        ],
        SslMode::Prefer => vec![
            Attempt::Tls {
                verify,
                plain_if_refused: true,
            },
            Attempt::Plain,
        ],
        _ => vec![Attempt::Tls {
            verify,
            plain_if_refused: false,
        }],
    })
}

fn no_root_certificate(mode: SslMode, default_root: &DefaultRoot) -> String {
    let looked_at = match &default_root.path {
        Some(path) => format!("{} does not exist", path.display()),
        None => "there is no home folder to find ~/.postgresql/root.crt in".to_owned(),
    };
    format!(
        "sslmode={} verifies the server's certificate, but no certificate authority is given to verify it with ({looked_at}): add sslrootcert=<file.pem> to the URL, or sslrootcert=system for the system's trusted roots, or use sslmode=require to encrypt without verifying",
        mode.name()
    )
}

/// Decodes `%XX` escapes, as tokio-postgres does for URL parameters.
fn percent_decode(text: &str) -> Result<String, String> {
    let bytes = text.as_bytes();
    let mut decoded = Vec::with_capacity(bytes.len());
    let mut index = 0;
    while index < bytes.len() {
        if bytes[index] == b'%' {
            let byte = text
                .get(index + 1..index + 3)
                .and_then(|hex| u8::from_str_radix(hex, 16).ok())
                .ok_or_else(|| format!("invalid percent-encoding in the URL parameter `{text}`"))?;
            decoded.push(byte);
            index += 3;
        } else {
            decoded.push(bytes[index]);
            index += 1;
        }
    }
    String::from_utf8(decoded)
        .map_err(|_| format!("the URL parameter `{text}` is not UTF-8 once decoded"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings_of(url: &str) -> TlsSettings {
        split_url(url).unwrap().1
    }

    fn no_home() -> DefaultRoot {
        DefaultRoot {
            path: Some(PathBuf::from("/home/app/.postgresql/root.crt")),
            exists: false,
        }
    }

    fn tls(verify: Verify) -> Attempt {
        Attempt::Tls {
            verify,
            plain_if_refused: false,
        }
    }

    fn ca() -> Trust {
        Trust::File(PathBuf::from("/ca.pem"))
    }

    #[test]
    fn the_tls_parameters_leave_the_url_and_the_others_stay() {
        let (url, settings) = split_url(
            "postgres://app@db/app?connect_timeout=5&sslmode=verify-ca&sslrootcert=%2Fetc%2Fca%20x.pem&application_name=a",
        )
        .unwrap();
        assert_eq!(
            url,
            "postgres://app@db/app?connect_timeout=5&application_name=a"
        );
        assert_eq!(settings.mode, Some(SslMode::VerifyCa));
        assert_eq!(
            settings.root_cert,
            Some(Trust::File(PathBuf::from("/etc/ca x.pem")))
        );
        let (url, settings) = split_url("postgres://db/app?sslmode=require").unwrap();
        assert_eq!(url, "postgres://db/app");
        assert_eq!(settings.mode, Some(SslMode::Require));
        assert_eq!(
            split_url("postgres://db/app").unwrap().1,
            TlsSettings::default()
        );
        assert_eq!(
            settings_of("postgres://db/app?sslrootcert=system").root_cert,
            Some(Trust::System)
        );
        assert_eq!(
            settings_of("postgres://db/app?sslrootcert=").root_cert,
            None
        );
    }

    #[test]
    fn unknown_modes_and_unsupported_parameters_are_refused() {
        let bad = split_url("postgres://db/app?sslmode=verify").unwrap_err();
        assert!(bad.contains("invalid sslmode `verify`"), "{bad}");
        let cert = split_url("postgres://db/app?sslcert=client.crt").unwrap_err();
        assert!(cert.contains("`sslcert` is not supported"), "{cert}");
        let escape = split_url("postgres://db/app?sslrootcert=%zz").unwrap_err();
        assert!(escape.contains("percent-encoding"), "{escape}");
    }

    #[test]
    fn the_default_is_prefer_tls_then_plain_without_verification() {
        assert_eq!(
            attempts(&TlsSettings::default(), false, &no_home()).unwrap(),
            vec![
                Attempt::Tls {
                    verify: Verify::Nothing,
                    plain_if_refused: true
                },
                Attempt::Plain
            ]
        );
    }

    #[test]
    fn each_mode_as_libpq_reads_it() {
        let mode = |mode, root_cert| TlsSettings {
            mode: Some(mode),
            root_cert,
        };
        let plan = |settings: TlsSettings| attempts(&settings, false, &no_home()).unwrap();
        assert_eq!(
            plan(mode(SslMode::Disable, Some(ca()))),
            vec![Attempt::Plain]
        );
        assert_eq!(
            plan(mode(SslMode::Allow, None)),
            vec![Attempt::Plain, tls(Verify::Nothing)]
        );
        assert_eq!(
            plan(mode(SslMode::Require, None)),
            vec![tls(Verify::Nothing)]
        );
        // With a root certificate, require verifies as verify-ca does.
        assert_eq!(
            plan(mode(SslMode::Require, Some(ca()))),
            vec![tls(Verify::Chain(ca()))]
        );
        assert_eq!(
            plan(mode(SslMode::VerifyCa, Some(ca()))),
            vec![tls(Verify::Chain(ca()))]
        );
        assert_eq!(
            plan(mode(SslMode::VerifyFull, Some(ca()))),
            vec![tls(Verify::ChainAndHost(ca()))]
        );
    }

    #[test]
    fn the_home_root_certificate_is_used_when_it_exists() {
        let home = DefaultRoot {
            path: Some(PathBuf::from("/home/app/.postgresql/root.crt")),
            exists: true,
        };
        let require = TlsSettings {
            mode: Some(SslMode::Require),
            root_cert: None,
        };
        assert_eq!(
            attempts(&require, false, &home).unwrap(),
            vec![tls(Verify::Chain(Trust::File(
                "/home/app/.postgresql/root.crt".into()
            )))]
        );
    }

    #[test]
    fn verification_without_a_root_certificate_says_what_to_add() {
        let full = TlsSettings {
            mode: Some(SslMode::VerifyFull),
            root_cert: None,
        };
        let error = attempts(&full, false, &no_home()).unwrap_err();
        assert!(
            error.contains("/home/app/.postgresql/root.crt does not exist"),
            "{error}"
        );
        assert!(error.contains("sslrootcert=<file.pem>"), "{error}");
        let homeless = DefaultRoot {
            path: None,
            exists: false,
        };
        let error = attempts(&full, false, &homeless).unwrap_err();
        assert!(error.contains("no home folder"), "{error}");
    }

    #[test]
    fn system_roots_mean_verify_full() {
        let system = TlsSettings {
            mode: None,
            root_cert: Some(Trust::System),
        };
        assert_eq!(
            attempts(&system, false, &no_home()).unwrap(),
            vec![tls(Verify::ChainAndHost(Trust::System))]
        );
        let weak = TlsSettings {
            mode: Some(SslMode::Require),
            ..system
        };
        let error = attempts(&weak, false, &no_home()).unwrap_err();
        assert!(
            error.contains("sslmode=require may not be used with sslrootcert=system"),
            "{error}"
        );
    }

    #[test]
    fn unix_sockets_never_use_tls() {
        for mode in [SslMode::Require, SslMode::VerifyFull, SslMode::Prefer] {
            let settings = TlsSettings {
                mode: Some(mode),
                root_cert: None,
            };
            assert_eq!(
                attempts(&settings, true, &no_home()).unwrap(),
                vec![Attempt::Plain],
                "{mode:?}"
            );
        }
    }
}
