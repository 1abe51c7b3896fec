//! Helpers for the layer tests: a scratch directory with an `outside` to watch,
//! and a tarball builder that writes names raw (hostile ones included).
use super::*;
use tar::{EntryType, Header};

/// A temporary directory holding `root` (the layer dir) and `outside`.
pub struct Scratch {
    pub base: PathBuf,
    pub root: PathBuf,
    pub outside: PathBuf,
}

impl Scratch {
    pub fn new(name: &str) -> Scratch {
        let base = std::env::temp_dir().join(format!("nook-layers-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&base);
        let (root, outside) = (base.join("root"), base.join("outside"));
        std::fs::create_dir_all(&root).unwrap();
        std::fs::create_dir_all(&outside).unwrap();
        std::fs::write(outside.join("victim"), "host data").unwrap();
        Scratch {
            base,
            root,
            outside,
        }
    }

    /// Everything under `outside` is exactly what `new` put there.
    pub fn outside_untouched(&self) {
        let names: Vec<_> = std::fs::read_dir(&self.outside)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(
            names,
            vec![std::ffi::OsString::from("victim")],
            "something was written outside"
        );
        assert_eq!(
            std::fs::read_to_string(self.outside.join("victim")).unwrap(),
            "host data"
        );
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.base);
    }
}

/// A layer tarball. Names are written raw into the header, so hostile names
/// (`..`, absolute) reach the unpacker exactly as an attacker would send them.
#[derive(Default)]
pub struct Layer {
    pub out: Vec<u8>,
}

impl Layer {
    pub fn entry(
        &mut self,
        name: &str,
        kind: EntryType,
        mode: u32,
        link: &str,
        data: &[u8],
    ) -> &mut Self {
        let mut h = Header::new_ustar();
        h.as_old_mut().name[..name.len()].copy_from_slice(name.as_bytes());
        h.as_old_mut().linkname[..link.len()].copy_from_slice(link.as_bytes());
        h.set_entry_type(kind);
        h.set_mode(mode);
        h.set_uid(1000);
        h.set_gid(1001);
        h.set_mtime(1_600_000_000);
        h.set_size(data.len() as u64);
        if matches!(kind, EntryType::Char | EntryType::Block) {
            h.set_device_major(1).unwrap();
            h.set_device_minor(3).unwrap();
        }
        h.set_cksum();
        self.out.extend_from_slice(h.as_bytes());
        self.out.extend_from_slice(data);
        self.out.resize(self.out.len().div_ceil(512) * 512, 0);
        self
    }
    pub fn file(&mut self, name: &str, mode: u32, data: &str) -> &mut Self {
        self.entry(name, EntryType::Regular, mode, "", data.as_bytes())
    }
    pub fn dir(&mut self, name: &str, mode: u32) -> &mut Self {
        self.entry(name, EntryType::Directory, mode, "", b"")
    }
    pub fn symlink(&mut self, name: &str, target: &str) -> &mut Self {
        self.entry(name, EntryType::Symlink, 0o777, target, b"")
    }
    pub fn hardlink(&mut self, name: &str, target: &str) -> &mut Self {
        self.entry(name, EntryType::Link, 0o644, target, b"")
    }
    pub fn bytes(&self) -> Vec<u8> {
        let mut v = self.out.clone();
        v.extend_from_slice(&[0; 1024]);
        v
    }
}

pub fn flat() -> Options {
    let owners = if nix::unistd::geteuid().is_root() {
        Owners::BestEffort
    } else {
        Owners::Ignore
    };
    Options {
        whiteouts: Whiteouts::Apply,
        owners,
    }
}
