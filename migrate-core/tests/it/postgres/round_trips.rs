//! Counts round trips: a unix-socket proxy in front of the test server that
//! counts the messages after which a client waits for the server.
//!
//! With the simple query protocol a round trip is one `Query` message; with
//! the extended protocol it is one `Sync`. Counting both covers any way a
//! client could talk to the server.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use migrate_testkit::{BoxError, PORT, TestDb};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{UnixListener, UnixStream};
use tokio_postgres::{Client, Config, NoTls};

/// The protocol code of an `SSLRequest`, which comes before the startup message.
const SSL_REQUEST: u32 = 80_877_103;

/// A proxy whose connections count their round trips.
pub struct CountingProxy {
    dir: tempfile::TempDir,
    round_trips: Arc<AtomicUsize>,
    dbname: String,
}

impl CountingProxy {
    /// Starts a proxy to the server of `db`.
    pub fn start(db: &TestDb) -> Result<CountingProxy, BoxError> {
        let dir = tempfile::tempdir()?;
        let listener = UnixListener::bind(socket(dir.path()))?;
        let server = socket(db.socket_dir());
        let round_trips = Arc::new(AtomicUsize::new(0));
        let counter = Arc::clone(&round_trips);
        tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                tokio::spawn(relay(client, server.clone(), Arc::clone(&counter)));
            }
        });
        Ok(CountingProxy {
            dir,
            round_trips,
            dbname: db.name().to_owned(),
        })
    }

    /// Connects to the database through the proxy.
    pub async fn connect(&self) -> Result<Client, BoxError> {
        let (client, connection) = Config::new()
            .host_path(self.dir.path())
            .port(PORT)
            .user("postgres")
            .dbname(&self.dbname)
            .connect(NoTls)
            .await?;
        tokio::spawn(async move {
            let _ = connection.await;
        });
        Ok(client)
    }

    /// The round trips so far, over all connections; resets the count.
    pub fn take(&self) -> usize {
        self.round_trips.swap(0, Ordering::SeqCst)
    }
}

fn socket(dir: &Path) -> std::path::PathBuf {
    dir.join(format!(".s.PGSQL.{PORT}"))
}

async fn relay(client: UnixStream, server: std::path::PathBuf, counter: Arc<AtomicUsize>) {
    let Ok(server) = UnixStream::connect(server).await else {
        return;
    };
    let (mut from_client, mut to_server) = (client, server);
    let (mut client_read, mut client_write) = from_client.split();
    let (mut server_read, mut server_write) = to_server.split();
    let upstream = count_and_forward(&mut client_read, &mut server_write, &counter);
    let downstream = tokio::io::copy(&mut server_read, &mut client_write);
    let _ = tokio::join!(upstream, downstream);
}

/// Forwards the client's messages, counting `Query` and `Sync` ones.
async fn count_and_forward(
    from: &mut (impl AsyncReadExt + Unpin),
    to: &mut (impl AsyncWriteExt + Unpin),
    counter: &AtomicUsize,
) -> std::io::Result<()> {
    // The startup message, and an SSL request before it, have no type byte.
    loop {
        let length = from.read_u32().await?;
        let mut body = vec![0; usize::try_from(length).unwrap_or(0).saturating_sub(4)];
        from.read_exact(&mut body).await?;
        to.write_u32(length).await?;
        to.write_all(&body).await?;
        if body.get(..4) != Some(&SSL_REQUEST.to_be_bytes()[..]) {
            break;
        }
    }
    loop {
        let kind = from.read_u8().await?;
        let length = from.read_u32().await?;
        let mut body = vec![0; usize::try_from(length).unwrap_or(0).saturating_sub(4)];
        from.read_exact(&mut body).await?;
        if kind == b'Q' || kind == b'S' {
            counter.fetch_add(1, Ordering::SeqCst);
        }
        to.write_u8(kind).await?;
        to.write_u32(length).await?;
        to.write_all(&body).await?;
    }
}
