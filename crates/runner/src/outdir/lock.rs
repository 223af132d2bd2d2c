//! One writer per output directory: an operating-system file lock on `<out>/descent.lock`.
//!
//! A plain `descent run` and `descent merge` hold the lock exclusively, so a second one into
//! the same directory stops at once instead of training every run a second time; shards
//! (`--shard`) hold it shared, so that they run side by side but never beside a plain run,
//! and each also holds its own shard's lock exclusively (a resubmitted task cannot train the
//! same shard twice). The operating system releases a lock when its process ends, however
//! it ends, so a lock left by a killed process never blocks; the file stays behind (removing
//! it could let two processes lock two different files) and only says who held it last.

use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use anyhow::Context;

use crate::config::Diagnostic;

/// The lock file's name in an output directory.
pub const LOCK: &str = "descent.lock";

/// Why a lock was not taken.
#[derive(Debug, thiserror::Error)]
pub enum LockError {
    /// Another process holds it: the diagnostic names the directory and the holder.
    #[error("{0}")]
    Held(Box<Diagnostic>),
    /// The lock file could not be opened, locked or written.
    #[error("{0:#}")]
    Io(#[from] anyhow::Error),
}

/// How a lock is shared.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// No other process may hold the lock.
    Exclusive,
    /// Other shared holders are welcome; an exclusive one is not.
    Shared,
}

/// A held lock; dropping it (or the process ending) releases it.
#[derive(Debug)]
pub struct DirLock {
    path: PathBuf,
    _file: File,
}

impl DirLock {
    /// Locks `dir` (which must exist) through its file `name` (normally [`LOCK`]) for
    /// `what` (`descent run`, ...), and writes this process's id, host and `what` into the
    /// file for the message a later contender prints.
    ///
    /// # Errors
    /// [`LockError::Held`] naming the directory and the process that holds the lock when
    /// another process holds it; [`LockError::Io`] when the file cannot be opened or locked.
    pub fn acquire(dir: &Path, name: &str, mode: Mode, what: &str) -> Result<Self, LockError> {
        let path = dir.join(name);
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .with_context(|| format!("cannot open the lock file {}", path.display()))?;
        let attempt = match mode {
            Mode::Exclusive => file.try_lock(),
            Mode::Shared => file.try_lock_shared(),
        };
        match attempt {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => {
                return Err(LockError::Held(Box::new(held(dir, &holder(&mut file)))));
            }
            Err(TryLockError::Error(e)) => {
                return Err(anyhow::Error::new(e)
                    .context(format!("cannot lock {}", path.display()))
                    .into());
            }
        }
        let me = format!(
            "pid {}{} ({what})",
            std::process::id(),
            host().map(|h| format!(" on {h}")).unwrap_or_default()
        );
        file.set_len(0)
            .and_then(|()| file.write_all(me.as_bytes()))
            .and_then(|()| file.flush())
            .with_context(|| format!("cannot write the lock file {}", path.display()))?;
        Ok(Self { path, _file: file })
    }

    /// The lock file.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

/// What the lock file says about its holder (its first line, at most 200 characters).
fn holder(file: &mut File) -> String {
    let mut text = String::new();
    let _ = file.read_to_string(&mut text);
    let line: String = text
        .lines()
        .next()
        .unwrap_or("")
        .chars()
        .take(200)
        .collect();
    if line.trim().is_empty() {
        "another process".into()
    } else {
        line
    }
}

/// The diagnostic of a directory locked by `holder`.
fn held(dir: &Path, holder: &str) -> Diagnostic {
    Diagnostic {
        location: dir.display().to_string(),
        key: None,
        message: format!("this output directory is in use by another descent: {holder}"),
        help: Some(
            "wait for it to finish (or stop it), or write elsewhere with --out; shards \
             (--shard) of one experiment may share a directory"
                .into(),
        ),
    }
}

/// This machine's name, when the system says it.
fn host() -> Option<String> {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .or_else(|| std::env::var("HOSTNAME").ok())
        .map(|h| h.trim().to_owned())
        .filter(|h| !h.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refused(result: Result<DirLock, LockError>) -> String {
        match result.expect_err("the lock is held") {
            LockError::Held(d) => d.to_string(),
            LockError::Io(e) => panic!("a held lock is not an I/O error: {e:#}"),
        }
    }

    #[test]
    fn an_exclusive_lock_excludes_every_other_holder_until_dropped() {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let held = DirLock::acquire(dir.path(), LOCK, Mode::Exclusive, "descent run")
            .expect("the first lock");
        let message = refused(DirLock::acquire(
            dir.path(),
            LOCK,
            Mode::Exclusive,
            "descent run",
        ));
        assert!(
            message.contains(&format!("pid {}", std::process::id())),
            "{message}"
        );
        assert!(message.contains("(descent run)"), "{message}");
        assert!(message.contains(&dir.path().display().to_string()));
        refused(DirLock::acquire(dir.path(), LOCK, Mode::Shared, "shard"));
        drop(held);
        DirLock::acquire(dir.path(), LOCK, Mode::Exclusive, "descent run")
            .expect("a released lock is free");
    }

    #[test]
    fn shared_holders_coexist_but_exclude_an_exclusive_one() {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let a = DirLock::acquire(dir.path(), LOCK, Mode::Shared, "shard 0/2");
        let b = DirLock::acquire(dir.path(), LOCK, Mode::Shared, "shard 1/2");
        assert!(a.is_ok() && b.is_ok());
        refused(DirLock::acquire(dir.path(), LOCK, Mode::Exclusive, "run"));
    }

    #[test]
    fn a_lock_file_left_behind_does_not_block() {
        let dir = tempfile::tempdir().expect("a temporary directory");
        std::fs::write(dir.path().join(LOCK), "pid 1 on gone (descent run)").expect("write");
        let lock = DirLock::acquire(dir.path(), LOCK, Mode::Exclusive, "descent run")
            .expect("an unlocked file is free");
        let text = std::fs::read_to_string(lock.path()).expect("read");
        assert!(
            text.starts_with(&format!("pid {}", std::process::id())),
            "{text}"
        );
    }
}
