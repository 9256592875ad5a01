//! A Lambda-sized CPU: Lambda gives a function of M MB the share M / 1,769 of one vCPU (a whole vCPU at 1,769 MB).
//! Here that share is a cgroup v1 CFS quota (period 100,000 µs, quota = round(100,000 × M / 1,769) µs) on a cgroup
//! of its own under `/sys/fs/cgroup/cpu`, holding only the function's process: the servers that play AWS
//! (DynamoDB Local, the simulator, the bench itself) keep the whole machine.
//!
//! The process joins the cgroup between fork and exec (it writes its own pid into `cgroup.procs`), so its whole
//! init, dynamic loading included, runs under the quota. The cgroup is removed when dropped. Where the hierarchy
//! is missing or not writable (not root, cgroup v2 only, a container), [`CpuCgroup::create`] says why, and the
//! caller skips what needed it.

use std::ffi::CString;
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

/// Where cgroup v1 mounts its CPU controller.
pub const CGROUP_V1_CPU: &str = "/sys/fs/cgroup/cpu";
/// The CFS period of the quota, in µs (the kernel's default).
pub const PERIOD_US: u64 = 100_000;
/// The memory size at which Lambda gives a function one whole vCPU.
pub const FULL_VCPU_MB: u64 = 1_769;

/// The CFS quota (µs per [`PERIOD_US`]) of a function of `memory_mb`: its share of one vCPU, rounded to the
/// nearest µs.
pub fn quota_us(memory_mb: u64) -> u64 {
    (PERIOD_US * memory_mb + FULL_VCPU_MB / 2) / FULL_VCPU_MB
}

/// Why no quota could be set up.
#[derive(Debug, thiserror::Error)]
pub enum QuotaError {
    #[error("no cgroup v1 CPU controller at {0} (cgroup v2 only, or not mounted)")]
    NoController(PathBuf),
    #[error("cannot create the cgroup {path}: {source} (root is needed)")]
    Create { path: PathBuf, source: io::Error },
    #[error("{0} is not a cgroup v1 CPU controller: a new group there has no cpu.cfs_quota_us")]
    NotACgroup(PathBuf),
    #[error("cannot write {value} into {file}: {source}")]
    Write { file: PathBuf, value: String, source: io::Error },
    #[error("the cgroup path {0} holds a NUL byte")]
    Path(PathBuf),
}

/// A cgroup with the CPU quota of one memory size. Removed (its remaining processes moved back to the root
/// first) when dropped, on every path out of the measurement.
#[derive(Debug)]
pub struct CpuCgroup {
    root: PathBuf,
    path: PathBuf,
    memory_mb: u64,
    /// `<path>/cgroup.procs`, ready for the forked child, which must not allocate.
    procs: CString,
}

impl CpuCgroup {
    /// Creates `<root>/<name>` with the quota of `memory_mb` ([`CGROUP_V1_CPU`] as root in the bench; the unit
    /// tests pass a plain directory to check the refusal).
    pub fn create(root: &Path, name: &str, memory_mb: u64) -> Result<Self, QuotaError> {
        if !root.is_dir() {
            return Err(QuotaError::NoController(root.to_owned()));
        }
        let path = root.join(name);
        let procs = CString::new(path.join("cgroup.procs").as_os_str().as_bytes())
            .map_err(|_| QuotaError::Path(path.clone()))?;
        std::fs::create_dir(&path).map_err(|source| QuotaError::Create { path: path.clone(), source })?;
        let group = Self { root: root.to_owned(), path, memory_mb, procs };
        // The kernel fills a new cgroup with its control files; a plain directory stays empty.
        if !group.path.join("cpu.cfs_quota_us").is_file() {
            return Err(QuotaError::NotACgroup(root.to_owned()));
        }
        group.write("cpu.cfs_period_us", PERIOD_US)?;
        group.write("cpu.cfs_quota_us", quota_us(memory_mb))?;
        Ok(group)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn memory_mb(&self) -> u64 {
        self.memory_mb
    }

    pub fn quota_us(&self) -> u64 {
        quota_us(self.memory_mb)
    }

    /// Makes the process `command` starts join this cgroup before it runs a single instruction of its binary:
    /// the forked child writes its own pid into `cgroup.procs`, then execs. Spawning fails if it cannot.
    pub fn confine(&self, command: &mut Command) {
        let procs = self.procs.clone();
        // SAFETY: runs in the forked child before exec; getpid, open, write and close are async-signal-safe, and
        // nothing here allocates (the path was prepared above, the digits go to a stack buffer).
        unsafe {
            command.pre_exec(move || {
                let mut digits = [0u8; 20];
                let mut start = digits.len();
                let mut pid = libc::getpid() as u64;
                loop {
                    start -= 1;
                    digits[start] = b'0' + (pid % 10) as u8;
                    pid /= 10;
                    if pid == 0 {
                        break;
                    }
                }
                let fd = libc::open(procs.as_ptr(), libc::O_WRONLY | libc::O_CLOEXEC);
                if fd < 0 {
                    return Err(io::Error::last_os_error());
                }
                let length = digits.len() - start;
                let written = libc::write(fd, digits[start..].as_ptr().cast(), length);
                let failure = (written != length as isize).then(io::Error::last_os_error);
                libc::close(fd);
                failure.map_or(Ok(()), Err)
            });
        }
    }

    /// Whether process `pid` is in this cgroup.
    pub fn holds(&self, pid: u32) -> bool {
        self.members().contains(&pid)
    }

    fn members(&self) -> Vec<u32> {
        std::fs::read_to_string(self.path.join("cgroup.procs"))
            .unwrap_or_default()
            .lines()
            .filter_map(|line| line.trim().parse().ok())
            .collect()
    }

    fn write(&self, file: &str, value: u64) -> Result<(), QuotaError> {
        let file = self.path.join(file);
        std::fs::write(&file, value.to_string()).map_err(|source| QuotaError::Write {
            file,
            value: value.to_string(),
            source,
        })
    }
}

impl Drop for CpuCgroup {
    fn drop(&mut self) {
        // A cgroup with processes cannot be removed: move any that remain (a process the caller did not stop)
        // back to the root, then remove it; a killed process may take a moment to leave.
        for _ in 0..50 {
            for pid in self.members() {
                let _ = std::fs::write(self.root.join("cgroup.procs"), pid.to_string());
            }
            match std::fs::remove_dir(&self.path) {
                Ok(()) => return,
                Err(e) if e.kind() == io::ErrorKind::NotFound => return,
                Err(_) if !self.path.join("cpu.cfs_quota_us").is_file() => {
                    // Not a cgroup (the refused case): a plain directory, emptied by hand.
                    let _ = std::fs::remove_dir_all(&self.path);
                    return;
                }
                Err(_) => std::thread::sleep(Duration::from_millis(20)),
            }
        }
        eprintln!("cpu quota: could not remove {}; remove it with rmdir", self.path.display());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_quota_is_the_share_of_one_vcpu_rounded_to_the_microsecond() {
        // 100,000 × 128 / 1,769 = 7,235.7; × 256 → 14,471.4; × 512 → 28,942.9.
        assert_eq!(quota_us(128), 7_236);
        assert_eq!(quota_us(256), 14_471);
        assert_eq!(quota_us(512), 28_943);
        assert_eq!(quota_us(FULL_VCPU_MB), PERIOD_US);
        assert_eq!(quota_us(2 * FULL_VCPU_MB), 2 * PERIOD_US);
    }

    #[test]
    fn a_place_that_is_not_a_cgroup_is_refused_and_left_clean() {
        let root = std::env::temp_dir().join(crate::unique_name("not-a-cgroup"));
        std::fs::create_dir_all(&root).expect("temp dir");
        let refused = CpuCgroup::create(&root, "bench", 128).expect_err("a plain directory is no cgroup");
        assert!(matches!(refused, QuotaError::NotACgroup(_)), "{refused}");
        assert!(!root.join("bench").exists(), "the refused group was removed");
        std::fs::remove_dir(&root).expect("the temp dir is empty again");

        let missing = root.join("missing");
        let refused = CpuCgroup::create(&missing, "bench", 128).expect_err("no such hierarchy");
        assert!(matches!(refused, QuotaError::NoController(_)), "{refused}");
        assert!(refused.to_string().contains("no cgroup v1 CPU controller"), "{refused}");
    }

    #[test]
    fn where_cgroups_are_writable_a_spawned_process_runs_inside_the_quota() {
        let group = match CpuCgroup::create(Path::new(CGROUP_V1_CPU), &crate::unique_name("quota-test"), 128) {
            Ok(group) => group,
            Err(skip) => return eprintln!("skipped: {skip}"),
        };
        let quota = std::fs::read_to_string(group.path().join("cpu.cfs_quota_us")).expect("quota file");
        assert_eq!(quota.trim(), "7236");
        let mut command = Command::new("sleep");
        command.arg("5");
        group.confine(&mut command);
        let mut child = command.spawn().expect("sleep starts");
        let inside = group.holds(child.id());
        let _ = child.kill();
        let _ = child.wait();
        assert!(inside, "the process joined the cgroup before exec");
        let path = group.path().to_owned();
        drop(group);
        assert!(!path.exists(), "the cgroup is removed when dropped");
    }
}
