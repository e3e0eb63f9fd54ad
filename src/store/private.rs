//! The data directory is private to the bot's user, whoever starts the bot and with whatever
//! umask: it holds every cluster's admin kubeconfig and the audit trail.
//!
//! [`make_private`] (on every store open) sets the directory to 0700 and everything already in
//! it to 0700 (dirs) or 0600 (files), which also repairs a directory left by an earlier
//! version. [`private_umask`] (called first thing by the `labkube` binary) sets the process
//! umask to 077, so every file made later (sled's blobs and snapshots, the Matrix session, the
//! selftest log) is born 0600 too: sled opens its files without a mode, so the umask is the
//! only handle on them. It is the binary's call, not the store's: the umask is process-wide,
//! and a library must not change it for its embedder (the tests build stand-in hosts that
//! other users read).

use std::fs::{DirBuilder, Permissions};
use std::io;
use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
use std::path::Path;

use rustix::fs::Mode;

/// Mode of the data directory and of directories inside it.
pub const DIR_MODE: u32 = 0o700;
/// Mode of every file in the data directory.
pub const FILE_MODE: u32 = 0o600;
/// The bot's process umask ([`private_umask`]).
const UMASK: u32 = 0o077;
/// How deep [`make_private`] walks (sled and the Matrix store nest two or three levels).
const MAX_DEPTH: usize = 8;

/// Sets the process umask to 077: no access for group or others to anything made later.
pub fn private_umask() {
    rustix::process::umask(Mode::from_raw_mode(UMASK));
}

/// Creates `dir` (0700) if needed and makes it and its contents private.
pub fn make_private(dir: &Path) -> io::Result<()> {
    DirBuilder::new()
        .recursive(true)
        .mode(DIR_MODE)
        .create(dir)?;
    restrict(dir, 0)
}

/// Sets `path` private and, for a directory, everything under it. Symlinks are left alone
/// (not followed: the data dir's own files are what is at stake).
fn restrict(path: &Path, depth: usize) -> io::Result<()> {
    let meta = std::fs::symlink_metadata(path)?;
    if meta.file_type().is_symlink() {
        return Ok(());
    }
    let mode = if meta.is_dir() { DIR_MODE } else { FILE_MODE };
    if meta.permissions().mode() & 0o7777 != mode {
        std::fs::set_permissions(path, Permissions::from_mode(mode))?;
    }
    if meta.is_dir() && depth < MAX_DEPTH {
        for entry in std::fs::read_dir(path)? {
            restrict(&entry?.path(), depth + 1)?;
        }
    }
    Ok(())
}
