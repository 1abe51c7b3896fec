//! `nook images` output: docker's table, `-q`, and `--format json`.
#![forbid(unsafe_code)]

use super::store::record::ImageRecord;
use super::time::{ago, parse_rfc3339};
use super::{digest::Digest, reference::Reference};

/// docker's sizes: decimal units, three significant digits (`4.26MB`).
pub fn human_size(n: u64) -> String {
    let units = ["B", "kB", "MB", "GB", "TB", "PB"];
    let mut v = n as f64;
    let mut u = 0;
    while v >= 1000.0 && u + 1 < units.len() {
        v /= 1000.0;
        u += 1;
    }
    let decimals = if v >= 100.0 {
        0
    } else if v >= 10.0 {
        1
    } else {
        2
    };
    let s = format!("{v:.decimals$}");
    let s = if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s
    };
    format!("{s}{}", units[u])
}

/// One line of the listing: an image under one of its names (or `<none>`).
pub struct Row<'a> {
    pub repo: String,
    pub tag: String,
    pub image: &'a ImageRecord,
}

pub fn rows<'a>(
    images: &'a [ImageRecord],
    tags: &[(Reference, Digest)],
    filter: Option<&str>,
) -> Vec<Row<'a>> {
    let mut out = Vec::new();
    for img in images {
        let mine: Vec<&Reference> = tags
            .iter()
            .filter(|(_, id)| *id == img.id)
            .map(|(r, _)| r)
            .collect();
        for r in &mine {
            out.push(Row {
                repo: r.name.clone(),
                tag: r.tag.clone(),
                image: img,
            });
        }
        if mine.is_empty() {
            out.push(Row {
                repo: "<none>".into(),
                tag: "<none>".into(),
                image: img,
            });
        }
    }
    if let Some(f) = filter {
        let (name, tag) = match f.rsplit_once(':').filter(|(_, t)| !t.contains('/')) {
            Some((n, t)) => (n.to_string(), Some(t.to_string())),
            None => (f.to_string(), None),
        };
        let name = Reference::parse(&name).map(|r| r.name).unwrap_or(name);
        out.retain(|r| r.repo == name && tag.as_ref().is_none_or(|t| *t == r.tag));
    }
    out
}

fn id_text(d: &Digest, full: bool) -> String {
    if full {
        d.to_string()
    } else {
        d.short().to_string()
    }
}

fn created(img: &ImageRecord) -> Option<i64> {
    parse_rfc3339(&img.created)
}

pub fn table(rows: &[Row], full: bool, now: i64) -> String {
    let mut lines = vec![[
        "REPOSITORY".to_string(),
        "TAG".into(),
        "IMAGE ID".into(),
        "CREATED".into(),
        "SIZE".into(),
    ]];
    for r in rows {
        let when = created(r.image)
            .map(|t| ago(t, now))
            .unwrap_or_else(|| "N/A".into());
        lines.push([
            r.repo.clone(),
            r.tag.clone(),
            id_text(&r.image.id, full),
            when,
            human_size(r.image.size()),
        ]);
    }
    let mut w = [0usize; 5];
    for l in &lines {
        for (i, c) in l.iter().enumerate() {
            w[i] = w[i].max(c.chars().count());
        }
    }
    let mut s = String::new();
    for l in &lines {
        let mut line = String::new();
        for (i, c) in l.iter().enumerate() {
            if i + 1 == l.len() {
                line.push_str(c);
            } else {
                line.push_str(&format!("{c:<width$}   ", width = w[i]));
            }
        }
        s.push_str(line.trim_end());
        s.push('\n');
    }
    s
}

/// `2020-09-13 12:26:40 +0000 UTC`, as docker's `CreatedAt`.
fn docker_time(t: i64) -> String {
    let s = super::time::rfc3339(t.max(0) as u64);
    format!("{} +0000 UTC", s.trim_end_matches('Z').replace('T', " "))
}

pub fn json_lines(rows: &[Row], full: bool, now: i64) -> String {
    let mut s = String::new();
    for r in rows {
        let t = created(r.image);
        let v = serde_json::json!({
            "Containers": "N/A",
            "CreatedAt": t.map(docker_time).unwrap_or_default(),
            "CreatedSince": t.map(|t| ago(t, now)).unwrap_or_else(|| "N/A".into()),
            "Digest": "<none>",
            "ID": id_text(&r.image.id, full),
            "Repository": r.repo,
            "SharedSize": "N/A",
            "Size": human_size(r.image.size()),
            "Tag": r.tag,
            "UniqueSize": "N/A",
            "VirtualSize": human_size(r.image.size()),
        });
        s.push_str(&v.to_string());
        s.push('\n');
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_like_docker() {
        assert_eq!(human_size(0), "0B");
        assert_eq!(human_size(999), "999B");
        assert_eq!(human_size(4_261_550), "4.26MB");
        assert_eq!(human_size(42_600_000), "42.6MB");
        assert_eq!(human_size(1_000_000), "1MB");
        assert_eq!(human_size(187_000_000), "187MB");
    }

    #[test]
    fn table_rows_and_filter() {
        let img = ImageRecord {
            id: Digest::of_bytes(b"cfg"),
            config: Digest::of_bytes(b"cfg"),
            manifest: None,
            layers: vec![],
            created: "2020-09-13T12:26:40Z".into(),
            loaded: 0,
        };
        let other = ImageRecord {
            id: Digest::of_bytes(b"other"),
            ..img.clone()
        };
        let imgs = vec![img.clone(), other];
        let tags = vec![
            (Reference::parse("busybox").unwrap(), img.id.clone()),
            (Reference::parse("bb:1").unwrap(), img.id.clone()),
        ];
        let rows = rows(&imgs, &tags, None);
        assert_eq!(rows.len(), 3);
        let t = table(&rows, false, 1_600_000_000 + 300);
        let lines: Vec<&str> = t.lines().collect();
        assert_eq!(
            lines[0],
            "REPOSITORY   TAG      IMAGE ID       CREATED         SIZE"
        );
        assert_eq!(
            lines[1],
            format!(
                "busybox      latest   {}   5 minutes ago   0B",
                img.id.short()
            )
        );
        assert!(lines[3].starts_with("<none>       <none>   "));
        let only = super::rows(&imgs, &tags, Some("bb:1"));
        assert_eq!((only.len(), only[0].tag.as_str()), (1, "1"));
        let j: serde_json::Value = serde_json::from_str(
            json_lines(&only, false, 1_600_000_000)
                .lines()
                .next()
                .unwrap(),
        )
        .unwrap();
        assert_eq!(j["Repository"], "bb");
        assert_eq!(j["ID"], img.id.short());
        assert_eq!(j["CreatedAt"], "2020-09-13 12:26:40 +0000 UTC");
    }
}
