//! The daemon's modules in the order of the data flow, top to bottom; a module may use only
//! the ones below it. ARCHITECTURE.md describes each layer; this test keeps the code to it.

/// Top-level modules, from the commands at the top to the primitives at the bottom.
const ORDER: &[&str] = &[
    "cli",
    "app",
    "ops",
    "reconcile",
    "config",
    "http",
    "webhook",
    "mirror",
    "activecampaign",
    "db",
    "time",
    "setting",
    "metrics",
];

/// Every `crate::<module>` path in the code of `text` (comments left out).
fn uses(text: &str) -> Vec<String> {
    let mut found = Vec::new();
    for line in text.lines() {
        let code = line.split("//").next().unwrap_or_default();
        let mut rest = code;
        while let Some(at) = rest.find("crate::") {
            let after = &rest[at + "crate::".len()..];
            let name: String = after
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            found.push(name);
            rest = after;
        }
    }
    found
}

/// `(file, module it belongs to)` for every source file under `dir`.
fn sources(dir: &std::path::Path, module: Option<&str>, out: &mut Vec<(String, String)>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .expect("src is readable")
        .map(|e| e.expect("entry").path())
        .collect();
    entries.sort();
    for path in entries {
        let stem = path
            .file_stem()
            .and_then(|s| s.to_str())
            .expect("UTF-8 names")
            .to_owned();
        let owner = module.map_or_else(|| stem.clone(), str::to_owned);
        if path.is_dir() {
            sources(&path, Some(&owner), out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push((path.display().to_string(), owner));
        }
    }
}

#[test]
fn no_module_uses_one_above_it_and_every_module_has_a_place() {
    let src = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    sources(&src, None, &mut files);
    let rank = |m: &str| ORDER.iter().position(|o| *o == m);
    let mut wrong = Vec::new();
    for (file, module) in &files {
        if ["lib", "main", "layers"].contains(&module.as_str()) {
            continue;
        }
        let Some(own) = rank(module) else {
            wrong.push(format!("{file}: module `{module}` has no place in ORDER"));
            continue;
        };
        let text = std::fs::read_to_string(file).expect("source is readable");
        for used in uses(&text) {
            if let Some(other) = rank(&used) {
                if other < own {
                    wrong.push(format!(
                        "{file}: `{module}` uses `{used}`, which is above it"
                    ));
                }
            }
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn the_scan_sees_paths_in_code_and_not_in_comments() {
    let text = "use crate::db::Pool; // crate::cli\nlet x = crate::time::now();\n/// crate::app\n";
    assert_eq!(uses(text), ["db", "time"]);
}
