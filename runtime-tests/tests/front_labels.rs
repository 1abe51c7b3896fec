//! Container labels (`--label`, `--label-file`, over the image's) and the
//! `ps --filter` keys that need them or the creation order: `label`,
//! `before`, `since`.

#[allow(dead_code)]
mod images_support;
#[allow(dead_code)]
#[macro_use]
mod front_support;

use front_support::assert_error_125;

#[test]
fn labels_are_kept_shown_and_filtered_with_before_and_since() {
    let f = front_or_skip!();
    let path = std::env::temp_dir().join(format!("nook-labels-{}.txt", std::process::id()));
    std::fs::write(&path, "# team\ntier=db\n\nowner=me\n").unwrap();
    let file = path.to_string_lossy().to_string();
    f.ok(&[
        "create",
        "--name",
        "la",
        "-l",
        "tier=web",
        "--label",
        "solo",
        "-l",
        "org.nook.fixture=mine",
        "busybox",
        "true",
    ]);
    // --label-file, then --label over it.
    f.ok(&[
        "create",
        "--name",
        "lb",
        "--label-file",
        &file,
        "-l",
        "owner=you",
        "busybox",
        "true",
    ]);
    f.ok(&["create", "--name", "lc", "busybox", "true"]);
    let names = |filters: &[&str]| {
        let mut args = vec!["ps", "-a", "--format", "{{.Names}}"];
        for x in filters {
            args.extend(["--filter", x]);
        }
        let mut v: Vec<String> = f.ok(&args).lines().map(String::from).collect();
        v.sort();
        v.join(" ")
    };
    assert_eq!(names(&["label=tier"]), "la lb");
    assert_eq!(names(&["label=org.nook.fixture=busybox"]), "lb lc");
    assert_eq!(names(&["label=tier=web"]), "la");
    assert_eq!(names(&["label=solo"]), "la");
    assert_eq!(
        names(&["label=tier", "label=owner=you"]),
        "lb",
        "labels AND"
    );
    assert_eq!(names(&["label=owner=me"]), "", "--label wins over the file");
    assert_eq!(names(&["before=lb"]), "la");
    assert_eq!(names(&["since=la"]), "lb lc");
    assert_eq!(names(&["since=la", "before=lc"]), "lb");
    assert_eq!(names(&["since=la", "label=tier"]), "lb");
    // without -a: before/since list stopped containers too (docker).
    assert_eq!(
        f.ok(&["ps", "--filter", "before=lc", "--format", "{{.Names}}"])
            .lines()
            .count(),
        2
    );
    let b = f.ok(&[
        "ps",
        "-a",
        "--filter",
        "name=^lb$",
        "--format",
        "{{.Labels}}",
    ]);
    // The image's labels come first, the container's over them.
    assert_eq!(b.trim(), "org.nook.fixture=busybox,owner=you,tier=db");
    let v: serde_json::Value = serde_json::from_str(&f.ok(&["inspect", "la"])).unwrap();
    assert_eq!(
        v[0]["Config"]["Labels"],
        serde_json::json!({"org.nook.fixture": "mine", "solo": "", "tier": "web"})
    );
    assert_error_125(
        &f.run(&["ps", "--filter", "before=nosuch"]),
        "No such container: nosuch",
    );
    assert_error_125(
        &f.run(&["ps", "--filter", "label="]),
        "invalid filter 'label='",
    );
    for (args, needle) in [
        (vec!["-l", "=x"], "invalid label \"=x\""),
        (vec!["-l", "a b=c"], "invalid label"),
        (
            vec!["--label-file", "/nonexistent/labels"],
            "--label-file /nonexistent/labels",
        ),
    ] {
        let mut all = vec!["create"];
        all.extend(args);
        all.extend(["busybox", "true"]);
        assert_error_125(&f.run(&all), needle);
    }
    assert_eq!(
        f.ok(&["ps", "-aq"]).lines().count(),
        3,
        "nothing more was made"
    );
    std::fs::remove_file(&path).unwrap();
}
