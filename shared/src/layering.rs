//! The one-way stack of `lib.rs`, checked: every path into another top-level module of this crate (`crate::x`,
//! `crate::{x, y}`, or enough `super::` to reach the crate root) must point to a lower layer. Unit tests
//! (`#[cfg(test)] mod tests { … }` and the `tests.rs` of a `#[cfg(test)] mod tests;`) are left out: they may use any
//! layer's test doubles.
//!
//! A test over the source rather than a split into crates: the stack stays one crate (one build, one version),
//! and the check names the file and the edge that broke it.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// Each top-level module and its layer (bottom = 0). A module may use only modules of a lower layer.
const LAYERS: [(&str, u8); 11] = [
    ("telemetry", 0),
    ("huawei", 1),
    ("records", 2),
    ("storage", 3),
    ("auth", 3),
    ("callbacks", 4),
    ("verification", 4),
    ("outcome", 4),
    ("adapters", 5),
    ("config", 6),
    ("edge", 7),
];

/// This checker itself: test code, not a layer.
const SELF: &str = "layering";

fn layer(module: &str) -> Option<u8> {
    LAYERS.iter().find(|(name, _)| *name == module).map(|(_, layer)| *layer)
}

/// A file's module path below the crate root: `adapters/dynamo.rs` → `["adapters", "dynamo"]`,
/// `adapters/mod.rs` → `["adapters"]`.
fn module_path(relative: &Path) -> Vec<String> {
    let mut parts: Vec<String> = relative.iter().map(|p| p.to_string_lossy().into_owned()).collect();
    if let Some(last) = parts.pop() {
        let stem = last.trim_end_matches(".rs");
        if stem != "mod" && stem != "lib" {
            parts.push(stem.to_owned());
        }
    }
    parts
}

/// The code of a file without its unit tests and without `//` comments.
fn production_code(text: &str) -> String {
    let code = match text.find("#[cfg(test)]\nmod tests {") {
        Some(at) => &text[..at],
        None => text,
    };
    code.lines().map(|line| line.split("//").next().unwrap_or("")).collect::<Vec<_>>().join("\n")
}

fn identifier_at(text: &str) -> String {
    text.chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect()
}

/// Every top-level module a file's code names.
fn modules_used(module: &[String], code: &str) -> BTreeSet<String> {
    let mut used = BTreeSet::new();
    for (at, _) in code.match_indices("crate::") {
        let rest = &code[at + "crate::".len()..];
        match rest.strip_prefix('{') {
            // `crate::{a::x, b}`: the first identifier of each item at the top of the group.
            Some(group) => {
                let mut depth = 0;
                let mut item_start = true;
                for (i, c) in group.char_indices() {
                    match c {
                        '{' => depth += 1,
                        '}' if depth == 0 => break,
                        '}' => depth -= 1,
                        ',' if depth == 0 => item_start = true,
                        c if item_start && (c.is_alphanumeric() || c == '_') => {
                            used.insert(identifier_at(&group[i..]));
                            item_start = false;
                        }
                        _ => {}
                    }
                }
            }
            None => {
                used.insert(identifier_at(rest));
            }
        }
    }
    // `super::super::x` from `a/b.rs` is `crate::x`.
    for (at, _) in code.match_indices("super::") {
        if code[..at].ends_with("super::") {
            continue;
        }
        let mut rest = &code[at..];
        let mut ups = 0;
        while let Some(next) = rest.strip_prefix("super::") {
            ups += 1;
            rest = next;
        }
        if ups >= module.len() {
            used.insert(identifier_at(rest));
        }
    }
    used.retain(|name| !name.is_empty());
    used
}

/// The files that hold a `#[cfg(test)] mod tests;` declared by another file.
fn unit_test_files(files: &[(PathBuf, String)]) -> BTreeSet<PathBuf> {
    let declares_tests = |text: &str| text.contains("#[cfg(test)]\nmod tests;");
    files
        .iter()
        .filter(|(_, text)| declares_tests(text))
        .map(|(path, _)| {
            let dir = path.parent().map(Path::to_path_buf).unwrap_or_default();
            match path.file_stem().and_then(|s| s.to_str()) {
                Some("mod") | Some("lib") => dir.join("tests.rs"),
                Some(stem) => dir.join(stem).join("tests.rs"),
                None => dir,
            }
        })
        .collect()
}

/// The back-edges among `files` (paths relative to `src/`, with their text), as readable lines.
fn back_edges(files: &[(PathBuf, String)]) -> Vec<String> {
    let mut problems = Vec::new();
    let tests = unit_test_files(files);
    for (path, text) in files.iter().filter(|(path, _)| !tests.contains(path)) {
        let module = module_path(path);
        let Some(top) = module.first() else { continue };
        if top == SELF {
            continue;
        }
        let Some(own_layer) = layer(top) else {
            problems.push(format!("{}: module `{top}` has no layer in LAYERS", path.display()));
            continue;
        };
        for used in modules_used(&module, &production_code(text)) {
            if &used == top {
                continue;
            }
            match layer(&used) {
                Some(used_layer) if used_layer < own_layer => {}
                Some(used_layer) => problems.push(format!(
                    "{}: `{top}` (layer {own_layer}) uses `{used}` (layer {used_layer}): a module may only use lower layers",
                    path.display()
                )),
                None => {}
            }
        }
    }
    problems
}

fn source_files(root: &Path, dir: &Path, files: &mut Vec<(PathBuf, String)>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir).expect("src is readable").flatten().collect();
    entries.sort_by_key(|e| e.path());
    for entry in entries {
        let path = entry.path();
        if path.is_dir() {
            source_files(root, &path, files);
        } else if path.extension().is_some_and(|e| e == "rs") {
            let text = std::fs::read_to_string(&path).expect("a readable source file");
            files.push((path.strip_prefix(root).expect("below src").to_path_buf(), text));
        }
    }
}

#[test]
fn no_module_uses_its_own_layer_or_one_above() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    source_files(&root, &root, &mut files);
    assert!(files.len() > 20, "read the crate's sources: {} files", files.len());
    let problems = back_edges(&files);
    assert!(problems.is_empty(), "back-edges in the one-way stack:\n{}", problems.join("\n"));
}

#[test]
fn every_top_level_module_has_a_layer() {
    let lib = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("src/lib.rs")).expect("lib.rs");
    let declared: BTreeSet<&str> =
        lib.lines().filter_map(|l| l.trim().strip_prefix("pub mod ")?.strip_suffix(';')).collect();
    let layered: BTreeSet<&str> = LAYERS.iter().map(|(name, _)| *name).collect();
    assert_eq!(declared, layered, "lib.rs's public modules and LAYERS must name the same modules");
}

#[test]
fn the_check_sees_every_kind_of_back_edge() {
    let file = |path: &str, text: &str| (PathBuf::from(path), text.to_owned());
    let cases = [
        file("huawei/call_verify.rs", "use crate::verification::CallRequest;\n"),
        file("records/write.rs", "use crate::{huawei::Cdr, storage::StoreError};\n"),
        file("callbacks/service.rs", "fn f() { crate::verification::TriggerError::x() }\n"),
        file("adapters/dynamo.rs", "use super::super::config::CallbackConfig;\n"),
        file("storage/mod.rs", "use super::edge::http;\n"),
        file("telemetry.rs", "use crate::records::Record;\n"),
        file("auth.rs", "use crate::storage::StoreError;\n"),
        file("newlayer/mod.rs", "pub fn f() {}\n"),
        // A `tests.rs` that no `#[cfg(test)] mod tests;` declares is production code.
        file("outcome/other/tests.rs", "use crate::adapters::MemoryStore;\n"),
    ];
    for case in &cases {
        let problems = back_edges(std::slice::from_ref(case));
        assert_eq!(problems.len(), 1, "{}: {problems:?}", case.0.display());
    }
    let allowed = [
        file("edge/http.rs", "use crate::{adapters::DynamoStore, callbacks::{Answer, Endpoint}};\n"),
        file("adapters/dynamo.rs", "use super::aws_env;\nuse crate::records::Record; // crate::edge in a comment\n"),
        file(
            "huawei/x.rs",
            "use crate::telemetry::mask;\n#[cfg(test)]\nmod tests {\n use crate::adapters::MemoryStore;\n}\n",
        ),
    ];
    assert_eq!(back_edges(&allowed), Vec::<String>::new());
}
