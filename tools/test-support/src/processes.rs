//! Child processes that cannot outlive the test process. Each is spawned from one keeper thread that lives as
//! long as the process, with `PR_SET_PDEATHSIG`, so a server is killed even when the test binary exits without
//! running destructors (a shared server in a `static`, a panic, Ctrl-C). Each child leads its own process
//! group, so stopping it also stops what it started (cargo lambda watch starts the function binaries).
//! `PR_SET_PDEATHSIG` is Linux's; elsewhere (macOS) a child outlives a test binary that dies without cleanup.

use std::io;
use std::os::unix::process::CommandExt;
use std::process::{Child, Command};
use std::sync::mpsc::{channel, Sender};
use std::sync::{Mutex, OnceLock};

type SpawnRequest = (Command, Sender<io::Result<Child>>);

static KEEPER: OnceLock<Mutex<Sender<SpawnRequest>>> = OnceLock::new();

pub fn spawn(mut command: Command) -> io::Result<Child> {
    // SAFETY: the closure runs in the forked child before exec and only calls async-signal-safe functions.
    unsafe {
        command.pre_exec(|| {
            #[cfg(target_os = "linux")]
            libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
            libc::setpgid(0, 0);
            Ok(())
        });
    }
    let keeper = KEEPER.get_or_init(|| {
        let (requests, inbox) = channel::<SpawnRequest>();
        std::thread::Builder::new()
            .name("child-keeper".into())
            .spawn(move || {
                for (mut command, reply) in inbox {
                    let _ = reply.send(command.spawn());
                }
            })
            .expect("spawn keeper thread");
        Mutex::new(requests)
    });
    let (reply, answer) = channel();
    keeper.lock().unwrap_or_else(|p| p.into_inner()).send((command, reply)).expect("keeper thread alive");
    answer.recv().expect("keeper thread replies")
}

/// Kills a child's whole process group and reaps the child.
pub fn kill_group(child: &mut Child) {
    // SAFETY: plain syscall on a pid we own; a negative pid addresses its process group.
    unsafe {
        libc::kill(-(child.id() as i32), libc::SIGKILL);
    }
    let _ = child.kill();
    let _ = child.wait();
}

/// Waits until `port` on 127.0.0.1 accepts connections; panics when `child` (named `what`) exits first or `limit`
/// passes (for servers whose readiness is their listening port).
pub fn wait_for_port(child: &mut Child, port: u16, limit: std::time::Duration, what: &str) {
    let started = std::time::Instant::now();
    while started.elapsed() < limit {
        if let Ok(Some(status)) = child.try_wait() {
            panic!("{what} exited at start: {status}");
        }
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    panic!("{what} is not listening on {port} after {limit:?}");
}
