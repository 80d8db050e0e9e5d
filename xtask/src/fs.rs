//! The file operations xtask uses, each error naming the path it was about (std's say only
//! "No such file or directory").

use anyhow::{Context, Result};
use std::path::Path;

pub fn read(p: impl AsRef<Path>) -> Result<Vec<u8>> {
    let p = p.as_ref();
    std::fs::read(p).with_context(|| format!("reading {}", p.display()))
}

pub fn read_to_string(p: impl AsRef<Path>) -> Result<String> {
    let p = p.as_ref();
    std::fs::read_to_string(p).with_context(|| format!("reading {}", p.display()))
}

pub fn write(p: impl AsRef<Path>, bytes: impl AsRef<[u8]>) -> Result<()> {
    let p = p.as_ref();
    std::fs::write(p, bytes).with_context(|| format!("writing {}", p.display()))
}

pub fn create_dir_all(p: impl AsRef<Path>) -> Result<()> {
    let p = p.as_ref();
    std::fs::create_dir_all(p).with_context(|| format!("making the folder {}", p.display()))
}

pub fn remove_dir_all(p: impl AsRef<Path>) -> Result<()> {
    let p = p.as_ref();
    std::fs::remove_dir_all(p).with_context(|| format!("removing {}", p.display()))
}

pub fn remove_file(p: impl AsRef<Path>) -> Result<()> {
    let p = p.as_ref();
    std::fs::remove_file(p).with_context(|| format!("removing {}", p.display()))
}

pub fn copy(from: impl AsRef<Path>, to: impl AsRef<Path>) -> Result<u64> {
    let (from, to) = (from.as_ref(), to.as_ref());
    std::fs::copy(from, to)
        .with_context(|| format!("copying {} to {}", from.display(), to.display()))
}

pub fn rename(from: impl AsRef<Path>, to: impl AsRef<Path>) -> Result<()> {
    let (from, to) = (from.as_ref(), to.as_ref());
    std::fs::rename(from, to)
        .with_context(|| format!("moving {} to {}", from.display(), to.display()))
}

pub fn read_dir(p: impl AsRef<Path>) -> Result<std::fs::ReadDir> {
    let p = p.as_ref();
    std::fs::read_dir(p).with_context(|| format!("listing {}", p.display()))
}

pub fn metadata(p: impl AsRef<Path>) -> Result<std::fs::Metadata> {
    let p = p.as_ref();
    std::fs::metadata(p).with_context(|| format!("reading {}", p.display()))
}

#[cfg(test)]
mod tests {
    #[test]
    fn an_error_names_its_path() {
        let e = super::read_to_string("/no/such/folder/file.txt").unwrap_err();
        let said = format!("{e:#}");
        assert!(said.contains("/no/such/folder/file.txt"), "{said}");
    }
}
