//! The image commands of `nook`, called by the binary with parsed arguments:
//! each prints what docker prints and returns the error to report.
#![forbid(unsafe_code)]

use super::load::{load_dir, load_tar, Loaded};
use super::reference::Reference;
use super::store::Store;
use super::{inspect, table, time};
use crate::cli::front::{
    ImagesArgs, ImportArgs, InspectArgs, LoadArgs, RmiArgs, SaveArgs, TagArgs, UnpackArgs,
};
use crate::error::{Context, Error, Result};
use std::io::{IsTerminal, Write};
use std::path::Path;

pub fn open_store(root: Option<&Path>) -> Result<Store> {
    let root = root
        .map(Path::to_path_buf)
        .unwrap_or_else(Store::default_root);
    // Paths in the store end up in bundles (root.path) and state: make them absolute.
    let root = std::path::absolute(&root).map_err(|e| Error::io("resolve", &root, e))?;
    Store::open(&root).context(|| format!("store {}", root.display()))
}

fn print_loaded(out: &mut dyn Write, loaded: &[Loaded]) -> Result<()> {
    for l in loaded {
        if l.tags.is_empty() {
            writeln!(out, "Loaded image ID: {}", l.id)
        } else {
            l.tags
                .iter()
                .try_for_each(|t| writeln!(out, "Loaded image: {t}"))
        }
        .map_err(|e| Error::io("write", "stdout", e))?;
    }
    Ok(())
}

pub fn load(store: &Store, a: &LoadArgs, out: &mut dyn Write) -> Result<()> {
    let mut log = super::progress::Terminal::new(a.quiet);
    let loaded = match &a.input {
        Some(p) if p.is_dir() => load_dir(store, p, &mut log),
        Some(p) => {
            let f = std::fs::File::open(p).map_err(|e| Error::io("open", p, e))?;
            load_tar(store, f, &mut log)
        }
        None if std::io::stdin().is_terminal() => {
            return Err(Error::Usage(
                "requested load from stdin, but stdin is empty (use -i FILE or redirect)".into(),
            ));
        }
        None => load_tar(store, std::io::stdin().lock(), &mut log),
    };
    let what = a
        .input
        .as_ref()
        .map(|p| p.display().to_string())
        .unwrap_or_else(|| "stdin".into());
    let loaded = loaded.context(|| format!("load {what}"))?;
    print_loaded(out, &loaded)
}

pub fn import(store: &Store, a: &ImportArgs, out: &mut dyn Write) -> Result<()> {
    let name = a.reference.as_deref().map(Reference::parse).transpose()?;
    let mut log = super::progress::Terminal::new(false);
    let shown = a.file.display().to_string();
    let loaded = if shown == "-" {
        super::import::import(store, std::io::stdin().lock(), name.as_ref(), &mut log)
    } else {
        let f = std::fs::File::open(&a.file).map_err(|e| Error::io("open", &a.file, e))?;
        super::import::import(store, f, name.as_ref(), &mut log)
    }
    .context(|| format!("import {shown}"))?;
    writeln!(out, "{}", loaded.id).map_err(|e| Error::io("write", "stdout", e))
}

pub fn images(store: &Store, a: &ImagesArgs, out: &mut dyn Write) -> Result<()> {
    let imgs = store.images()?;
    let tags: Vec<(Reference, super::digest::Digest)> = store
        .tags()?
        .into_iter()
        .filter_map(|(k, v)| Reference::parse(&k).ok().map(|r| (r, v)))
        .collect();
    let rows = table::rows(&imgs, &tags, a.reference.as_deref());
    let now = time::now() as i64;
    let text = match a.format.as_deref() {
        _ if a.quiet => rows
            .iter()
            .map(|r| {
                format!(
                    "{}\n",
                    if a.no_trunc {
                        r.image.id.to_string()
                    } else {
                        r.image.id.short().to_string()
                    }
                )
            })
            .collect(),
        Some("json") | Some("{{json .}}") => table::json_lines(&rows, a.no_trunc, now),
        Some(other) => {
            return Err(Error::Usage(format!(
                "unsupported --format {other:?} (only json)"
            )))
        }
        None => table::table(&rows, a.no_trunc, now),
    };
    out.write_all(text.as_bytes())
        .map_err(|e| Error::io("write", "stdout", e))
}

pub fn tag(store: &Store, a: &TagArgs) -> Result<()> {
    store.tag(&a.source, &a.target)
}

/// Every name is tried; later errors are printed here, the first is returned.
pub fn rmi(store: &Store, a: &RmiArgs, out: &mut dyn Write) -> Result<()> {
    let mut first = None;
    for what in &a.images {
        match store.remove(what, a.force) {
            Ok(r) => {
                let lines = r
                    .untagged
                    .iter()
                    .map(|t| format!("Untagged: {t}"))
                    .chain(r.deleted.iter().map(|d| format!("Deleted: {d}")));
                for l in lines {
                    writeln!(out, "{l}").map_err(|e| Error::io("write", "stdout", e))?;
                }
            }
            Err(e) if first.is_none() => first = Some(e),
            Err(e) => eprintln!("nook: {e}"),
        }
    }
    first.map_or(Ok(()), Err)
}

pub fn prune(store: &Store, out: &mut dyn Write) -> Result<()> {
    let gone = store.prune()?;
    for d in &gone {
        writeln!(out, "deleted: {d}").map_err(|e| Error::io("write", "stdout", e))?;
    }
    writeln!(out, "Total reclaimed images: {}", gone.len())
        .map_err(|e| Error::io("write", "stdout", e))
}

pub fn inspect(store: &Store, a: &InspectArgs, out: &mut dyn Write) -> Result<()> {
    let docs = a
        .images
        .iter()
        .map(|w| inspect::inspect(store, w))
        .collect::<Result<Vec<_>>>()?;
    let text = serde_json::to_string_pretty(&docs).map_err(|e| Error::format("inspect", e))?;
    writeln!(out, "{text}").map_err(|e| Error::io("write", "stdout", e))
}

/// To `-o FILE` (written to a temporary name, renamed when complete) or stdout.
pub fn save(store: &Store, a: &SaveArgs) -> Result<()> {
    let Some(path) = &a.output else {
        if std::io::stdout().is_terminal() {
            return Err(Error::Usage(
                "cowardly refusing to save to a terminal. Use the -o flag or redirect".into(),
            ));
        }
        let mut w = super::save::save(store, &a.images, std::io::stdout().lock())?;
        w.flush().map_err(|e| Error::io("write", "stdout", e))?;
        return Ok(());
    };
    let tmp = path.with_file_name(format!(
        ".{}.nook-tmp",
        path.file_name()
            .map(|n| n.to_string_lossy())
            .unwrap_or_default()
    ));
    let f = std::fs::File::create(&tmp).map_err(|e| Error::io("create", &tmp, e))?;
    let result = super::save::save(store, &a.images, std::io::BufWriter::new(f)).and_then(|w| {
        w.into_inner()
            .map_err(|e| Error::io("write", &tmp, e.into_error()))?
            .sync_all()
            .map_err(|e| Error::io("write", &tmp, e))
    });
    match result {
        Ok(()) => std::fs::rename(&tmp, path).map_err(|e| Error::io("rename", path, e)),
        Err(e) => {
            let _ = std::fs::remove_file(&tmp);
            Err(e).context(|| format!("save {}", path.display()))
        }
    }
}

/// `nook image unpack IMAGE DIR`: the flattened rootfs, made in `DIR.nook-tmp`
/// and renamed to DIR when complete.
pub fn unpack(store: &Store, a: &UnpackArgs) -> Result<()> {
    let id = store.resolve(&a.image)?;
    if a.dir.exists() {
        return Err(Error::Usage(format!("{} already exists", a.dir.display())));
    }
    let tmp = a.dir.with_extension("nook-tmp");
    std::fs::create_dir_all(&tmp).map_err(|e| Error::io("create", &tmp, e))?;
    let r = super::snapshot::flatten(store, &id, &tmp)
        .and_then(|()| std::fs::rename(&tmp, &a.dir).map_err(|e| Error::io("rename", &a.dir, e)));
    if r.is_err() {
        let _ = super::remove_all(&tmp);
    }
    r.context(|| format!("unpack {}", a.image))
}
