//! TLS to PostgreSQL, with `sslmode` and `sslrootcert` read as libpq reads
//! them, against servers of their own on 127.0.0.1: one with `ssl = on` and a
//! certificate that this test process makes, one without TLS.
//!
//! The TLS server has two roles beside `postgres`, whose `pg_hba.conf` rules
//! show how a connection was made: `tls_only` is rejected without TLS, and
//! `plain_only` is rejected with it.

use std::sync::OnceLock;
use std::sync::atomic::{AtomicUsize, Ordering};

use migrate_testkit::{BoxError, TcpServer, TcpServerOptions, TestDb};
use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair};

use crate::{Run, Workspace};

/// The certificate authorities, PEM.
#[derive(Debug)]
struct Authorities {
    /// The authority that signed the server's certificate.
    ca: String,
    /// An authority that has nothing to do with the server.
    other_ca: String,
}

#[derive(Debug)]
struct Servers {
    tls: TcpServer,
    plain: TcpServer,
    authorities: Authorities,
}

static SERVERS: OnceLock<Result<Servers, String>> = OnceLock::new();

fn servers() -> &'static Servers {
    match SERVERS.get_or_init(|| start().map_err(|error| error.to_string())) {
        Ok(servers) => servers,
        Err(error) => panic!("the TLS test servers did not start: {error}"),
    }
}

fn authority(
    common_name: &str,
) -> Result<(rcgen::Certificate, Issuer<'static, KeyPair>), BoxError> {
    let key = KeyPair::generate()?;
    let mut params = CertificateParams::new(Vec::<String>::new())?;
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params
        .distinguished_name
        .push(DnType::CommonName, common_name);
    let certificate = params.self_signed(&key)?;
    Ok((certificate, Issuer::new(params, key)))
}

fn start() -> Result<Servers, BoxError> {
    let (ca, issuer) = authority("migrate test authority")?;
    let (other_ca, _) = authority("another authority")?;
    let server_key = KeyPair::generate()?;
    let mut params = CertificateParams::new(vec!["localhost".to_owned(), "127.0.0.1".to_owned()])?;
    params
        .distinguished_name
        .push(DnType::CommonName, "localhost");
    let server_certificate = params.signed_by(&server_key, &issuer)?;

    let authorities = Authorities {
        ca: ca.pem(),
        other_ca: other_ca.pem(),
    };

    let tls = TcpServer::start(
        TcpServerOptions::new()
            .tls(server_certificate.pem(), server_key.serialize_pem())
            .hba_rule("hostnossl all tls_only 127.0.0.1/32 reject")
            .hba_rule("hostssl all plain_only 127.0.0.1/32 reject"),
    )?;
    let plain = TcpServer::start(TcpServerOptions::new())?;
    runtime()?.block_on(async {
        let admin = tls.connect_admin("postgres").await?;
        admin
            .batch_execute(
                "CREATE ROLE tls_only LOGIN SUPERUSER; CREATE ROLE plain_only LOGIN SUPERUSER;",
            )
            .await
    })?;
    Ok(Servers {
        tls,
        plain,
        authorities,
    })
}

fn runtime() -> std::io::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
}

/// A new database on `server`, named `tls_<n>`.
fn database(server: &TcpServer) -> String {
    static NEXT: AtomicUsize = AtomicUsize::new(1);
    let name = format!("tls_{}", NEXT.fetch_add(1, Ordering::Relaxed));
    runtime()
        .expect("runtime")
        .block_on(async {
            let admin = server.connect_admin("postgres").await?;
            admin
                .batch_execute(&format!("CREATE DATABASE {name}"))
                .await
        })
        .expect("create the database");
    name
}

/// A copy of the shop fixture, with the authorities' PEM files beside it
/// (deleted with it, at the end of the test).
struct Scratch {
    workspace: Workspace,
    /// `ca.pem`: the authority that signed the server's certificate.
    ca: String,
    /// `other-ca.pem`: an authority that has nothing to do with the server.
    other_ca: String,
}

fn scratch(servers: &Servers) -> Scratch {
    let workspace = Workspace::with_fixture("shop");
    let write = |name: &str, pem: &str| {
        let file = workspace.dir.path().join(name);
        std::fs::write(&file, pem).expect("PEM file");
        file.display().to_string()
    };
    Scratch {
        ca: write("ca.pem", &servers.authorities.ca),
        other_ca: write("other-ca.pem", &servers.authorities.other_ca),
        workspace,
    }
}

impl Scratch {
    /// `migrate status`.
    fn status(&self, url: &str) -> Run {
        self.workspace.migrate(url, &["status"])
    }
}

#[track_caller]
fn assert_stderr(run: &Run, expected: &str) {
    assert!(
        run.stderr.contains(expected),
        "expected `{expected}` in:\n{}",
        run.stderr
    );
}

#[test]
fn disable_connects_without_tls_even_to_a_tls_server() {
    let servers = servers();
    let scratch = scratch(servers);
    let db = database(&servers.tls);
    let plain = servers.tls.url("plain_only", &db);
    scratch
        .status(&format!("{plain}?sslmode=disable"))
        .expect(0);
    let tls_only = servers.tls.url("tls_only", &db);
    let refused = scratch
        .status(&format!("{tls_only}?sslmode=disable"))
        .expect(1);
    assert_stderr(&refused, "no encryption");
}

#[test]
fn require_encrypts_without_verifying() {
    let servers = servers();
    let scratch = scratch(servers);
    let url = servers.tls.url("tls_only", &database(&servers.tls));
    let up = scratch
        .workspace
        .migrate(&format!("{url}?sslmode=require"), &["up", "--to", "2"])
        .expect(0);
    assert!(
        up.stdout.starts_with("applied 2 migrations"),
        "{}",
        up.stdout
    );
    // A server that has no TLS is refused.
    let plain = servers.plain.url("postgres", &database(&servers.plain));
    let refused = scratch
        .status(&format!("{plain}?sslmode=require"))
        .expect(1);
    assert_stderr(&refused, "server does not support TLS");
}

/// libpq: "if a root CA file exists, the behavior of sslmode=require will be
/// the same as that of verify-ca".
#[test]
fn require_with_a_root_certificate_verifies_as_verify_ca_does() {
    let servers = servers();
    let scratch = scratch(servers);
    let url = servers.tls.url("tls_only", &database(&servers.tls));
    scratch
        .status(&format!("{url}?sslmode=require&sslrootcert={}", scratch.ca))
        .expect(0);
    let refused = scratch
        .status(&format!(
            "{url}?sslmode=require&sslrootcert={}",
            scratch.other_ca
        ))
        .expect(1);
    assert_stderr(
        &refused,
        "the server's certificate is not signed by a certificate authority of sslrootcert",
    );
}

#[test]
fn verify_ca_checks_the_authority_and_not_the_host_name() {
    let servers = servers();
    let scratch = scratch(servers);
    let db = database(&servers.tls);
    let port = servers.tls.port();
    // The certificate is for localhost and 127.0.0.1, not for this name.
    let elsewhere = format!("postgresql://tls_only@db.invalid:{port}/{db}?hostaddr=127.0.0.1");
    scratch
        .status(&format!(
            "{elsewhere}&sslmode=verify-ca&sslrootcert={}",
            scratch.ca
        ))
        .expect(0);
    let other = &scratch.other_ca;
    let refused = scratch
        .status(&format!(
            "{elsewhere}&sslmode=verify-ca&sslrootcert={other}"
        ))
        .expect(1);
    assert_stderr(
        &refused,
        &format!(
            "error performing TLS handshake: the server's certificate is not signed by a certificate authority of sslrootcert {other} (its issuer is `CN=migrate test authority`)"
        ),
    );
}

#[test]
fn verify_full_checks_the_host_name_too() {
    let servers = servers();
    let scratch = scratch(servers);
    let db = database(&servers.tls);
    let port = servers.tls.port();
    let full = format!("sslmode=verify-full&sslrootcert={}", scratch.ca);
    scratch
        .status(&format!("{}?{full}", servers.tls.url("tls_only", &db)))
        .expect(0);
    scratch
        .status(&format!(
            "postgresql://tls_only@localhost:{port}/{db}?hostaddr=127.0.0.1&{full}"
        ))
        .expect(0);
    let refused = scratch
        .status(&format!(
            "postgresql://tls_only@db.invalid:{port}/{db}?hostaddr=127.0.0.1&{full}"
        ))
        .expect(1);
    assert_stderr(
        &refused,
        "the server's certificate is not valid for the host name `db.invalid`: it names `localhost`, `127.0.0.1` (sslmode=verify-full checks the host name, verify-ca does not)",
    );
}

#[test]
fn the_root_certificate_defaults_to_the_one_in_the_home_folder() {
    let servers = servers();
    let scratch = scratch(servers);
    let url = format!(
        "{}?sslmode=verify-full",
        servers.tls.url("tls_only", &database(&servers.tls))
    );
    let missing = scratch.status(&url).expect(2);
    assert_stderr(&missing, ".postgresql/root.crt does not exist");
    // The workspace is the home folder of the runs.
    let folder = scratch.workspace.dir.path().join(".postgresql");
    std::fs::create_dir(&folder).expect("folder");
    std::fs::write(folder.join("root.crt"), &servers.authorities.ca).expect("root.crt");
    scratch.status(&url).expect(0);
}

#[test]
fn prefer_is_the_default_and_uses_tls_when_the_server_has_it() {
    let servers = servers();
    let scratch = scratch(servers);
    let db = database(&servers.tls);
    let tls_only = servers.tls.url("tls_only", &db);
    scratch.status(&tls_only).expect(0);
    scratch
        .status(&format!("{tls_only}?sslmode=prefer"))
        .expect(0);
    // As libpq, prefer tries again without TLS when the connection with TLS
    // is rejected.
    let plain_only = servers.tls.url("plain_only", &db);
    scratch
        .status(&format!("{plain_only}?sslmode=prefer"))
        .expect(0);
    // And goes without TLS to a server that has none.
    let plain = servers.plain.url("postgres", &database(&servers.plain));
    scratch.status(&plain).expect(0);
    scratch.status(&format!("{plain}?sslmode=prefer")).expect(0);
}

#[test]
fn prefer_reports_both_attempts_when_both_fail() {
    let servers = servers();
    let scratch = scratch(servers);
    let url = servers.tls.url("tls_only", &database(&servers.tls));
    // Verification fails with TLS, and the role is rejected without it.
    let refused = scratch
        .status(&format!(
            "{url}?sslmode=prefer&sslrootcert={}",
            scratch.other_ca
        ))
        .expect(1);
    assert_stderr(
        &refused,
        "with TLS: error performing TLS handshake: the server's certificate is not signed",
    );
    assert_stderr(&refused, "; then without TLS: ");
    assert_stderr(&refused, "no encryption");
}

#[test]
fn allow_tries_without_tls_first_then_with_it() {
    let servers = servers();
    let scratch = scratch(servers);
    let db = database(&servers.tls);
    for role in ["plain_only", "tls_only"] {
        scratch
            .status(&format!("{}?sslmode=allow", servers.tls.url(role, &db)))
            .expect(0);
    }
}

/// `sslrootcert=system` reads the system's trusted roots, which
/// `SSL_CERT_FILE` replaces (as with OpenSSL) so that the test decides them.
#[test]
fn system_roots_mean_verify_full() {
    let servers = servers();
    let scratch = scratch(servers);
    let url = servers.tls.url("tls_only", &database(&servers.tls));
    let with_roots = |roots: &str, url: &str| {
        scratch
            .workspace
            .migrate_with_env(url, &["status"], &[("SSL_CERT_FILE", roots)])
    };
    with_roots(&scratch.ca, &format!("{url}?sslrootcert=system")).expect(0);
    let unknown = with_roots(&scratch.other_ca, &format!("{url}?sslrootcert=system")).expect(1);
    assert_stderr(
        &unknown,
        "not signed by a certificate authority of the system's trusted roots",
    );
    // verify-full is the default, so the host name counts.
    let port = servers.tls.port();
    let elsewhere = format!(
        "postgresql://tls_only@db.invalid:{port}/postgres?hostaddr=127.0.0.1&sslrootcert=system"
    );
    let wrong_host = with_roots(&scratch.ca, &elsewhere).expect(1);
    assert_stderr(&wrong_host, "not valid for the host name `db.invalid`");
    let weak = with_roots(
        &scratch.ca,
        &format!("{url}?sslmode=require&sslrootcert=system"),
    )
    .expect(2);
    assert_stderr(
        &weak,
        "sslmode=require may not be used with sslrootcert=system",
    );
}

#[test]
fn bad_tls_parameters_are_usage_errors() {
    let servers = servers();
    let scratch = scratch(servers);
    let url = servers.tls.url("tls_only", &database(&servers.tls));
    let mode = scratch.status(&format!("{url}?sslmode=verify")).expect(2);
    assert_stderr(&mode, "invalid sslmode `verify`");
    let cert = scratch
        .status(&format!("{url}?sslcert=client.crt"))
        .expect(2);
    assert_stderr(&cert, "`sslcert` is not supported");
    let missing = scratch
        .status(&format!(
            "{url}?sslmode=verify-ca&sslrootcert=/nonexistent/ca.pem"
        ))
        .expect(2);
    assert_stderr(&missing, "cannot read sslrootcert /nonexistent/ca.pem");
}

/// libpq does not use TLS on unix-domain sockets, where the server offers
/// none, whatever `sslmode` says.
#[tokio::test]
async fn unix_sockets_connect_without_tls_whatever_the_mode() -> Result<(), BoxError> {
    let db = TestDb::create().await?;
    let url = db.url();
    let workspace = Workspace::with_fixture("shop");
    for mode in ["require", "verify-full"] {
        workspace
            .migrate(&format!("{url}?sslmode={mode}"), &["status"])
            .expect(0);
    }
    Ok(())
}
