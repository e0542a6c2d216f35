//! The crate's modules import one way. Each `src/**/*.rs` file is read as tokens (comments,
//! doc links and string literals dropped, so only code counts, test modules included), every
//! `crate::…`, `super::…` and `self::…` path (in `use` lines, braces and `as` included, and
//! inline) is resolved to the deepest module it names, and two rules are checked:
//!
//! - no module imports a module that imports it back, unless one contains the other (a parent
//!   re-exporting its children while the children use the parent's items is the facade pattern);
//! - folding every module into its top-level module (`store::age_file` into `store`), the
//!   top-level modules have no cycle at all, so they stack into layers: errors and plain types
//!   at the bottom, the commands on top.
//!
//! A failure names the lines (file:line) that form the circle. `cargo test --test structure --
//! --nocapture` prints the layers.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

/// A module's path below the crate root: `["store", "age_file"]`; the root is empty.
type ModPath = Vec<String>;

/// One reference from a file to a module, with where it was written.
#[derive(Clone, Debug)]
struct Edge {
    from: ModPath,
    to: ModPath,
    file: String,
    line: usize,
    text: String,
}

#[derive(Clone, Debug, PartialEq)]
enum Tok {
    Ident(String),
    Punct(char),
    /// `::`
    PathSep,
}

/// Splits Rust source into identifiers and punctuation with their line numbers, dropping
/// whitespace, comments, string, byte-string, raw-string and character literals and numbers, so
/// that a `crate::` inside a comment or a string is never seen.
fn lex(src: &str) -> Vec<(Tok, usize)> {
    let c: Vec<char> = src.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    let mut line = 1;
    let n = c.len();
    let ident_char = |ch: char| ch.is_alphanumeric() || ch == '_';
    while i < n {
        let ch = c[i];
        if ch == '\n' {
            line += 1;
            i += 1;
        } else if ch.is_whitespace() {
            i += 1;
        } else if ch == '/' && i + 1 < n && c[i + 1] == '/' {
            while i < n && c[i] != '\n' {
                i += 1;
            }
        } else if ch == '/' && i + 1 < n && c[i + 1] == '*' {
            let mut depth = 0;
            while i < n {
                if c[i] == '/' && i + 1 < n && c[i + 1] == '*' {
                    depth += 1;
                    i += 2;
                } else if c[i] == '*' && i + 1 < n && c[i + 1] == '/' {
                    depth -= 1;
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    if c[i] == '\n' {
                        line += 1;
                    }
                    i += 1;
                }
            }
        } else if ch == '"' {
            i += 1;
            while i < n && c[i] != '"' {
                if c[i] == '\\' {
                    i += 1;
                }
                if i < n && c[i] == '\n' {
                    line += 1;
                }
                i += 1;
            }
            i += 1;
        } else if (ch == 'r' || (ch == 'b' && i + 1 < n && c[i + 1] == 'r'))
            && {
                let mut j = if ch == 'b' { i + 2 } else { i + 1 };
                while j < n && c[j] == '#' {
                    j += 1;
                }
                j < n && c[j] == '"'
            }
            && (i == 0 || !ident_char(c[i - 1]))
        {
            // A raw string: r"…", r#"…"#, br"…".
            let mut j = if ch == 'b' { i + 2 } else { i + 1 };
            let mut hashes = 0;
            while c[j] == '#' {
                hashes += 1;
                j += 1;
            }
            j += 1;
            loop {
                if j >= n {
                    break;
                }
                if c[j] == '"' && (0..hashes).all(|k| j + 1 + k < n && c[j + 1 + k] == '#') {
                    j += 1 + hashes;
                    break;
                }
                if c[j] == '\n' {
                    line += 1;
                }
                j += 1;
            }
            i = j;
        } else if ch == 'b' && i + 1 < n && (c[i + 1] == '"' || c[i + 1] == '\'') {
            // b"…" or b'…': drop the prefix, the literal goes next round.
            i += 1;
        } else if ch == '\'' {
            // A character literal ('a', '\n', '\u{1F600}') or a lifetime ('a, 'static).
            if i + 1 < n && c[i + 1] == '\\' {
                let mut j = i + 3;
                while j < n && c[j] != '\'' {
                    j += 1;
                }
                i = j + 1;
            } else if i + 2 < n && c[i + 2] == '\'' {
                i += 3;
            } else {
                i += 1;
                while i < n && ident_char(c[i]) {
                    i += 1;
                }
            }
        } else if ch.is_ascii_digit() {
            while i < n
                && (ident_char(c[i]) || c[i] == '.' && i + 1 < n && c[i + 1].is_ascii_digit())
            {
                i += 1;
            }
        } else if ident_char(ch) {
            let start = i;
            while i < n && ident_char(c[i]) {
                i += 1;
            }
            out.push((Tok::Ident(c[start..i].iter().collect()), line));
        } else if ch == ':' && i + 1 < n && c[i + 1] == ':' {
            out.push((Tok::PathSep, line));
            i += 2;
        } else {
            out.push((Tok::Punct(ch), line));
            i += 1;
        }
    }
    out
}

/// `src/store/age_file.rs` → `["store", "age_file"]`; `src/store/mod.rs` → `["store"]`.
fn module_of(src: &Path, file: &Path) -> ModPath {
    let rel = file.strip_prefix(src).unwrap();
    let mut parts: Vec<String> = rel
        .iter()
        .map(|p| p.to_string_lossy().into_owned())
        .collect();
    let last = parts.pop().unwrap();
    let stem = last.trim_end_matches(".rs");
    if stem != "mod" && stem != "lib" {
        parts.push(stem.to_string());
    }
    parts
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// Reads one path tree starting at `toks[i]` (just after its first segment and `::`), pushing
/// every leaf as a list of segments prefixed with `prefix`. Handles `a::b`, `a::{b, c::d}`,
/// `{self, x}`, `*` and `x as y`. Returns the index after the tree.
fn path_tree(
    toks: &[(Tok, usize)],
    mut i: usize,
    prefix: Vec<String>,
    out: &mut Vec<Vec<String>>,
) -> usize {
    let mut segs = prefix;
    loop {
        match toks.get(i).map(|t| &t.0) {
            Some(Tok::Ident(w)) => {
                if w != "self" {
                    segs.push(w.clone());
                }
                i += 1;
                if toks.get(i).map(|t| &t.0) == Some(&Tok::PathSep) {
                    i += 1;
                    continue;
                }
                if toks.get(i).map(|t| &t.0) == Some(&Tok::Ident("as".into())) {
                    i += 2;
                }
                out.push(segs);
                return i;
            }
            Some(Tok::Punct('{')) => {
                i += 1;
                loop {
                    match toks.get(i).map(|t| &t.0) {
                        Some(Tok::Punct('}')) => return i + 1,
                        Some(Tok::Punct(',')) => i += 1,
                        None => return i,
                        _ => {
                            let before = i;
                            i = path_tree(toks, i, segs.clone(), out);
                            if i == before {
                                i += 1;
                            }
                        }
                    }
                }
            }
            Some(Tok::Punct('*')) => {
                out.push(segs);
                return i + 1;
            }
            _ => {
                // `crate::foo::<T>` or a path that ends in `::` before something else.
                out.push(segs);
                return i;
            }
        }
    }
}

/// The deepest known module that `segs` (absolute, from the crate root) names.
fn resolve(modules: &BTreeSet<ModPath>, segs: &[String]) -> ModPath {
    let mut m: ModPath = Vec::new();
    for s in segs {
        let mut next = m.clone();
        next.push(s.clone());
        if modules.contains(&next) {
            m = next;
        } else {
            break;
        }
    }
    m
}

/// Every module that the source `text` of module `from` (in file `rel`) refers to.
fn edges_in(modules: &BTreeSet<ModPath>, from: &ModPath, rel: &str, text: &str) -> Vec<Edge> {
    let lines: Vec<&str> = text.lines().collect();
    let toks = lex(text);
    let mut edges = Vec::new();
    // Inline modules (`mod dh { … }`) open at a brace depth; `super` inside them is relative.
    let mut inline: Vec<(String, usize)> = Vec::new();
    let mut depth = 0usize;
    let mut i = 0;
    let ident = |i: usize, w: &str| matches!(toks.get(i), Some((Tok::Ident(x), _)) if x == w);
    let punct = |i: usize, p: char| matches!(toks.get(i), Some((Tok::Punct(x), _)) if *x == p);
    while i < toks.len() {
        if ident(i, "mod") && punct(i + 2, '{') {
            if let Some((Tok::Ident(name), _)) = toks.get(i + 1) {
                inline.push((name.clone(), depth));
            }
            i += 1;
            continue;
        }
        if punct(i, '{') {
            depth += 1;
        } else if punct(i, '}') {
            depth -= 1;
            if inline.last().is_some_and(|(_, d)| *d == depth) {
                inline.pop();
            }
        }
        let starts = (ident(i, "crate") || ident(i, "super") || ident(i, "self"))
            && matches!(toks.get(i + 1), Some((Tok::PathSep, _)))
            && !(i > 0 && (punct(i - 1, '$') || matches!(toks[i - 1].0, Tok::PathSep)));
        if !starts {
            i += 1;
            continue;
        }
        let line = toks[i].1;
        let mut here: ModPath = from.clone();
        here.extend(inline.iter().map(|(n, _)| n.clone()));
        // crate::, super::super::, self::: the module the rest of the path starts from.
        let mut base = here;
        let mut j = i;
        while matches!(toks.get(j + 1), Some((Tok::PathSep, _))) {
            if ident(j, "crate") && j == i {
                base.clear();
            } else if ident(j, "super") {
                base.pop();
            } else if !ident(j, "self") {
                break;
            }
            j += 2;
        }
        let mut leaves = Vec::new();
        let end = path_tree(&toks, j, base, &mut leaves);
        for leaf in leaves {
            let to = resolve(modules, &leaf);
            edges.push(Edge {
                from: from.clone(),
                to,
                file: rel.to_string(),
                line,
                text: lines.get(line - 1).unwrap_or(&"").trim().to_string(),
            });
        }
        i = end.max(i + 1);
    }
    edges
}

fn contains(outer: &ModPath, inner: &ModPath) -> bool {
    inner.len() >= outer.len() && inner[..outer.len()] == outer[..]
}

fn name(m: &ModPath) -> String {
    if m.is_empty() {
        "crate".into()
    } else {
        m.join("::")
    }
}

fn all_edges() -> Vec<Edge> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    files.sort();
    // main.rs is the binary's root: it reaches the library as `crux::`, never as `crate::`.
    files.retain(|f| f != &src.join("main.rs"));
    let modules: BTreeSet<ModPath> = files.iter().map(|f| module_of(&src, f)).collect();
    let mut edges: Vec<Edge> = files
        .iter()
        .flat_map(|f| {
            let text = fs::read_to_string(f).unwrap();
            let rel = f.strip_prefix(src.parent().unwrap()).unwrap();
            edges_in(
                &modules,
                &module_of(&src, f),
                &rel.display().to_string(),
                &text,
            )
        })
        .filter(|e| e.from != e.to)
        .collect();
    // `use crate::error::{Error, Result};` is one line to show, not two.
    edges.dedup_by(|a, b| (&a.from, &a.to, &a.file, a.line) == (&b.from, &b.to, &b.file, b.line));
    edges
}

fn show(e: &Edge) -> String {
    format!(
        "    {}:{}: {}  ({} -> {})",
        e.file,
        e.line,
        e.text,
        name(&e.from),
        name(&e.to)
    )
}

/// The lines of `edges` from `a` to `b` (after `key` maps their modules), at most three.
fn lines_between(
    edges: &[Edge],
    key: impl Fn(&ModPath) -> ModPath,
    a: &ModPath,
    b: &ModPath,
) -> String {
    let hits: Vec<&Edge> = edges
        .iter()
        .filter(|e| &key(&e.from) == a && &key(&e.to) == b)
        .collect();
    let mut out: Vec<String> = hits.iter().take(3).map(|e| show(e)).collect();
    if hits.len() > 3 {
        out.push(format!("    … and {} more", hits.len() - 3));
    }
    out.join("\n")
}

#[test]
fn no_module_imports_a_module_that_imports_it_back() {
    let edges = all_edges();
    let pairs: BTreeSet<(ModPath, ModPath)> = edges
        .iter()
        .map(|e| (e.from.clone(), e.to.clone()))
        .collect();
    let mut failures = Vec::new();
    for (a, b) in &pairs {
        if a < b && pairs.contains(&(b.clone(), a.clone())) && !contains(a, b) && !contains(b, a) {
            failures.push(format!(
                "{} <-> {}:\n{}\n{}",
                name(a),
                name(b),
                lines_between(&edges, |m| m.clone(), a, b),
                lines_between(&edges, |m| m.clone(), b, a)
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "modules that import each other (move the shared part down into a module both use):\n{}",
        failures.join("\n")
    );
}

fn top(m: &ModPath) -> ModPath {
    m.iter().take(1).cloned().collect()
}

/// A cycle through `start` in `graph`, as the list of its nodes, if there is one.
fn cycle_through(
    graph: &BTreeMap<ModPath, BTreeSet<ModPath>>,
    start: &ModPath,
) -> Option<Vec<ModPath>> {
    // Breadth-first from start's successors back to start: the shortest such cycle.
    let mut prev: BTreeMap<ModPath, ModPath> = BTreeMap::new();
    let mut queue = std::collections::VecDeque::new();
    queue.push_back(start.clone());
    while let Some(n) = queue.pop_front() {
        for m in graph.get(&n).into_iter().flatten() {
            if m == start {
                let mut path = vec![n.clone()];
                let mut cur = n.clone();
                while &cur != start {
                    cur = prev[&cur].clone();
                    path.push(cur.clone());
                }
                path.reverse();
                path.push(start.clone());
                return Some(path);
            }
            if !prev.contains_key(m) {
                prev.insert(m.clone(), n.clone());
                queue.push_back(m.clone());
            }
        }
    }
    None
}

#[test]
fn top_level_modules_form_layers() {
    let edges = all_edges();
    let mut graph: BTreeMap<ModPath, BTreeSet<ModPath>> = BTreeMap::new();
    for e in &edges {
        let (a, b) = (top(&e.from), top(&e.to));
        graph.entry(a.clone()).or_default();
        graph.entry(b.clone()).or_default();
        if a != b && !b.is_empty() {
            graph.entry(a).or_default().insert(b);
        }
    }
    let mut failures = Vec::new();
    let mut seen: BTreeSet<ModPath> = BTreeSet::new();
    for start in graph.keys() {
        if seen.contains(start) {
            continue;
        }
        if let Some(cycle) = cycle_through(&graph, start) {
            seen.extend(cycle.iter().cloned());
            let path: Vec<String> = cycle.iter().map(name).collect();
            let mut msg = format!("{}:", path.join(" -> "));
            for w in cycle.windows(2) {
                msg.push('\n');
                msg.push_str(&lines_between(&edges, top, &w[0], &w[1]));
            }
            failures.push(msg);
        }
    }
    assert!(
        failures.is_empty(),
        "top-level modules in a circle (each line is one step of it):\n{}",
        failures.join("\n")
    );
    // Layer 0 imports no other module; layer n imports something in layer n-1.
    let mut layer: BTreeMap<ModPath, usize> = BTreeMap::new();
    while layer.len() < graph.len() {
        for (m, deps) in &graph {
            if !layer.contains_key(m) && deps.iter().all(|d| layer.contains_key(d)) {
                let l = deps.iter().map(|d| layer[d] + 1).max().unwrap_or(0);
                layer.insert(m.clone(), l);
            }
        }
    }
    let mut by_layer: BTreeMap<usize, Vec<String>> = BTreeMap::new();
    for (m, l) in &layer {
        by_layer.entry(*l).or_default().push(name(m));
    }
    for (l, ms) in by_layer {
        println!("layer {l}: {}", ms.join(", "));
    }
}

/// The reader itself: what it must see and what it must not.
#[test]
fn reads_use_trees_inline_paths_and_skips_comments_and_strings() {
    let modules: BTreeSet<ModPath> = [
        "", "a", "a::b", "c", "d", "e", "f", "g", "h", "x", "x::y", "x::z",
    ]
    .iter()
    .map(|m| {
        m.split("::")
            .filter(|s| !s.is_empty())
            .map(String::from)
            .collect()
    })
    .collect();
    let text = r##"
use crate::a::{b::{self, Thing}, Other as O};
use super::z::*;
fn f<'a>(x: &'a str) -> char {
    // crate::d::not_this
    /* crate::e::nor_this /* nested */ crate::e */
    let _ = "crate::f::in_a_string";
    let _ = r#"crate::f"#;
    let _ = '"'; let _ = '\''; let _ = b'{';
    crate::c::call();
    $crate::g::in_a_macro();
    other::crate_like::h();
    'x'
}
mod inner {
    use super::super::z::Item;
}
"##;
    let from: ModPath = vec!["x".into(), "y".into()];
    let mut seen: Vec<String> = edges_in(&modules, &from, "src/x/y.rs", text)
        .iter()
        .map(|e| format!("{}@{}", name(&e.to), e.line))
        .collect();
    seen.sort();
    seen.dedup();
    assert_eq!(
        seen,
        ["a::b@2", "a@2", "c@10", "x::z@16", "x::z@3"],
        "{seen:?}"
    );
}
