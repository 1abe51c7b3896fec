//! `nook ps --filter` and `--format`: docker's filters (status, name, id,
//! ancestor, exited; one key given twice matches either value, different
//! keys must all match) and the part of docker's Go templates that can be
//! given honestly: `{{.Field}}` placeholders between literal text, `table`
//! for aligned columns with docker's headers, `json` and `{{json .}}`.
//! Anything else in `{{...}}` (functions, pipes, conditions) is refused.

use super::status::{Live, Phase};
use crate::error::{Error, Result};
use serde_json::{Map, Value};

/// docker's column header for each field a template may name.
const FIELDS: [(&str, &str); 14] = [
    ("ID", "CONTAINER ID"),
    ("Image", "IMAGE"),
    ("Command", "COMMAND"),
    ("CreatedAt", "CREATED AT"),
    ("RunningFor", "CREATED"),
    ("Ports", "PORTS"),
    ("State", "STATE"),
    ("Status", "STATUS"),
    ("Size", "SIZE"),
    ("Names", "NAMES"),
    ("Labels", "LABELS"),
    ("Mounts", "MOUNTS"),
    ("Networks", "NETWORKS"),
    ("LocalVolumes", "LOCAL VOLUMES"),
];

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Piece {
    Text(String),
    Field(&'static str),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Format {
    /// docker's default table.
    Table,
    /// One JSON object per container (`json`, `{{json .}}`).
    Json,
    /// A template; `table` aligns its tab-separated cells under headers.
    Template { table: bool, pieces: Vec<Piece> },
}

impl Format {
    pub fn parse(spec: Option<&str>) -> Result<Format> {
        let Some(spec) = spec else {
            return Ok(Format::Table);
        };
        let text = spec.replace("\\t", "\t").replace("\\n", "\n");
        let (table, body) = match text.strip_prefix("table") {
            Some(rest) => (true, rest.trim_start()),
            None => (false, text.as_str()),
        };
        if table && body.is_empty() {
            return Ok(Format::Table);
        }
        if body == "json" || is_json_dot(body) {
            return Ok(Format::Json);
        }
        let pieces = pieces(spec, body)?;
        Ok(Format::Template { table, pieces })
    }

    /// Does the template name this field (so it is worth computing)?
    pub fn wants(&self, field: &str) -> bool {
        match self {
            Format::Template { pieces, .. } => pieces.contains(&Piece::Field(field_name(field))),
            _ => false,
        }
    }
}

/// docker's default `ps` table (SIZE with `-s`).
pub fn default_table(size: bool) -> Vec<Piece> {
    let mut names = vec![
        "ID",
        "Image",
        "Command",
        "RunningFor",
        "Status",
        "Ports",
        "Names",
    ];
    if size {
        names.push("Size");
    }
    let mut out = Vec::new();
    for (i, n) in names.iter().enumerate() {
        if i > 0 {
            out.push(Piece::Text("\t".into()));
        }
        out.push(Piece::Field(field_name(n)));
    }
    out
}

fn is_json_dot(body: &str) -> bool {
    body.strip_prefix("{{")
        .and_then(|b| b.strip_suffix("}}"))
        .is_some_and(|b| b.split_whitespace().eq(["json", "."]))
}

fn field_name(f: &str) -> &'static str {
    FIELDS.iter().find(|(n, _)| *n == f).map_or("", |(n, _)| n)
}

fn pieces(spec: &str, mut body: &str) -> Result<Vec<Piece>> {
    let bad = |why: String| Error::Usage(format!("--format {spec:?}: {why}"));
    let mut out = Vec::new();
    while let Some(open) = body.find("{{") {
        if open > 0 {
            out.push(Piece::Text(body[..open].to_string()));
        }
        let rest = &body[open + 2..];
        let close = rest
            .find("}}")
            .ok_or_else(|| bad("unclosed action".into()))?;
        let action = rest[..close].trim();
        let name = action.strip_prefix('.').unwrap_or("");
        if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric()) {
            return Err(bad(format!(
                "unsupported template action {{{{{action}}}}} (nook supports {{{{.Field}}}} and {{{{json .}}}})"
            )));
        }
        let field = field_name(name);
        if field.is_empty() {
            return Err(bad(format!("can't evaluate field {name}")));
        }
        out.push(Piece::Field(field));
        body = &rest[close + 2..];
    }
    if body.contains("}}") {
        return Err(bad("unexpected \"}}\"".into()));
    }
    if !body.is_empty() {
        out.push(Piece::Text(body.to_string()));
    }
    Ok(out)
}

/// One line of the template for a container's fields (docker's JSON object).
pub fn render(pieces: &[Piece], fields: &Map<String, Value>) -> String {
    pieces
        .iter()
        .map(|p| match p {
            Piece::Text(t) => t.clone(),
            Piece::Field(f) => match &fields[*f] {
                Value::String(s) => s.clone(),
                v => v.to_string(),
            },
        })
        .collect()
}

/// The header line of a `table` template.
pub fn header(pieces: &[Piece]) -> String {
    pieces
        .iter()
        .map(|p| match p {
            Piece::Text(t) => t.clone(),
            Piece::Field(f) => FIELDS
                .iter()
                .find(|(n, _)| n == f)
                .map_or("", |(_, h)| h)
                .to_string(),
        })
        .collect()
}

/// One `--filter KEY=VALUE` each; checked before anything is listed.
/// `before`/`since` name a container, resolved to its creation time by
/// `resolve` before matching.
#[derive(Debug, Default)]
pub struct Filters {
    terms: Vec<(String, String)>,
}

/// What a filter is matched against.
pub struct Subject<'a> {
    pub id: &'a str,
    pub name: &'a str,
    pub image: &'a str,
    pub image_id: &'a str,
    pub live: &'a Live,
    pub labels: &'a std::collections::BTreeMap<String, String>,
    /// RFC 3339 with nanoseconds: ordered as strings.
    pub created: &'a str,
}

impl Filters {
    pub fn parse(specs: &[String]) -> Result<Filters> {
        let mut terms = Vec::new();
        for s in specs {
            let Some((k, v)) = s.split_once('=') else {
                return Err(Error::Usage(format!(
                    "bad format of filter {s:?} (expected name=value)"
                )));
            };
            let k = k.trim().to_ascii_lowercase();
            let ok = match k.as_str() {
                "status" => [
                    "created",
                    "restarting",
                    "running",
                    "removing",
                    "paused",
                    "exited",
                    "dead",
                ]
                .contains(&v),
                "exited" => v.parse::<i32>().is_ok(),
                "name" | "id" | "ancestor" | "before" | "since" => true,
                "label" => !v.is_empty(),
                _ => return Err(Error::Usage(format!("invalid filter '{k}'"))),
            };
            if !ok {
                return Err(Error::Usage(format!("invalid filter '{k}={v}'")));
            }
            terms.push((k, v.to_string()));
        }
        Ok(Filters { terms })
    }

    /// docker lists every state when a status is asked for, or a
    /// container created before or since another.
    pub fn implies_all(&self) -> bool {
        self.terms
            .iter()
            .any(|(k, _)| k == "status" || k == "before" || k == "since")
    }

    /// `before`/`since`: the named container's creation time, by `created`
    /// (which fails with docker's `No such container`).
    pub fn resolve(mut self, created: impl Fn(&str) -> Result<String>) -> Result<Filters> {
        for (k, v) in self.terms.iter_mut() {
            if k == "before" || k == "since" {
                *v = created(v)?;
            }
        }
        Ok(self)
    }

    /// Terms of one key: any may match (OR), except `label`, `before` and
    /// `since`, which must all match (docker); across keys all must (AND).
    pub fn matches(&self, s: &Subject) -> bool {
        let keys: Vec<&str> = self.terms.iter().map(|(k, _)| k.as_str()).collect();
        keys.iter().all(|key| {
            let mut of_key = self.terms.iter().filter(|(k, _)| k == key);
            match *key {
                "label" | "before" | "since" => of_key.all(|(_, v)| term(key, v, s)),
                _ => of_key.any(|(_, v)| term(key, v, s)),
            }
        })
    }
}

fn term(key: &str, v: &str, s: &Subject) -> bool {
    match key {
        "status" => s.live.phase.as_str() == v,
        "exited" => s.live.phase == Phase::Exited && v.parse() == Ok(s.live.exit_code),
        "id" => s.id.starts_with(v),
        "before" => s.created < v,
        "since" => s.created > v,
        "label" => match v.split_once('=') {
            Some((k, val)) => s.labels.get(k).is_some_and(|x| x == val),
            None => s.labels.contains_key(v),
        },
        "name" => name_matches(s.name, v),
        "ancestor" => {
            let hex = v.trim_start_matches("sha256:");
            tagged(s.image) == tagged(v)
                || (hex.len() >= 4 && s.image_id.trim_start_matches("sha256:").starts_with(hex))
        }
        _ => false,
    }
}

/// An image reference with docker's default tag when it has none.
fn tagged(r: &str) -> String {
    let last = r.rsplit('/').next().unwrap_or(r);
    if last.contains(':') || last.contains('@') {
        r.to_string()
    } else {
        format!("{r}:latest")
    }
}

/// docker matches names as a regular expression against "/NAME"; nook
/// takes a substring with optional `^` and `$` anchors.
fn name_matches(name: &str, pat: &str) -> bool {
    let full = format!("/{name}");
    match (pat.strip_prefix('^'), pat.strip_suffix('$')) {
        (Some(p), _) if p.ends_with('$') => {
            let p = &p[..p.len() - 1];
            full == p || name == p
        }
        (Some(p), None) => full.starts_with(p) || name.starts_with(p),
        (None, Some(p)) => full.ends_with(p),
        _ => full.contains(pat),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn templates_parse_to_fields_and_text() {
        let f = Format::parse(Some("table {{.ID}}\\t{{ .Names }}")).unwrap();
        let Format::Template { table, pieces } = f else {
            panic!("not a template")
        };
        assert!(table);
        assert_eq!(header(&pieces), "CONTAINER ID\tNAMES");
        let mut m = Map::new();
        m.insert("ID".into(), "abc".into());
        m.insert("Names".into(), "x".into());
        assert_eq!(render(&pieces, &m), "abc\tx");
        assert_eq!(Format::parse(Some("json")).unwrap(), Format::Json);
        assert_eq!(Format::parse(Some("{{json .}}")).unwrap(), Format::Json);
        assert_eq!(Format::parse(Some("table")).unwrap(), Format::Table);
        for bad in [
            "{{.Foo}}",
            "{{upper .Names}}",
            "{{.ID",
            "{{if .ID}}x{{end}}",
            "a}}",
        ] {
            let e = Format::parse(Some(bad)).unwrap_err().one_line();
            assert!(e.starts_with("--format"), "{bad}: {e}");
        }
    }

    #[test]
    fn filters_as_docker_combines_them() {
        let live = Live {
            phase: Phase::Exited,
            pid: 0,
            exit_code: 3,
            started_at: String::new(),
            finished_at: String::new(),
            monitor: None,
        };
        let s = Subject {
            id: "abcdef",
            name: "web1",
            image: "busybox:latest",
            image_id: "sha256:0123456789",
            live: &live,
            labels: &[
                ("tier".to_string(), "web".to_string()),
                ("x".into(), "".into()),
            ]
            .into_iter()
            .collect(),
            created: "2026-11-27T10:00:00.000000000Z",
        };
        let m = |f: &[&str]| {
            let v: Vec<String> = f.iter().map(|x| x.to_string()).collect();
            Filters::parse(&v).unwrap().matches(&s)
        };
        assert!(m(&["status=exited", "exited=3", "name=web", "id=abc"]));
        assert!(m(&["status=running", "status=exited"]));
        assert!(!m(&["status=running"]));
        assert!(!m(&["exited=0"]));
        assert!(m(&["ancestor=busybox"]) && m(&["ancestor=0123"]));
        assert!(m(&["ancestor=busybox:latest"]) && !m(&["ancestor=busybox:1"]));
        assert!(!m(&["ancestor=alpine"]));
        assert!(m(&["name=^web1$"]) && m(&["name=^/web"]) && !m(&["name=^eb"]));
        assert!(m(&["label=tier"]) && m(&["label=tier=web"]) && m(&["label=x="]));
        assert!(
            !m(&["label=tier=db"]) && !m(&["label=tier", "label=owner"]),
            "labels AND"
        );
        let when = |k: &str, t: &str| {
            let f = Filters::parse(&[format!("{k}=other")]).unwrap();
            f.resolve(|_| Ok(t.to_string())).unwrap().matches(&s)
        };
        assert!(when("before", "2026-11-27T10:00:01.000000000Z"));
        assert!(!when("before", "2026-11-27T10:00:00.000000000Z"));
        assert!(when("since", "2026-11-27T09:59:59.999999999Z"));
        assert!(!when("since", "2026-11-27T10:00:00.000000000Z"));
        for bad in ["status=gone", "exited=x", "color=red", "status", "label="] {
            assert!(Filters::parse(&[bad.to_string()]).is_err(), "{bad}");
        }
    }
}
