//! Replacing the adapter's small state files (the session, the sync position) so that a crash
//! leaves either the old or the new content, never a torn one.

use std::io::Write;
use std::path::Path;

use super::MatrixError;

/// Replaces `dir/name` with `bytes`: a temporary file in `dir`, readable by the bot's user only
/// (tempfile creates it 0600), synced, then renamed over the old one.
pub(super) fn replace(dir: &Path, name: &str, bytes: &[u8]) -> Result<(), MatrixError> {
    let path = dir.join(name);
    let io = |e| MatrixError::Io(path.display().to_string(), e);
    let mut tmp = tempfile::NamedTempFile::new_in(dir).map_err(io)?;
    tmp.write_all(bytes).map_err(io)?;
    tmp.as_file().sync_all().map_err(io)?;
    tmp.persist(&path).map_err(|e| io(e.error))?;
    Ok(())
}
