//! `nook ps`: docker's table (CONTAINER ID, IMAGE, COMMAND, CREATED, STATUS,
//! PORTS, NAMES[, SIZE]), `-q`, `--no-trunc`, `--format json`.

use super::containers::{self, Record};
use super::status::{self, Live};
use crate::cli::front_ctr::PsArgs;
use crate::error::{Error, Result};
use crate::image::store::Store;
use crate::image::{table::human_size, time};
use std::io::Write;

/// docker's COMMAND cell: the command line, cut to 20 characters with "…", quoted.
pub fn command_cell(args: &[String], full: bool) -> String {
    let cmd = args.join(" ");
    let cut = if !full && cmd.chars().count() > 20 {
        let mut s: String = cmd.chars().take(19).collect();
        s.push('…');
        s
    } else {
        cmd
    };
    serde_json::Value::String(cut).to_string()
}

/// Columns padded as docker's tabwriter does (3 spaces; at least 10 wide).
pub fn columns(rows: &[Vec<String>]) -> String {
    let n = rows.first().map_or(0, Vec::len);
    let widths: Vec<usize> = (0..n)
        .map(|i| {
            rows.iter()
                .map(|r| r[i].chars().count() + 3)
                .max()
                .unwrap_or(0)
                .max(10)
        })
        .collect();
    let mut out = String::new();
    for r in rows {
        let mut line = String::new();
        for (i, cell) in r.iter().enumerate() {
            if i + 1 == n {
                line.push_str(cell);
            } else {
                line.push_str(&format!("{cell:<w$}", w = widths[i]));
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

fn size_cell(store: &Store, rec: &Record) -> String {
    let upper = super::inspect::dir_size(&containers::dir(store, &rec.id).join("snapshot/upper"));
    let virt = crate::image::digest::Digest::parse(&rec.image_id)
        .ok()
        .and_then(|d| store.image(&d).ok())
        .map_or(0, |i| i.size());
    format!(
        "{} (virtual {})",
        human_size(upper),
        human_size(upper + virt)
    )
}

pub fn ps(store: &Store, a: &PsArgs, out: &mut dyn Write) -> Result<()> {
    let now = time::now() as i64;
    let mut found: Vec<(Record, Live)> = containers::ids(store)
        .into_iter()
        .rev()
        .filter_map(|id| {
            Some((
                containers::read_record(store, &id).ok()?,
                status::live(store, &id),
            ))
        })
        .filter(|(_, l)| a.all || l.running())
        .collect();
    found.retain(|(r, _)| containers::dir(store, &r.id).is_dir());
    let short = |id: &str| {
        if a.no_trunc {
            id.to_string()
        } else {
            id[..12].to_string()
        }
    };
    let mut text = String::new();
    if a.quiet {
        found
            .iter()
            .for_each(|(r, _)| text.push_str(&format!("{}\n", short(&r.id))));
    } else if a.format.as_deref() == Some("json") {
        for (r, l) in &found {
            let created = time::parse_rfc3339(&r.created).unwrap_or(now);
            let v = serde_json::json!({
                "Command": command_cell(&r.args, a.no_trunc),
                "CreatedAt": format!("{} +0000 UTC", time::rfc3339(created as u64).replace('T', " ").trim_end_matches('Z')),
                "ID": short(&r.id),
                "Image": r.image,
                "Labels": "",
                "LocalVolumes": "0",
                "Mounts": "",
                "Names": r.name,
                "Networks": "",
                "Ports": "",
                "RunningFor": time::ago(created, now),
                "Size": if a.size { size_cell(store, r) } else { "0B".into() },
                "State": l.phase.as_str(),
                "Status": status::status_text(l, now),
            });
            text.push_str(&format!("{v}\n"));
        }
    } else if let Some(f) = &a.format {
        return Err(Error::Usage(format!(
            "--format {f:?}: only json is supported"
        )));
    } else {
        let mut rows = vec![[
            "CONTAINER ID",
            "IMAGE",
            "COMMAND",
            "CREATED",
            "STATUS",
            "PORTS",
            "NAMES",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect::<Vec<_>>()];
        if a.size {
            rows[0].push("SIZE".into());
        }
        for (r, l) in &found {
            let created = time::parse_rfc3339(&r.created).unwrap_or(now);
            let mut row = vec![
                short(&r.id),
                r.image.clone(),
                command_cell(&r.args, a.no_trunc),
                time::ago(created, now),
                status::status_text(l, now),
                String::new(),
                r.name.clone(),
            ];
            if a.size {
                row.push(size_cell(store, r));
            }
            rows.push(row);
        }
        text = columns(&rows);
    }
    out.write_all(text.as_bytes())
        .map_err(|e| Error::io("write", "stdout", e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn command_is_cut_and_quoted_like_docker() {
        let a: Vec<String> = ["sh", "-c", "while true; do sleep 1; done"]
            .map(String::from)
            .to_vec();
        assert_eq!(command_cell(&a, false), "\"sh -c while true; d…\"");
        assert_eq!(command_cell(&a[..1], false), "\"sh\"");
        assert_eq!(
            command_cell(&a, true),
            "\"sh -c while true; do sleep 1; done\""
        );
    }

    #[test]
    fn columns_pad_by_three() {
        let rows = vec![
            vec!["A".to_string(), "B".into(), "C".into()],
            vec!["abcdefghijkl".to_string(), "x".into(), "".into()],
        ];
        let t = columns(&rows);
        assert_eq!(t, "A              B         C\nabcdefghijkl   x\n");
    }
}
