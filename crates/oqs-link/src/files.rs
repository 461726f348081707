//! Writing without half files: every output goes to `.<name>.part` in the
//! same folder, is flushed to disk, then renamed into place, and the folder
//! is flushed so the rename survives a power cut (where the platform allows).

use std::fs::{self, File};
use std::io::{self, Write};
use std::path::Path;

use crate::names::temp_name;

/// Writes `bytes` to `dir/.<name>.part` and flushes it to disk.
pub fn write_temp(dir: &Path, name: &str, bytes: &[u8]) -> io::Result<()> {
    let mut file = File::create(dir.join(temp_name(name)))?;
    file.write_all(bytes)?;
    file.sync_all()
}

/// Renames `dir/.<name>.part` to `dir/<name>` (replacing a file of that
/// name) and flushes the folder.
pub fn commit(dir: &Path, name: &str) -> io::Result<()> {
    fs::rename(dir.join(temp_name(name)), dir.join(name))?;
    sync_dir(dir)
}

/// [`write_temp`] then [`commit`].
pub fn write_atomic(dir: &Path, name: &str, bytes: &[u8]) -> io::Result<()> {
    write_temp(dir, name, bytes)?;
    commit(dir, name)
}

/// Moves `from` to `dir/<name>` in one rename; across file systems (where a
/// rename cannot), copies it through a temporary name, then removes `from`.
pub fn move_into(from: &Path, dir: &Path, name: &str) -> io::Result<()> {
    match fs::rename(from, dir.join(name)) {
        Ok(()) => sync_dir(dir)?,
        Err(rename) => {
            let bytes = fs::read(from).map_err(|_| rename)?;
            write_atomic(dir, name, &bytes)?;
            fs::remove_file(from)?;
        }
    }
    match from.parent() {
        Some(parent) => sync_dir(parent),
        None => Ok(()),
    }
}

/// Flushes a folder's entries (renames, removals) to disk. A no-op where
/// folders cannot be opened as files (Windows).
pub fn sync_dir(dir: &Path) -> io::Result<()> {
    #[cfg(unix)]
    {
        File::open(dir)?.sync_all()
    }
    #[cfg(not(unix))]
    {
        let _ = dir;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_output_appears_whole_and_leaves_no_temporary_file() {
        let dir = tempfile::tempdir().unwrap();
        write_atomic(dir.path(), "a.xml", b"one").unwrap();
        write_atomic(dir.path(), "a.xml", b"two").unwrap();
        assert_eq!(fs::read(dir.path().join("a.xml")).unwrap(), b"two");
        let names: Vec<_> = fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, ["a.xml"]);
    }

    #[test]
    fn a_move_replaces_and_removes_the_source() {
        let from = tempfile::tempdir().unwrap();
        let to = tempfile::tempdir().unwrap();
        fs::write(from.path().join("r.xml"), b"req").unwrap();
        fs::write(to.path().join("r.xml"), b"old").unwrap();
        move_into(&from.path().join("r.xml"), to.path(), "r.xml").unwrap();
        assert_eq!(fs::read(to.path().join("r.xml")).unwrap(), b"req");
        assert!(!from.path().join("r.xml").exists());
    }
}
