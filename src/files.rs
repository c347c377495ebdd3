//! Files heliostat reads and writes on the host: reads capped by size and
//! only from regular files (a `/dev/zero` given as a config must not grow
//! memory until the kernel steps in), and what it writes private to the
//! user (logs and saved screens name keys, hosts and users).

use std::fs::{DirBuilder, File, OpenOptions};
use std::io::{self, Read};
use std::os::unix::fs::{DirBuilderExt as _, FileTypeExt as _, OpenOptionsExt as _};
use std::path::{Path, PathBuf};

/// The most a config or theme file may hold.
pub const MAX_CONFIG_BYTES: u64 = 1 << 20;
/// The most a PEM file (CA, certificate, key) may hold.
pub const MAX_PEM_BYTES: u64 = 1 << 20;
/// The most a `--keys-file` may hold.
pub const MAX_KEYS_FILE_BYTES: u64 = 256 << 20;

/// Why a file could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    /// Opening or reading failed.
    #[error("{0}")]
    Io(#[from] io::Error),
    /// A directory, a device, a pipe or a socket: only regular files are read.
    #[error("not a regular file (it is {0})")]
    NotRegular(&'static str),
    /// Larger than its kind of file may be.
    #[error("larger than {} (the most a {what} file may hold)", size_label(*limit))]
    TooLarge {
        /// What kind of file.
        what: &'static str,
        /// The cap in bytes.
        limit: u64,
    },
    /// Not UTF-8 text.
    #[error("not UTF-8 text")]
    NotText,
}

impl ReadError {
    /// Whether the file does not exist.
    pub fn is_not_found(&self) -> bool {
        matches!(self, ReadError::Io(e) if e.kind() == io::ErrorKind::NotFound)
    }
}

fn size_label(bytes: u64) -> String {
    if bytes >= 1 << 20 {
        format!("{} MiB", bytes >> 20)
    } else {
        format!("{} KiB", bytes >> 10)
    }
}

/// What a non-regular file is, for messages.
fn kind_of(t: std::fs::FileType) -> &'static str {
    if t.is_dir() {
        "a directory"
    } else if t.is_char_device() || t.is_block_device() {
        "a device"
    } else if t.is_fifo() {
        "a pipe"
    } else if t.is_socket() {
        "a socket"
    } else {
        "not a file"
    }
}

/// Open `path` for reading if it is a regular file (symlinks followed).
pub fn open_regular(path: &Path) -> Result<(File, std::fs::Metadata), ReadError> {
    let f = File::open(path)?;
    let meta = f.metadata()?;
    if !meta.file_type().is_file() {
        return Err(ReadError::NotRegular(kind_of(meta.file_type())));
    }
    Ok((f, meta))
}

/// Read a whole regular file of at most `limit` bytes (`what` names its
/// kind in the message). Reads at most one byte past the cap, so a file that
/// grows while read is refused too.
pub fn read_capped(path: &Path, limit: u64, what: &'static str) -> Result<Vec<u8>, ReadError> {
    let (f, _) = open_regular(path)?;
    read_from(f, limit, what)
}

/// [`read_capped`] for a file already open.
pub fn read_from(f: impl Read, limit: u64, what: &'static str) -> Result<Vec<u8>, ReadError> {
    let mut buf = Vec::new();
    f.take(limit.saturating_add(1)).read_to_end(&mut buf)?;
    if buf.len() as u64 > limit {
        return Err(ReadError::TooLarge { what, limit });
    }
    Ok(buf)
}

/// [`read_capped`] as text.
pub fn read_text(path: &Path, limit: u64, what: &'static str) -> Result<String, ReadError> {
    String::from_utf8(read_capped(path, limit, what)?).map_err(|_| ReadError::NotText)
}

/// Create `dir` and its missing parents, private to the user (0700). An
/// existing directory keeps its mode.
pub fn private_dir(dir: &Path) -> io::Result<()> {
    DirBuilder::new().recursive(true).mode(0o700).create(dir)
}

/// Create a new file readable by the user only (0600); never opens an
/// existing one, so nothing earlier is overwritten.
pub fn create_private(path: &Path) -> io::Result<File> {
    OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
}

/// Create the first of `BASE.EXT…`, `BASE-2.EXT…`, `BASE-3.EXT…` for which
/// no file of any of `exts` exists, all of them new and private; returns
/// the base used and the files in `exts` order.
pub fn create_private_set(base: &Path, exts: &[&str]) -> io::Result<(PathBuf, Vec<File>)> {
    for n in 1..=1000u32 {
        let stem = if n == 1 {
            base.to_path_buf()
        } else {
            let mut s = base.as_os_str().to_owned();
            s.push(format!("-{n}"));
            PathBuf::from(s)
        };
        let mut files = Vec::with_capacity(exts.len());
        let mut made = Vec::new();
        let mut taken = false;
        for ext in exts {
            let mut p = stem.as_os_str().to_owned();
            p.push(format!(".{ext}"));
            let p = PathBuf::from(p);
            match create_private(&p) {
                Ok(f) => {
                    files.push(f);
                    made.push(p);
                }
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
                    taken = true;
                    break;
                }
                Err(e) => {
                    for p in &made {
                        let _ = std::fs::remove_file(p);
                    }
                    return Err(e);
                }
            }
        }
        if !taken {
            return Ok((stem, files));
        }
        // Part of the set existed: give back what this attempt made.
        for p in &made {
            let _ = std::fs::remove_file(p);
        }
    }
    Err(io::Error::new(
        io::ErrorKind::AlreadyExists,
        format!("{} and 999 numbered files beside it exist", base.display()),
    ))
}

/// Check a log file path the user gave: its directory must exist (heliostat
/// creates only its default state directory), and the path must not be a
/// directory or a device. The daily files are made beside it.
pub fn check_log_path(path: &Path) -> Result<(), String> {
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    match std::fs::metadata(dir) {
        Ok(m) if m.is_dir() => {}
        Ok(_) => return Err(format!("{} is not a directory", dir.display())),
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            return Err(format!(
                "its directory {} does not exist (heliostat creates only its default state directory)",
                dir.display()
            ));
        }
        Err(e) => return Err(format!("{}: {e}", dir.display())),
    }
    match std::fs::metadata(path) {
        Ok(m) if !m.file_type().is_file() => Err(format!(
            "{} is {}; give a file path (daily files are made beside it)",
            path.display(),
            kind_of(m.file_type())
        )),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt as _;

    fn tmp(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("heliostat-files-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    #[test]
    fn an_endless_device_is_refused_before_it_is_read() {
        let e = read_capped(Path::new("/dev/zero"), 1024, "config").unwrap_err();
        assert!(matches!(e, ReadError::NotRegular("a device")), "{e}");
        let e = read_capped(Path::new("/"), 1024, "config").unwrap_err();
        assert_eq!(e.to_string(), "not a regular file (it is a directory)");
    }

    #[test]
    fn a_file_over_its_cap_is_refused() {
        let d = tmp("cap");
        let p = d.join("big.toml");
        std::fs::write(&p, vec![b'#'; 2049]).unwrap();
        let e = read_capped(&p, 2048, "theme").unwrap_err();
        assert_eq!(
            e.to_string(),
            "larger than 2 KiB (the most a theme file may hold)"
        );
        std::fs::write(&p, vec![b'#'; 2048]).unwrap();
        assert_eq!(read_capped(&p, 2048, "theme").unwrap().len(), 2048);
        assert!(
            read_text(Path::new("/nonexistent/x"), 1, "x")
                .unwrap_err()
                .is_not_found()
        );
    }

    #[test]
    fn private_files_and_directories() {
        let d = tmp("private");
        let sub = d.join("a/b");
        private_dir(&sub).unwrap();
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&sub), 0o700);
        assert_eq!(mode(&d.join("a")), 0o700);
        let f = sub.join("x.txt");
        drop(create_private(&f).unwrap());
        assert_eq!(mode(&f), 0o600);
        assert_eq!(
            create_private(&f).unwrap_err().kind(),
            io::ErrorKind::AlreadyExists,
            "never overwrites"
        );
    }

    #[test]
    fn a_set_never_overwrites_and_keeps_its_pairs() {
        let d = tmp("set");
        let base = d.join("screen");
        let (b1, _) = create_private_set(&base, &["txt", "svg"]).unwrap();
        let (b2, _) = create_private_set(&base, &["txt", "svg"]).unwrap();
        // Only the svg of the third name exists: the set moves past it.
        std::fs::write(d.join("screen-3.svg"), "old").unwrap();
        let (b3, _) = create_private_set(&base, &["txt", "svg"]).unwrap();
        assert_eq!(b1, base);
        assert_eq!(b2, d.join("screen-2"));
        assert_eq!(b3, d.join("screen-4"));
        assert!(
            !d.join("screen-3.txt").exists(),
            "the half-made pair is removed"
        );
        assert_eq!(
            std::fs::read_to_string(d.join("screen-3.svg")).unwrap(),
            "old"
        );
    }

    #[test]
    fn log_paths_need_an_existing_directory_and_a_file_name() {
        let d = tmp("log");
        assert!(check_log_path(&d.join("x.log")).is_ok());
        let e = check_log_path(Path::new("/nonexistent/dir/x.log")).unwrap_err();
        assert!(e.contains("does not exist"), "{e}");
        let e = check_log_path(Path::new("/dev/full")).unwrap_err();
        assert!(e.contains("is a device"), "{e}");
        let e = check_log_path(&d).unwrap_err();
        assert!(e.contains("is a directory"), "{e}");
    }
}
