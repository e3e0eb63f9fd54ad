//! The data directory lock: one `labkube.lock` file, locked (`flock` on Linux) for as long as
//! a [`SledStore`](super::SledStore) is open, so a second labkube on the same directory gets a
//! clear error instead of sled's "could not acquire lock" (or, with another storage engine, a
//! corrupt database).

use std::fs::{File, OpenOptions, TryLockError};
use std::path::Path;
use std::time::{Duration, Instant};

use super::StoreError;

/// Name of the lock file in the data directory.
pub(crate) const LOCK_FILE: &str = "labkube.lock";

/// A [`StoreError::Open`] for `dir` with our own message.
pub(crate) fn open_error(dir: &Path, msg: String) -> StoreError {
    StoreError::Open {
        path: dir.display().to_string(),
        source: sled::Error::Io(std::io::Error::other(msg)),
    }
}

/// Creates `dir` if needed, makes it private ([`super::private`]) and takes its lock file, so two bots never share one store. The
/// lock lasts as long as the returned file is open (and ends with the process).
pub(crate) fn lock_dir(dir: &Path) -> Result<File, StoreError> {
    let io = |what: &str, e: std::io::Error| open_error(dir, format!("{what}: {e}"));
    super::private::make_private(dir).map_err(|e| {
        io(
            "cannot make the data directory private (0700, files 0600)",
            e,
        )
    })?;
    let file = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(dir.join(LOCK_FILE))
        .map_err(|e| io("cannot create the lock file", e))?;
    match file.try_lock() {
        Ok(()) => Ok(file),
        Err(TryLockError::WouldBlock) => Err(open_error(
            dir,
            format!(
                "the data directory is locked by another process ({LOCK_FILE}); another labkube \
                 may be using this data directory. Stop it or choose another data directory"
            ),
        )),
        Err(TryLockError::Error(e)) => Err(io("cannot lock the data directory", e)),
    }
}

/// How long `open` waits for sled's own file lock once ours is held.
const SLED_LOCK_WAIT: Duration = Duration::from_secs(5);

/// Opens sled in `dir`. Our directory lock is already held, so if sled's own lock is busy the
/// holder can only be a handle of this process that was just dropped: sled's flusher thread
/// lets go of the database a moment after the last handle. Wait for it, within a bound.
pub(super) fn open_sled(dir: &Path) -> Result<sled::Db, StoreError> {
    let deadline = Instant::now() + SLED_LOCK_WAIT;
    loop {
        match sled::Config::new().path(dir).open() {
            Ok(db) => return Ok(db),
            Err(sled::Error::Io(e)) if e.to_string().contains("could not acquire lock") => {
                if Instant::now() >= deadline {
                    return Err(open_error(
                        dir,
                        format!(
                            "another process (perhaps another labkube) is using this data directory: {e}"
                        ),
                    ));
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            Err(source) => {
                return Err(StoreError::Open {
                    path: dir.display().to_string(),
                    source,
                });
            }
        }
    }
}
