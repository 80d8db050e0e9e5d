//! The service user as a fact zsp checks: the commands that write the data folder (`serve`,
//! `restore`, `backup`) and `admin` refuse to run as root unless told `--as-root`, and then
//! become the data folder's owner before they touch anything, so nothing they write is left
//! root-owned; `check` names every file in the data folder the caller cannot write, with the
//! repair.

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

pub fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() == 0 }
}

/// Run as root? Refused without `as_root`. With it, the process becomes the owner of `data`
/// (its group too, no supplementary groups; a folder not made yet: its nearest parent's)
/// before anything is written; returns who that is, for the log line. Not root: nothing to do.
pub fn not_root(command: &str, data: Option<&Path>, as_root: bool) -> Result<Option<u32>, String> {
    if !is_root() {
        return Ok(None);
    }
    if !as_root {
        return Err(format!(
            "zsp {command} runs as the service's user, not root (files it writes as root would \
             stop the service): sudo -u zhangshangping zsp {command} …, or runuser -u zhangshangping \
             -- zsp {command} …; add --as-root to run it from root anyway (it then runs as the data \
             folder's owner)"
        ));
    }
    let Some(data) = data else {
        return Ok(None);
    };
    // The data folder's owner; before it exists, its nearest existing parent's (which then
    // makes it, as zsp check would).
    let data = std::path::absolute(data).unwrap_or_else(|_| data.to_path_buf());
    let m = data
        .ancestors()
        .find_map(|p| std::fs::metadata(p).ok())
        .ok_or_else(|| format!("--as-root: no folder of {} exists", data.display()))?;
    let (uid, gid) = (m.uid(), m.gid());
    if uid == 0 {
        return Ok(Some(0));
    }
    // SAFETY: plain system calls; each result is checked, in the order that drops privileges
    // for good (groups, then group, then user).
    unsafe {
        if libc::setgroups(0, std::ptr::null()) != 0
            || libc::setgid(gid) != 0
            || libc::setuid(uid) != 0
        {
            return Err(format!(
                "--as-root: cannot become the data folder's owner (uid {uid}): {}",
                std::io::Error::last_os_error()
            ));
        }
    }
    Ok(Some(uid))
}

/// Files and folders in `data` (three levels down) this process cannot write, at most `max`.
pub fn unwritable(data: &Path, max: usize) -> Vec<PathBuf> {
    fn walk(p: &Path, depth: u32, out: &mut Vec<PathBuf>, max: usize) {
        let Ok(entries) = std::fs::read_dir(p) else {
            return;
        };
        for e in entries.flatten() {
            if out.len() >= max {
                return;
            }
            let path = e.path();
            if !writable(&path) {
                out.push(path.clone());
            }
            if depth > 0 && e.file_type().is_ok_and(|t| t.is_dir()) {
                walk(&path, depth - 1, out, max);
            }
        }
    }
    let mut out = vec![];
    walk(data, 2, &mut out, max);
    out.sort();
    out
}

fn writable(p: &Path) -> bool {
    use std::os::unix::ffi::OsStrExt;
    let Ok(c) = std::ffi::CString::new(p.as_os_str().as_bytes()) else {
        return false;
    };
    // SAFETY: a valid NUL-terminated path.
    unsafe { libc::access(c.as_ptr(), libc::W_OK) == 0 }
}

/// The problem `check` reports for such files: which (the first few), and the repair.
pub fn unwritable_problem(data: &Path, files: &[PathBuf]) -> String {
    let shown: Vec<String> = files
        .iter()
        .take(5)
        .map(|f| f.display().to_string())
        .collect();
    let more = if files.len() > 5 { "，…" } else { "" };
    format!(
        "ZSP_DATA: {} holds files this user cannot write (left by a command run as root?): {}{more}; \
         repair as root: chown -R --reference={} {}",
        data.display(),
        shown.join(", "),
        data.display(),
        data.display()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_problem_names_the_files_and_the_repair() {
        let d = Path::new("/var/lib/zhangshangping");
        let p = unwritable_problem(d, &[d.join("zsp.lock")]);
        assert!(p.contains("/var/lib/zhangshangping/zsp.lock"), "{p}");
        assert!(
            p.contains("chown -R --reference=/var/lib/zhangshangping /var/lib/zhangshangping"),
            "{p}"
        );
    }

    #[test]
    fn a_folder_this_user_owns_is_writable() {
        let d = std::env::temp_dir().join(format!("zsp-user-{}", std::process::id()));
        std::fs::create_dir_all(d.join("sub")).unwrap();
        std::fs::write(d.join("sub/f"), b"x").unwrap();
        assert!(unwritable(&d, 10).is_empty());
        let _ = std::fs::remove_dir_all(&d);
    }
}
