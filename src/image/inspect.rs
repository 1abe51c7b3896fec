//! `nook image inspect`: docker's fields, built from the record and the config.
#![forbid(unsafe_code)]

use super::store::Store;
use crate::error::{Error, Result};
use serde_json::{json, Value};

pub fn inspect(store: &Store, what: &str) -> Result<Value> {
    let id = store.resolve(what)?;
    let rec = store.image(&id)?;
    let path = store.blob_path(&rec.config);
    let data = std::fs::read(&path).map_err(|e| Error::io("read", &path, e))?;
    let cfg: Value = serde_json::from_slice(&data)
        .map_err(|e| Error::format(format!("config {}", rec.config), e))?;
    let tags = store.tags_of(&store.tags()?, &id);
    Ok(json!({
        "Id": id.to_string(),
        "RepoTags": tags,
        "RepoDigests": [],
        "Created": cfg.get("created").cloned().unwrap_or(Value::Null),
        "Author": cfg.get("author").cloned().unwrap_or(json!("")),
        "Architecture": cfg.get("architecture").cloned().unwrap_or(Value::Null),
        "Os": cfg.get("os").cloned().unwrap_or(Value::Null),
        "Config": cfg.get("config").cloned().unwrap_or(json!({})),
        "Size": rec.size(),
        "RootFS": {
            "Type": "layers",
            "Layers": rec.layers.iter().map(|l| l.diff_id.to_string()).collect::<Vec<_>>(),
        },
        "Metadata": { "LastTagTime": super::time::rfc3339(rec.loaded) },
        "Nook": {
            "Manifest": rec.manifest.as_ref().map(|m| m.to_string()),
            "LayerDirs": rec.layers.iter().map(|l| store.layer_diff(&l.diff_id).display().to_string()).collect::<Vec<_>>(),
        },
    }))
}
