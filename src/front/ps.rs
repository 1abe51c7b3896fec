//! `nook ps`: docker's table (CONTAINER ID, IMAGE, COMMAND, CREATED, STATUS,
//! PORTS, NAMES[, SIZE]), `-q`, `--no-trunc`, `--format json`.

use super::containers::{self, Record};
use super::ps_format::{default_table, header, render, Filters, Format, Piece, Subject};
use super::status::{self, Live};
use crate::cli::front_ctr::PsArgs;
use crate::error::{Error, Result};
use crate::image::store::Store;
use crate::image::{table::human_size, time};
use serde_json::{Map, Value};
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
                .map(|r| r.get(i).map_or(0, |c| c.chars().count()) + 3)
                .max()
                .unwrap_or(0)
                .max(10)
        })
        .collect();
    let mut out = String::new();
    for r in rows {
        let mut line = String::new();
        for (i, cell) in r.iter().enumerate() {
            if i + 1 >= n {
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

/// docker's JSON object for one container (also the template's fields).
fn fields(
    store: &Store,
    r: &Record,
    l: &Live,
    a: &PsArgs,
    size: bool,
    now: i64,
) -> Map<String, Value> {
    let created = time::parse_rfc3339(&r.created).unwrap_or(now);
    let id = if a.no_trunc { &r.id[..] } else { &r.id[..12] };
    let v = serde_json::json!({
        "Command": command_cell(&r.args, a.no_trunc),
        "CreatedAt": format!("{} +0000 UTC", time::rfc3339(created as u64).replace('T', " ").trim_end_matches('Z')),
        "ID": id,
        "Image": r.image,
        "Labels": r.labels.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join(","),
        "LocalVolumes": super::volume::mounted_by(store, &r.id).len().to_string(),
        "Mounts": "",
        "Names": r.name,
        "Networks": "",
        "Ports": "",
        "RunningFor": time::ago(created, now),
        "Size": if size { size_cell(store, r) } else { "0B".into() },
        "State": l.phase.as_str(),
        "Status": status::status_text(l, now),
    });
    match v {
        Value::Object(m) => m,
        _ => Map::new(),
    }
}

/// The containers `ps` lists, newest first: running ones (every one with
/// `-a`, a status filter, `--last` or `-l`), filtered, at most `--last`.
fn select(store: &Store, a: &PsArgs, filters: &Filters) -> Vec<(Record, Live)> {
    let last = if a.latest {
        Some(1)
    } else {
        a.last.filter(|n| *n > 0)
    };
    let all = a.all || filters.implies_all() || last.is_some();
    let mut found: Vec<(Record, Live)> = containers::ids(store)
        .into_iter()
        .rev()
        .filter_map(|id| {
            let rec = containers::read_record(store, &id).ok()?;
            let live = status::live(store, &id);
            let subject = Subject {
                id: &rec.id,
                name: &rec.name,
                image: &rec.image,
                image_id: &rec.image_id,
                live: &live,
                labels: &rec.labels,
                created: &rec.created,
            };
            (filters.matches(&subject) && (all || live.running())).then_some((rec, live))
        })
        .filter(|(r, _)| containers::dir(store, &r.id).is_dir())
        .collect();
    if let Some(n) = last {
        found.truncate(n as usize);
    }
    found
}

pub fn ps(store: &Store, a: &PsArgs, out: &mut dyn Write) -> Result<()> {
    let now = time::now() as i64;
    let format = Format::parse(a.format.as_deref())?;
    let filters = Filters::parse(&a.filter)?.resolve(|what| {
        let id = containers::lookup(store, what)?;
        Ok(containers::read_record(store, &id)?.created)
    })?;
    let found = select(store, a, &filters);
    let size = a.size || format.wants("Size");
    let mut text = String::new();
    if a.quiet {
        for (r, _) in &found {
            let id = if a.no_trunc { &r.id[..] } else { &r.id[..12] };
            text.push_str(&format!("{id}\n"));
        }
    } else {
        let rows = found.iter().map(|(r, l)| fields(store, r, l, a, size, now));
        match &format {
            Format::Json => rows.for_each(|m| text.push_str(&format!("{}\n", Value::Object(m)))),
            Format::Template {
                table: false,
                pieces,
            } => rows.for_each(|m| text.push_str(&format!("{}\n", render(pieces, &m)))),
            Format::Template {
                table: true,
                pieces,
            } => text = table(pieces, rows),
            Format::Table => text = table(&default_table(a.size), rows),
        }
    }
    out.write_all(text.as_bytes())
        .map_err(|e| Error::io("write", "stdout", e))
}

/// Tab-separated cells aligned under their headers (docker's tabwriter).
fn table(pieces: &[Piece], rows: impl Iterator<Item = Map<String, Value>>) -> String {
    let split = |line: String| line.split('\t').map(str::to_string).collect::<Vec<_>>();
    let mut cells = vec![split(header(pieces))];
    cells.extend(rows.map(|m| split(render(pieces, &m))));
    columns(&cells)
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
