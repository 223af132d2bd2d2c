//! Write-then-rename, so that a run killed while writing never leaves a half-written table,
//! plot or report behind: readers see either the previous complete file or the new one.

use std::fs::File;
use std::path::{Path, PathBuf};

use crate::outdir::error::{OutputError, Result};

/// A file being written under a temporary name next to its destination.
///
/// The temporary name is `.tmp-<file name>` in the same directory (so the rename stays on one
/// file system and keeps the extension, which the PNG encoder reads). Dropping an
/// `AtomicFile` without [`commit`](Self::commit) removes the temporary file.
#[derive(Debug)]
pub(crate) struct AtomicFile {
    temporary: PathBuf,
    destination: PathBuf,
    committed: bool,
}

impl AtomicFile {
    /// Prepares to write `destination`; nothing is created yet.
    pub(crate) fn new(destination: &Path) -> Self {
        Self::tagged(destination, None)
    }

    /// Like [`new`](Self::new), with `tag` in the temporary name (`.tmp-<tag>-<file name>`),
    /// so that processes writing the same destination at once each use their own file.
    fn tagged(destination: &Path, tag: Option<&str>) -> Self {
        let name = destination
            .file_name()
            .map(|name| name.to_string_lossy().into_owned())
            .unwrap_or_default();
        let tag = tag.map(|tag| format!("{tag}-")).unwrap_or_default();
        AtomicFile {
            temporary: destination.with_file_name(format!(".tmp-{tag}{name}")),
            destination: destination.to_path_buf(),
            committed: false,
        }
    }

    /// The temporary path, for writers that take a path rather than a [`File`].
    pub(crate) fn path(&self) -> &Path {
        &self.temporary
    }

    /// Creates (or truncates) the temporary file.
    pub(crate) fn create(&self) -> Result<File> {
        File::create(&self.temporary).map_err(OutputError::io("create", &self.temporary))
    }

    /// Flushes the temporary file to disk and renames it over the destination.
    pub(crate) fn commit(mut self) -> Result<()> {
        File::open(&self.temporary)
            .and_then(|file| file.sync_all())
            .map_err(OutputError::io("flush", &self.temporary))?;
        std::fs::rename(&self.temporary, &self.destination)
            .map_err(OutputError::io("rename into place", &self.destination))?;
        self.committed = true;
        Ok(())
    }
}

impl Drop for AtomicFile {
    fn drop(&mut self) {
        if !self.committed {
            // Best effort: the file may never have been created.
            let _ = std::fs::remove_file(&self.temporary);
        }
    }
}

/// Writes `contents` to `destination` through a temporary file.
pub(crate) fn write_atomically(destination: &Path, contents: &[u8]) -> Result<()> {
    write_through(AtomicFile::new(destination), contents)
}

/// Writes `contents` to `destination` through a temporary file named by `writer`, for files
/// that several processes may write at the same moment (each renames its own complete file
/// into place, so readers always see one writer's whole file).
pub(crate) fn write_atomically_as(destination: &Path, contents: &[u8], writer: &str) -> Result<()> {
    write_through(AtomicFile::tagged(destination, Some(writer)), contents)
}

fn write_through(pending: AtomicFile, contents: &[u8]) -> Result<()> {
    std::fs::write(pending.path(), contents).map_err(OutputError::io("write", pending.path()))?;
    pending.commit()
}
