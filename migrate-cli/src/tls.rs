//! TLS to PostgreSQL with rustls, checking the server's certificate as libpq
//! does for the [`Verify`] that `sslmode` asked for.
//!
//! rustls's own verifier always checks the host name and refuses a
//! certificate authority's certificate used as the server's, so the checks
//! are assembled here from rustls's parts, with two of OpenSSL's (and so
//! libpq's) readings added:
//! - a self-signed server certificate that `sslrootcert` holds itself is
//!   trusted as it is, which is how PostgreSQL's documentation sets up a test
//!   server (`openssl req -new -x509 …` makes a certificate authority's
//!   certificate);
//! - `verify-full` reads the host name from the subject's common name when
//!   the certificate has no subject alternative name of the host's kind.

use std::net::IpAddr;
use std::path::Path;
use std::sync::{Arc, Mutex, PoisonError};

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::{verify_server_cert_signed_by_trust_anchor, verify_server_name};
use rustls::crypto::{CryptoProvider, verify_tls12_signature, verify_tls13_signature};
use rustls::server::ParsedCertificate;
use rustls::{
    CertificateError, ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme,
};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, ServerName, UnixTime};
use tokio_postgres::{Client, Config};
use x509_cert::der::asn1::{Ia5StringRef, PrintableStringRef, TeletexStringRef, Utf8StringRef};
use x509_cert::der::oid::db::{rfc4519, rfc5280};
use x509_cert::der::{Decode, Tag, Tagged};
use x509_cert::ext::pkix::SubjectAltName;
use x509_cert::ext::pkix::name::GeneralName;

use crate::sslmode::{Trust, Verify};

/// Connects with TLS under the settings of `config` (`sslmode` prefer or
/// require), checking the certificate as `verify` says. The connection is
/// driven on the current runtime.
pub(crate) async fn connect(config: &Config, verify: &Verify) -> Result<Client, String> {
    let refusal = Arc::new(Mutex::new(None));
    let verifier = Verifier::new(verify, Arc::clone(&refusal))?;
    let provider = Arc::clone(&verifier.provider);
    let tls = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|error| format!("cannot set up TLS: {error}"))?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(verifier))
        .with_no_client_auth();
    match config
        .connect(tokio_postgres_rustls::MakeRustlsConnect::new(tls))
        .await
    {
        Ok((client, connection)) => {
            // The connection is driven in the background for as long as the runtime lives.
            tokio::spawn(connection);
            Ok(client)
        }
        // rustls carries a refusal as an error code without text: the
        // verifier keeps the explanation.
        Err(error) => Err(match take(&refusal) {
            Some(why) => format!("error performing TLS handshake: {why}"),
            None => crate::execute::chain(&error),
        }),
    }
}

/// Reads the certificate authorities `verify` names, to report a missing or
/// unreadable file as the mistake in the URL that it is, before connecting.
pub(crate) fn check_settings(verify: &Verify) -> Result<(), String> {
    Verifier::new(verify, Arc::default()).map(drop)
}

fn take(refusal: &Mutex<Option<String>>) -> Option<String> {
    refusal
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .take()
}

/// The certificate authorities to check against, and where they came from.
#[derive(Debug)]
struct Authorities {
    roots: RootCertStore,
    /// The certificates of the `sslrootcert` file, to recognise a server
    /// certificate that is trusted as it is.
    pinned: Vec<CertificateDer<'static>>,
    /// For messages: `sslrootcert /path` or `the system's trusted roots`.
    source: String,
}

impl Authorities {
    fn load(trust: &Trust) -> Result<Authorities, String> {
        match trust {
            Trust::File(path) => Authorities::from_file(path),
            Trust::System => Authorities::from_system(),
        }
    }

    fn from_file(path: &Path) -> Result<Authorities, String> {
        let source = format!("sslrootcert {}", path.display());
        let pem = std::fs::read(path).map_err(|error| format!("cannot read {source}: {error}"))?;
        let pinned = CertificateDer::pem_slice_iter(&pem)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|error| format!("cannot read the certificates of {source}: {error}"))?;
        if pinned.is_empty() {
            return Err(format!(
                "{source} holds no certificate: it must be a PEM file of `-----BEGIN CERTIFICATE-----` blocks"
            ));
        }
        let mut roots = RootCertStore::empty();
        for (index, certificate) in pinned.iter().enumerate() {
            roots.add(certificate.clone()).map_err(|error| {
                format!(
                    "certificate {} of {source} cannot be used: {error}",
                    index + 1
                )
            })?;
        }
        Ok(Authorities {
            roots,
            pinned,
            source,
        })
    }

    fn from_system() -> Result<Authorities, String> {
        let found = rustls_native_certs::load_native_certs();
        let mut roots = RootCertStore::empty();
        roots.add_parsable_certificates(found.certs);
        if roots.is_empty() {
            let errors: Vec<String> = found.errors.iter().map(ToString::to_string).collect();
            return Err(format!(
                "sslrootcert=system: no trusted certificate authority was found on this system{}",
                if errors.is_empty() {
                    String::new()
                } else {
                    format!(" ({})", errors.join("; "))
                }
            ));
        }
        Ok(Authorities {
            roots,
            pinned: Vec::new(),
            source: "the system's trusted roots".to_owned(),
        })
    }
}

/// Checks the server's certificate as `sslmode` asked.
#[derive(Debug)]
struct Verifier {
    provider: Arc<CryptoProvider>,
    /// `None` when nothing is checked.
    authorities: Option<Authorities>,
    check_host: bool,
    /// Why the last certificate was refused.
    refusal: Arc<Mutex<Option<String>>>,
}

impl Verifier {
    fn new(verify: &Verify, refusal: Arc<Mutex<Option<String>>>) -> Result<Verifier, String> {
        let (authorities, check_host) = match verify {
            Verify::Nothing => (None, false),
            Verify::Chain(trust) => (Some(Authorities::load(trust)?), false),
            Verify::ChainAndHost(trust) => (Some(Authorities::load(trust)?), true),
        };
        Ok(Verifier {
            provider: Arc::new(rustls::crypto::ring::default_provider()),
            authorities,
            check_host,
            refusal,
        })
    }

    /// The verdict on a server's certificate, with the reason for a refusal.
    fn check(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        now: UnixTime,
    ) -> Result<(), String> {
        let Some(authorities) = &self.authorities else {
            return Ok(());
        };
        let parsed = ParsedCertificate::try_from(end_entity)
            .map_err(|error| format!("the server's certificate cannot be read: {error}"))?;
        if authorities.pinned.iter().any(|pinned| pinned == end_entity) {
            check_validity(end_entity, now)?;
        } else {
            verify_server_cert_signed_by_trust_anchor(
                &parsed,
                &authorities.roots,
                intermediates,
                now,
                self.provider.signature_verification_algorithms.all,
            )
            .map_err(|error| untrusted(&error, end_entity, &authorities.source))?;
        }
        if self.check_host && verify_server_name(&parsed, server_name).is_err() {
            let names = CertificateNames::read(end_entity)?;
            let host = host_text(server_name);
            if !names.match_as_libpq_does(&host) {
                return Err(format!(
                    "the server's certificate is not valid for the host name `{host}`: it names {} (sslmode=verify-full checks the host name, verify-ca does not)",
                    names.describe()
                ));
            }
        }
        Ok(())
    }
}

impl ServerCertVerifier for Verifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        match self.check(end_entity, intermediates, server_name, now) {
            Ok(()) => Ok(ServerCertVerified::assertion()),
            Err(why) => {
                *self.refusal.lock().unwrap_or_else(PoisonError::into_inner) = Some(why);
                Err(rustls::Error::InvalidCertificate(
                    CertificateError::ApplicationVerificationFailure,
                ))
            }
        }
    }

    // The handshake's signatures prove that the server holds the key of the
    // certificate it sent; they are checked in every mode.
    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}

/// Why a certificate that does not chain to the authorities was refused.
fn untrusted(error: &rustls::Error, end_entity: &[u8], source: &str) -> String {
    match error {
        // No authority has the issuer's name, or one has it but did not sign
        // the certificate (another authority of the same name).
        rustls::Error::InvalidCertificate(
            CertificateError::UnknownIssuer | CertificateError::BadSignature,
        ) => {
            let issuer = x509_cert::Certificate::from_der(end_entity)
                .map(|certificate| {
                    format!(" (its issuer is `{}`)", certificate.tbs_certificate.issuer)
                })
                .unwrap_or_default();
            format!(
                "the server's certificate is not signed by a certificate authority of {source}{issuer}"
            )
        }
        other => format!("the server's certificate is refused: {other}"),
    }
}

/// The validity period of a certificate trusted as it is.
fn check_validity(end_entity: &[u8], now: UnixTime) -> Result<(), String> {
    let certificate = x509_cert::Certificate::from_der(end_entity)
        .map_err(|error| format!("the server's certificate cannot be read: {error}"))?;
    let validity = &certificate.tbs_certificate.validity;
    let now = now.as_secs();
    if now < validity.not_before.to_unix_duration().as_secs() {
        return Err(format!(
            "the server's certificate is not valid before {}",
            validity.not_before
        ));
    }
    if now > validity.not_after.to_unix_duration().as_secs() {
        return Err(format!(
            "the server's certificate expired at {}",
            validity.not_after
        ));
    }
    Ok(())
}

fn host_text(server_name: &ServerName<'_>) -> String {
    match server_name {
        ServerName::DnsName(name) => name.as_ref().to_owned(),
        ServerName::IpAddress(address) => IpAddr::from(*address).to_string(),
        other => format!("{other:?}"),
    }
}

/// The names a certificate is issued for.
#[derive(Debug, Default, PartialEq, Eq)]
struct CertificateNames {
    /// Subject alternative names of type dNSName.
    dns: Vec<String>,
    /// Subject alternative names of type iPAddress.
    addresses: Vec<IpAddr>,
    /// The subject's common names.
    common_names: Vec<String>,
}

impl CertificateNames {
    fn read(der: &[u8]) -> Result<CertificateNames, String> {
        let unreadable = |error: x509_cert::der::Error| {
            format!("the server's certificate cannot be read: {error}")
        };
        let certificate = x509_cert::Certificate::from_der(der).map_err(unreadable)?;
        let mut names = CertificateNames::default();
        let tbs = &certificate.tbs_certificate;
        for extension in tbs.extensions.iter().flatten() {
            if extension.extn_id != rfc5280::ID_CE_SUBJECT_ALT_NAME {
                continue;
            }
            let alternatives =
                SubjectAltName::from_der(extension.extn_value.as_bytes()).map_err(unreadable)?;
            for name in alternatives.0 {
                match name {
                    GeneralName::DnsName(dns) => names.dns.push(dns.to_string()),
                    GeneralName::IpAddress(octets) => {
                        if let Some(address) = ip_address(octets.as_bytes()) {
                            names.addresses.push(address);
                        }
                    }
                    _ => {}
                }
            }
        }
        for attribute in tbs.subject.0.iter().flat_map(|rdn| rdn.0.iter()) {
            if attribute.oid == rfc4519::CN
                && let Some(text) = directory_string(&attribute.value)
            {
                names.common_names.push(text);
            }
        }
        Ok(names)
    }

    /// libpq's reading: a subject alternative name that matches the host
    /// wins; the common name counts only when there is no alternative name
    /// of the host's kind (dNSName for a name, iPAddress for an address).
    fn match_as_libpq_does(&self, host: &str) -> bool {
        let address = host.parse::<IpAddr>().ok();
        if self.dns.iter().any(|name| name_matches(name, host)) {
            return true;
        }
        if address.is_some_and(|address| self.addresses.contains(&address)) {
            return true;
        }
        let has_alternative_of_hosts_kind = match address {
            Some(_) => !self.addresses.is_empty(),
            None => !self.dns.is_empty(),
        };
        !has_alternative_of_hosts_kind
            && self
                .common_names
                .iter()
                .any(|name| name_matches(name, host))
    }

    fn describe(&self) -> String {
        let mut names: Vec<String> = self.dns.clone();
        names.extend(self.addresses.iter().map(ToString::to_string));
        if names.is_empty() {
            names = self.common_names.clone();
        }
        if names.is_empty() {
            return "no host".to_owned();
        }
        names
            .iter()
            .map(|name| format!("`{name}`"))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// Whether a certificate's name matches a host, as libpq compares them: equal
/// ignoring ASCII case, or `*.rest` with the star standing for exactly one
/// label of the host.
fn name_matches(name: &str, host: &str) -> bool {
    if name.eq_ignore_ascii_case(host) {
        return true;
    }
    let Some(suffix) = name.strip_prefix('*').filter(|s| s.starts_with('.')) else {
        return false;
    };
    if suffix.len() < 2 || host.len() <= suffix.len() {
        return false;
    }
    let (label, rest) = host.split_at(host.len() - suffix.len());
    rest.eq_ignore_ascii_case(suffix) && !label.contains('.')
}

fn ip_address(octets: &[u8]) -> Option<IpAddr> {
    match octets.len() {
        4 => <[u8; 4]>::try_from(octets).ok().map(IpAddr::from),
        16 => <[u8; 16]>::try_from(octets).ok().map(IpAddr::from),
        _ => None,
    }
}

/// The text of an X.500 directory string, in the encodings certificates use.
fn directory_string(value: &x509_cert::der::Any) -> Option<String> {
    match value.tag() {
        Tag::Utf8String => Utf8StringRef::try_from(value).ok().map(|s| s.to_string()),
        Tag::PrintableString => PrintableStringRef::try_from(value)
            .ok()
            .map(|s| s.to_string()),
        Tag::Ia5String => Ia5StringRef::try_from(value).ok().map(|s| s.to_string()),
        Tag::TeletexString => TeletexStringRef::try_from(value)
            .ok()
            .map(|s| s.to_string()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair};

    #[test]
    fn names_match_as_in_libpq() {
        assert!(name_matches("db.example.com", "DB.Example.com"));
        assert!(name_matches("*.example.com", "db.example.com"));
        assert!(!name_matches("*.example.com", "a.db.example.com"));
        assert!(!name_matches("*.example.com", "example.com"));
        assert!(!name_matches("*.example.com", ".example.com"));
        assert!(!name_matches("*example.com", "dbexample.com"));
        assert!(!name_matches("db.example.com", "db.example.org"));
    }

    #[test]
    fn the_common_name_counts_only_without_an_alternative_name_of_the_hosts_kind() {
        let common_only = CertificateNames {
            common_names: vec!["db.example.com".into()],
            ..CertificateNames::default()
        };
        assert!(common_only.match_as_libpq_does("db.example.com"));
        assert!(!common_only.match_as_libpq_does("other.example.com"));
        let with_dns = CertificateNames {
            dns: vec!["other.example.com".into()],
            ..common_only
        };
        assert!(!with_dns.match_as_libpq_does("db.example.com"));
        // An address host looks for iPAddress names; dNSName ones do not
        // hide the common name from it.
        let address_common_name = CertificateNames {
            dns: vec!["db.example.com".into()],
            common_names: vec!["10.0.0.5".into()],
            ..CertificateNames::default()
        };
        assert!(address_common_name.match_as_libpq_does("10.0.0.5"));
        let with_address = CertificateNames {
            addresses: vec!["10.0.0.6".parse().unwrap()],
            ..address_common_name
        };
        assert!(!with_address.match_as_libpq_does("10.0.0.5"));
        assert!(with_address.match_as_libpq_does("10.0.0.6"));
    }

    /// A certificate authority, and a server certificate it signed.
    struct Chain {
        ca: rcgen::Certificate,
        server: rcgen::Certificate,
    }

    fn chain(server_names: &[&str], common_name: &str) -> Chain {
        let ca_key = KeyPair::generate().unwrap();
        let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca_params
            .distinguished_name
            .push(DnType::CommonName, "test authority");
        let ca = ca_params.self_signed(&ca_key).unwrap();
        let issuer = Issuer::new(ca_params, ca_key);
        let server_key = KeyPair::generate().unwrap();
        let names: Vec<String> = server_names.iter().map(|s| (*s).to_owned()).collect();
        let mut params = CertificateParams::new(names).unwrap();
        params
            .distinguished_name
            .push(DnType::CommonName, common_name);
        let server = params.signed_by(&server_key, &issuer).unwrap();
        Chain { ca, server }
    }

    fn verifier(pem: &str, check_host: bool) -> (tempfile::TempDir, Verifier) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("root.pem");
        std::fs::write(&path, pem).unwrap();
        let trust = Trust::File(path);
        let verify = if check_host {
            Verify::ChainAndHost(trust)
        } else {
            Verify::Chain(trust)
        };
        let verifier = Verifier::new(&verify, Arc::default()).unwrap();
        (dir, verifier)
    }

    fn name(host: &str) -> ServerName<'static> {
        ServerName::try_from(host.to_owned()).unwrap()
    }

    #[test]
    fn a_certificate_is_checked_against_the_authority_and_the_host() {
        let chain = chain(&["db.example.com", "127.0.0.1"], "db");
        // Another authority, of the same name.
        let other = self::chain(&["db.example.com"], "db");
        let (_dir, full) = verifier(&chain.ca.pem(), true);
        let server = chain.server.der();
        let now = UnixTime::now();
        full.check(server, &[], &name("db.example.com"), now)
            .unwrap();
        full.check(server, &[], &name("127.0.0.1"), now).unwrap();
        let wrong = full
            .check(server, &[], &name("other.example.com"), now)
            .unwrap_err();
        assert!(
            wrong.contains(
                "not valid for the host name `other.example.com`: it names `db.example.com`, `127.0.0.1`"
            ),
            "{wrong}"
        );
        let (_dir, ca_only) = verifier(&chain.ca.pem(), false);
        ca_only
            .check(server, &[], &name("other.example.com"), now)
            .unwrap();
        let stranger = ca_only
            .check(other.server.der(), &[], &name("db.example.com"), now)
            .unwrap_err();
        assert!(
            stranger.contains("not signed by a certificate authority of sslrootcert")
                && stranger.contains("its issuer is `CN=test authority`"),
            "{stranger}"
        );
    }

    #[test]
    fn a_common_name_only_certificate_passes_verify_full_as_with_libpq() {
        let chain = chain(&[], "db.example.com");
        let (_dir, full) = verifier(&chain.ca.pem(), true);
        let now = UnixTime::now();
        full.check(chain.server.der(), &[], &name("db.example.com"), now)
            .unwrap();
        let error = full
            .check(chain.server.der(), &[], &name("db2.example.com"), now)
            .unwrap_err();
        assert!(error.contains("it names `db.example.com`"), "{error}");
    }

    /// PostgreSQL's documentation makes a test server's certificate with
    /// `openssl req -new -x509`: a self-signed certificate authority, which
    /// the client then trusts as its root.
    #[test]
    fn a_self_signed_authority_serving_as_its_own_root_is_trusted() {
        let key = KeyPair::generate().unwrap();
        let mut params = CertificateParams::new(vec!["db.example.com".to_owned()]).unwrap();
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.not_after = rcgen::date_time_ymd(2200, 1, 1);
        let certificate = params.self_signed(&key).unwrap();
        let (_dir, full) = verifier(&certificate.pem(), true);
        let now = UnixTime::now();
        full.check(certificate.der(), &[], &name("db.example.com"), now)
            .unwrap();
        // In the year 2201.
        let later = UnixTime::since_unix_epoch(std::time::Duration::from_secs(7_289_000_000));
        let expired = full
            .check(certificate.der(), &[], &name("db.example.com"), later)
            .unwrap_err();
        assert!(expired.contains("expired at"), "{expired}");
    }

    #[test]
    fn root_files_must_hold_certificates() {
        let dir = tempfile::tempdir().unwrap();
        let empty = dir.path().join("empty.pem");
        std::fs::write(&empty, "not a certificate\n").unwrap();
        let error = Verifier::new(&Verify::Chain(Trust::File(empty)), Arc::default()).unwrap_err();
        assert!(error.contains("holds no certificate"), "{error}");
        let missing = dir.path().join("missing.pem");
        let error =
            Verifier::new(&Verify::Chain(Trust::File(missing)), Arc::default()).unwrap_err();
        assert!(error.contains("cannot read sslrootcert"), "{error}");
    }
}
