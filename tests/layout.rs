//! The module layout: the stages of the pipeline are folders, and a module imports only from the
//! stages [`ALLOWED`] lists for its own; inside a stage, its modules import one another without a
//! cycle. Paths are followed through `pub use` re-exports (`crate::Settings` is `enrich`'s), and
//! `super::` paths from where they are written. Run alone with `cargo test --test layout --
//! --nocapture` to see the graph.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Each stage and the stages it may import from: only stages before it in the flow.
const ALLOWED: &[(&str, &[&str])] = &[
    ("json", &[]),
    ("record", &["json"]),
    ("decode", &["json", "record"]),
    ("event", &["json", "record", "decode"]),
    ("policy", &["json", "record", "decode", "event"]),
    ("store", &["json", "record", "decode", "event", "policy"]),
    (
        "enrich",
        &["json", "record", "decode", "event", "policy", "store"],
    ),
    (
        "lambda",
        &[
            "json", "record", "decode", "event", "policy", "store", "enrich",
        ],
    ),
    (
        "consume",
        &["json", "record", "decode", "event", "policy", "store"],
    ),
    (
        "kafka",
        &[
            "json", "record", "decode", "event", "policy", "store", "enrich",
        ],
    ),
    (
        "config",
        &[
            "json", "record", "decode", "event", "policy", "store", "enrich", "lambda", "consume",
        ],
    ),
    (
        "setup",
        &[
            "json", "record", "decode", "event", "policy", "store", "enrich", "lambda", "consume",
            "config",
        ],
    ),
];

/// A module's path from the crate root (`["decode", "registry", "decoder"]`); the root is `[]`.
type ModPath = Vec<String>;

/// The library's source: each module's path and its code, test code and comments left out.
struct Source {
    modules: BTreeMap<ModPath, String>,
}

impl Source {
    fn read(src: &Path) -> Source {
        let mut modules = BTreeMap::new();
        let mut stack = vec![src.to_path_buf()];
        while let Some(dir) = stack.pop() {
            for entry in std::fs::read_dir(&dir).unwrap() {
                let path = entry.unwrap().path();
                if path.is_dir() {
                    if path.file_name().unwrap() != "bin" {
                        stack.push(path);
                    }
                } else if path.extension().is_some_and(|e| e == "rs") {
                    modules.insert(module_path(src, &path), code_of(&path));
                }
            }
        }
        Source { modules }
    }

    fn is_module(&self, path: &[String]) -> bool {
        self.modules.contains_key(path)
    }

    /// The names `module` re-exports (`pub use a::b::{C, D as E}`), each with the path it comes
    /// from.
    fn reexports(&self, module: &[String]) -> BTreeMap<String, Vec<String>> {
        let mut out = BTreeMap::new();
        let Some(code) = self.modules.get(module) else {
            return out;
        };
        for statement in code.split(';') {
            let statement = statement.trim();
            let Some(tree) = statement.strip_prefix("pub use ") else {
                continue;
            };
            for path in expand_tree(tree.trim()) {
                let (path, alias) = match path.rsplit_once(" as ") {
                    Some((p, a)) => (p.trim().to_string(), a.trim().to_string()),
                    None => (path.clone(), path.rsplit("::").next().unwrap().to_string()),
                };
                let segments: Vec<String> = path.split("::").map(str::to_string).collect();
                out.insert(alias, segments);
            }
        }
        out
    }

    /// The module a path written in `from` leads to: its longest prefix that is a module,
    /// followed through re-exports.
    fn resolve(&self, from: &[String], path: &[String], depth: usize) -> Option<ModPath> {
        let mut at: ModPath = match path.first().map(String::as_str) {
            Some("crate") => Vec::new(),
            Some("super") | Some("self") => from.to_vec(),
            // A path relative to `from`: a child module, or a re-export of it.
            Some(_) => from.to_vec(),
            None => return None,
        };
        let mut rest = path;
        if rest[0] == "crate" {
            rest = &rest[1..];
        }
        while let Some(first) = rest.first() {
            match first.as_str() {
                "super" => {
                    at.pop();
                }
                "self" => {}
                name => {
                    let mut child = at.clone();
                    child.push(name.to_string());
                    if self.is_module(&child) {
                        at = child;
                    } else if let Some(target) = self.reexports(&at).get(name)
                        && depth < 8
                    {
                        let mut full = target.clone();
                        full.extend(rest[1..].iter().cloned());
                        return self.resolve(&at, &full, depth + 1);
                    } else {
                        break;
                    }
                }
            }
            rest = &rest[1..];
        }
        Some(at)
    }

    /// The modules each module refers to by `crate::` and `super::` paths, other than itself,
    /// its ancestors (a child may use its parent's items) and its descendants (a parent declares
    /// and re-exports its children).
    fn graph(&self) -> BTreeMap<ModPath, BTreeSet<ModPath>> {
        let mut graph = BTreeMap::new();
        for (module, code) in &self.modules {
            let edges: &mut BTreeSet<ModPath> = graph.entry(module.clone()).or_default();
            for path in paths_in(code) {
                let segments: Vec<String> = path.split("::").map(str::to_string).collect();
                // `super::` from a `mod.rs` or a file: relative to the file's own module.
                let Some(target) = self.resolve(module, &segments, 0) else {
                    continue;
                };
                let related =
                    target.starts_with(module.as_slice()) || module.starts_with(target.as_slice());
                if !related {
                    edges.insert(target);
                }
            }
        }
        graph
    }
}

fn module_path(src: &Path, file: &Path) -> ModPath {
    let relative: PathBuf = file.strip_prefix(src).unwrap().with_extension("");
    let mut segments: Vec<String> = relative
        .iter()
        .map(|s| s.to_string_lossy().into_owned())
        .collect();
    if matches!(
        segments.last().map(String::as_str),
        Some("mod") | Some("lib")
    ) {
        segments.pop();
    }
    segments
}

/// A file's code without its unit tests (behind `#[cfg(test)]` at the end) and comments.
fn code_of(file: &Path) -> String {
    let text = std::fs::read_to_string(file).unwrap();
    text.split("\n#[cfg(test)]")
        .next()
        .unwrap()
        .lines()
        .filter(|l| !l.trim_start().starts_with("//"))
        .map(|l| match l.find(" // ") {
            Some(at) => &l[..at],
            None => l,
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// `a::b::{c, d::{e, f as g}}` into `a::b::c`, `a::b::d::e`, `a::b::d::f as g`.
fn expand_tree(tree: &str) -> Vec<String> {
    let Some(open) = tree.find('{') else {
        return vec![tree.trim().to_string()];
    };
    let prefix = tree[..open].trim();
    let inner = &tree[open + 1..tree.rfind('}').unwrap_or(tree.len())];
    let mut items = Vec::new();
    let (mut depth, mut start) = (0, 0);
    for (i, c) in inner.char_indices() {
        match c {
            '{' => depth += 1,
            '}' => depth -= 1,
            ',' if depth == 0 => {
                items.push(&inner[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    items.push(&inner[start..]);
    items
        .into_iter()
        .map(str::trim)
        .filter(|i| !i.is_empty())
        .flat_map(|item| {
            expand_tree(item)
                .into_iter()
                .map(move |p| match p.as_str() {
                    "self" => prefix.trim_end_matches("::").to_string(),
                    _ => format!("{prefix}{p}"),
                })
        })
        .collect()
}

/// Every path in `code` that starts with `crate::` or `super::`, use trees expanded.
fn paths_in(code: &str) -> Vec<String> {
    let bytes = code.as_bytes();
    let mut out = Vec::new();
    for start in ["crate::", "super::"] {
        for (at, _) in code.match_indices(start) {
            if at > 0 && (bytes[at - 1].is_ascii_alphanumeric() || bytes[at - 1] == b'_') {
                continue;
            }
            // The path, up to the end of its use tree or of the path itself.
            let mut depth = 0;
            let mut end = at;
            for (i, c) in code[at..].char_indices() {
                match c {
                    '{' => depth += 1,
                    '}' if depth > 0 => depth -= 1,
                    c if depth == 0 && !(c.is_ascii_alphanumeric() || c == '_' || c == ':') => {
                        end = at + i;
                        break;
                    }
                    _ => {}
                }
                end = at + i + c.len_utf8();
            }
            let path = code[at..end].trim_end_matches(':');
            // `super::super::x` is found again at its second `super::`: keep the longest.
            if start == "super::" && at >= 7 && &code[at - 7..at] == "super::" {
                continue;
            }
            out.extend(
                expand_tree(path)
                    .into_iter()
                    .map(|p| p.split(" as ").next().unwrap().trim().to_string()),
            );
        }
    }
    out
}

/// The stage a module is in: its first segment.
fn stage(module: &[String]) -> &str {
    module.first().map_or("crate", String::as_str)
}

/// The imports that go where [`ALLOWED`] does not let them.
fn violations(graph: &BTreeMap<ModPath, BTreeSet<ModPath>>) -> Vec<String> {
    let allowed: BTreeMap<&str, &[&str]> = ALLOWED.iter().copied().collect();
    let mut out = Vec::new();
    for (module, targets) in graph {
        let from = stage(module);
        if from == "crate" {
            continue;
        }
        for target in targets {
            let to = stage(target);
            if to == from || to == "crate" {
                continue;
            }
            let ok = allowed.get(from).is_some_and(|a| a.contains(&to));
            if !ok {
                out.push(format!(
                    "{} imports {} (stage {from} may import only {:?})",
                    module.join("::"),
                    target.join("::"),
                    allowed.get(from).copied().unwrap_or(&[])
                ));
            }
        }
    }
    out
}

/// A cycle in `graph`, if there is one.
fn find_cycle(graph: &BTreeMap<ModPath, BTreeSet<ModPath>>) -> Option<Vec<ModPath>> {
    fn visit(
        node: &ModPath,
        graph: &BTreeMap<ModPath, BTreeSet<ModPath>>,
        path: &mut Vec<ModPath>,
        done: &mut BTreeSet<ModPath>,
    ) -> Option<Vec<ModPath>> {
        if let Some(at) = path.iter().position(|n| n == node) {
            let mut cycle = path[at..].to_vec();
            cycle.push(node.clone());
            return Some(cycle);
        }
        if done.contains(node) {
            return None;
        }
        path.push(node.clone());
        for next in graph.get(node).into_iter().flatten() {
            if let Some(cycle) = visit(next, graph, path, done) {
                return Some(cycle);
            }
        }
        path.pop();
        done.insert(node.clone());
        None
    }
    let mut done = BTreeSet::new();
    graph
        .keys()
        .find_map(|node| visit(node, graph, &mut Vec::new(), &mut done))
}

fn shown(graph: &BTreeMap<ModPath, BTreeSet<ModPath>>) -> String {
    graph
        .iter()
        .map(|(m, imports)| {
            let targets: Vec<String> = imports.iter().map(|t| t.join("::")).collect();
            format!("{} -> {}", m.join("::"), targets.join(", "))
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn stages_import_only_from_the_stages_before_them() {
    let source = Source::read(&Path::new(env!("CARGO_MANIFEST_DIR")).join("src"));
    let graph = source.graph();
    assert!(graph.len() >= 30, "{}", shown(&graph));
    println!("{}", shown(&graph));
    let stages: BTreeSet<&str> = graph.keys().map(|m| stage(m)).collect();
    for stage in &stages {
        assert!(
            *stage == "crate" || ALLOWED.iter().any(|(s, _)| s == stage),
            "a new top-level module {stage}: give it a place in ALLOWED"
        );
    }
    let found = violations(&graph);
    assert!(
        found.is_empty(),
        "upward imports:\n{}\n\nthe graph:\n{}",
        found.join("\n"),
        shown(&graph)
    );
    if let Some(cycle) = find_cycle(&graph) {
        let cycle: Vec<String> = cycle.iter().map(|m| m.join("::")).collect();
        panic!(
            "import cycle: {}\n\nthe graph:\n{}",
            cycle.join(" -> "),
            shown(&graph)
        );
    }
}

#[test]
fn re_exports_and_super_paths_are_followed() {
    let source = Source::read(&Path::new(env!("CARGO_MANIFEST_DIR")).join("src"));
    let path = |s: &str| -> Vec<String> { s.split("::").map(str::to_string).collect() };
    // `crate::Settings` is the pipeline's settings, re-exported by lib.rs.
    assert_eq!(
        source.resolve(&[], &path("crate::Settings"), 0),
        Some(path("enrich"))
    );
    // `super::Form` in consume::report is consume::resolve's, re-exported by consume.
    assert_eq!(
        source.resolve(&path("consume::report"), &path("super::Form"), 0),
        Some(path("consume::resolve"))
    );
    assert_eq!(
        expand_tree("crate::decode::{Encoding, codec::{self, Input}}"),
        [
            "crate::decode::Encoding",
            "crate::decode::codec",
            "crate::decode::codec::Input"
        ]
    );
}

#[test]
fn the_checker_finds_an_upward_import_and_a_cycle() {
    let m = |s: &str| -> ModPath { s.split("::").map(str::to_string).collect() };
    let graph = BTreeMap::from([
        (m("record"), BTreeSet::from([m("json")])),
        (m("json"), BTreeSet::from([m("enrich")])),
    ]);
    assert_eq!(violations(&graph).len(), 1, "json may import nothing");
    let graph = BTreeMap::from([
        (m("decode::a"), BTreeSet::from([m("decode::b")])),
        (m("decode::b"), BTreeSet::from([m("decode::c")])),
        (m("decode::c"), BTreeSet::from([m("decode::a")])),
    ]);
    assert!(violations(&graph).is_empty());
    assert_eq!(find_cycle(&graph).map(|c| c.len()), Some(4));
    let graph = BTreeMap::from([(m("decode::a"), BTreeSet::from([m("decode::b")]))]);
    assert_eq!(find_cycle(&graph), None);
}
