//! The one-way stack of `lib.rs`, checked: every path into another top-level module of this crate (`crate::x`,
//! `crate::{x, y}`, or enough `super::` to reach the crate root) must point to a lower layer. Unit tests
//! (`#[cfg(test)] mod tests { … }` and the `tests.rs` of a `#[cfg(test)] mod tests;`) are left out: they may use any
//! layer's test doubles.
//!
//! A test over the source rather than a split into crates: the stack stays one crate (one build, one version),
//! and the check names the file and the edge that broke it.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Each top-level module and its layer (bottom = 0). A module may use only modules of a lower layer.
const LAYERS: [(&str, u8); 17] = [
    ("telemetry", 0),
    ("ids", 1),
    ("huawei", 2),
    ("records", 3),
    ("storage", 4),
    ("auth", 4),
    ("idempotency", 5),
    ("rate_limit", 5),
    ("verification_state", 5),
    ("guard", 5),
    ("callbacks", 6),
    ("calls", 6),
    ("outcome", 6),
    ("verification", 6),
    ("adapters", 7),
    ("config", 8),
    ("edge", 9),
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

/// The first path segment of every path that follows `prefix` in `code`: `prefix a::x` and `prefix {a::x, b}`
/// give `a` (and `b`).
fn first_segments_after(code: &str, prefix: &str) -> BTreeSet<String> {
    code.match_indices(prefix).flat_map(|(at, _)| first_segments(&code[at + prefix.len()..])).collect()
}

/// The first path segment of the path at the start of `rest`, or of each path of the group there.
fn first_segments(rest: &str) -> Vec<String> {
    let mut first = Vec::new();
    match rest.strip_prefix('{') {
        // `{a::x, b}`: the first identifier of each item at the top of the group.
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
                        first.push(identifier_at(&group[i..]));
                        item_start = false;
                    }
                    _ => {}
                }
            }
        }
        None => first.push(identifier_at(rest)),
    }
    first.retain(|name| !name.is_empty());
    first
}

/// Every top-level module a file's code names.
fn modules_used(module: &[String], code: &str) -> BTreeSet<String> {
    let mut used = first_segments_after(code, "crate::");
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

/// The names a top-level module's `mod.rs` re-exports, each with the submodule it comes from (`pub use
/// service::{Answer, CallbackService}` → `Answer` and `CallbackService` are `service`'s).
fn re_exports(mod_rs: &str) -> BTreeMap<String, String> {
    let mut names = BTreeMap::new();
    for (at, _) in mod_rs.match_indices("pub use ") {
        let statement = &mod_rs[at + "pub use ".len()..];
        let statement = &statement[..statement.find(';').unwrap_or(statement.len())];
        let Some((submodule, items)) = statement.split_once("::") else { continue };
        let words = items.split(|c: char| !(c.is_alphanumeric() || c == '_')).filter(|w| !w.is_empty());
        for word in words.filter(|w| !["as", "self"].contains(w)) {
            names.insert(word.to_owned(), submodule.trim().to_owned());
        }
    }
    names
}

/// The uses between the submodules of each top-level module (`callbacks/service.rs` naming `super::replay` is
/// `service` → `replay`), through `super::x`, `crate::<top>::x`, or a name the top module re-exports.
fn submodule_edges(files: &[(PathBuf, String)]) -> BTreeMap<String, BTreeSet<(String, String)>> {
    let tests = unit_test_files(files);
    let production: Vec<(Vec<String>, String)> = files
        .iter()
        .filter(|(path, _)| !tests.contains(path))
        .map(|(path, text)| (module_path(path), production_code(text)))
        .collect();
    let mut edges: BTreeMap<String, BTreeSet<(String, String)>> = BTreeMap::new();
    for (module, code) in production.iter().filter(|(module, _)| module.len() >= 2) {
        let (top, from) = (&module[0], &module[1]);
        let submodules: BTreeSet<&str> =
            production.iter().filter(|(m, _)| m.len() >= 2 && &m[0] == top).map(|(m, _)| m[1].as_str()).collect();
        let exported = production
            .iter()
            .find(|(m, _)| m.len() == 1 && &m[0] == top)
            .map(|(_, mod_rs)| re_exports(mod_rs))
            .unwrap_or_default();
        // Paths that start in the top-level module's namespace.
        let mut named = first_segments_after(code, &format!("crate::{top}::"));
        let ups_to_top = module.len() - 1;
        for (at, _) in code.match_indices("super::").filter(|(at, _)| !code[..*at].ends_with("super::")) {
            let mut rest = &code[at..];
            let mut ups = 0;
            while let Some(next) = rest.strip_prefix("super::") {
                ups += 1;
                rest = next;
            }
            if ups == ups_to_top {
                named.extend(first_segments(rest));
            }
        }
        for name in named {
            let to = match submodules.contains(name.as_str()) {
                true => Some(name),
                false => exported.get(&name).cloned(),
            };
            if let Some(to) = to.filter(|to| to != from) {
                edges.entry(top.clone()).or_default().insert((from.clone(), to));
            }
        }
    }
    edges
}

/// The cycles among the submodules of each top-level module, as readable lines (`callbacks: replay → service →
/// replay`).
fn submodule_cycles(files: &[(PathBuf, String)]) -> Vec<String> {
    let mut problems = Vec::new();
    for (top, edges) in submodule_edges(files) {
        let next =
            |from: &str| -> Vec<String> { edges.iter().filter(|(f, _)| f == from).map(|(_, to)| to.clone()).collect() };
        let mut reported = BTreeSet::new();
        for (start, _) in &edges {
            // Depth-first from `start`, looking for a way back to it.
            let mut stack = vec![vec![start.clone()]];
            while let Some(path) = stack.pop() {
                let Some(last) = path.last() else { continue };
                for to in next(last) {
                    if &to == start {
                        let mut members: Vec<String> = path.clone();
                        members.sort();
                        if reported.insert(members) {
                            problems.push(format!("{top}: {} → {start}", path.join(" → ")));
                        }
                    } else if !path.contains(&to) {
                        stack.push([path.clone(), vec![to]].concat());
                    }
                }
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
fn no_cycle_among_the_submodules_of_a_module() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    source_files(&root, &root, &mut files);
    let problems = submodule_cycles(&files);
    assert!(problems.is_empty(), "cycles inside a module (one of each pair must move down):\n{}", problems.join("\n"));
}

#[test]
fn the_cycle_check_sees_a_cycle_through_super_crate_paths_and_re_exports() {
    let file = |path: &str, text: &str| (PathBuf::from(path), text.to_owned());
    let mod_rs =
        file("callbacks/mod.rs", "pub mod replay;\npub mod service;\npub use service::{Answer, CallbackService};\n");
    let service_uses_replay = file("callbacks/service.rs", "use super::replay::NOT_STORED_MESSAGE;\n");
    for replay in [
        file("callbacks/replay.rs", "use super::service::Answer;\n"),
        file("callbacks/replay.rs", "use super::{CallbackService, Answer};\n"),
        file("callbacks/replay.rs", "fn f() { crate::callbacks::service::x() }\n"),
    ] {
        let cycles = submodule_cycles(&[mod_rs.clone(), service_uses_replay.clone(), replay.clone()]);
        assert_eq!(cycles.len(), 1, "{}: {cycles:?}", replay.1);
        assert!(cycles[0].starts_with("callbacks: "), "{cycles:?}");
    }
    // One way only, a test module's use, and a deeper file's own `super::` are not cycles.
    let one_way = [
        mod_rs.clone(),
        file("callbacks/replay.rs", "use super::service::Answer;\n"),
        file(
            "callbacks/service.rs",
            "pub const X: u8 = 1;\n#[cfg(test)]\nmod tests {\n use super::super::replay::y;\n}\n",
        ),
        file("outcome/derive/rules.rs", "use super::fold_one;\n"),
        file("outcome/read.rs", "use super::derive::fold;\n"),
    ];
    assert_eq!(submodule_cycles(&one_way), Vec::<String>::new());
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
        file("huawei/call_verify.rs", "use crate::calls::CallRequest;\n"),
        file("records/write.rs", "use crate::{huawei::Cdr, storage::StoreError};\n"),
        file("callbacks/service.rs", "fn f() { crate::calls::TriggerError::x() }\n"),
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
