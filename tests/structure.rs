//! The library's structure: no cycle between its modules (each `crate::x` named in code,
//! not in comments, is an edge), and the JS-facing module depends on the core, never the
//! reverse. A cycle would mean two concerns that cannot be read, tested or replaced apart.
#![cfg(not(target_arch = "wasm32"))]

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// Top-level module name → the modules its files name in code.
fn module_graph() -> BTreeMap<String, BTreeSet<String>> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut files = vec![];
    for entry in std::fs::read_dir(&src).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_stem().unwrap().to_string_lossy().to_string();
        if name == "lib" || name == "bin" {
            continue;
        }
        if path.is_dir() {
            for f in std::fs::read_dir(&path).unwrap() {
                files.push((name.clone(), f.unwrap().path()));
            }
        } else {
            files.push((name, path));
        }
    }
    for (module, path) in files {
        if path.is_dir() {
            continue;
        }
        let text = std::fs::read_to_string(&path).unwrap();
        let edges = graph.entry(module.clone()).or_default();
        for line in text.lines() {
            let code = line.split("//").next().unwrap();
            for (i, _) in code.match_indices("crate::") {
                let rest = &code[i + 7..];
                let name: String = rest
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                    .collect();
                if !name.is_empty() && name != module && src.join(format!("{name}.rs")).exists()
                    || src.join(&name).is_dir() && name != module
                {
                    edges.insert(name);
                }
            }
        }
    }
    graph
}

fn find_cycle(graph: &BTreeMap<String, BTreeSet<String>>) -> Option<Vec<String>> {
    fn visit(
        node: &str,
        graph: &BTreeMap<String, BTreeSet<String>>,
        path: &mut Vec<String>,
        done: &mut BTreeSet<String>,
    ) -> Option<Vec<String>> {
        if let Some(k) = path.iter().position(|n| n == node) {
            let mut cycle = path[k..].to_vec();
            cycle.push(node.to_string());
            return Some(cycle);
        }
        if done.contains(node) {
            return None;
        }
        path.push(node.to_string());
        for next in graph.get(node).into_iter().flatten() {
            if let Some(c) = visit(next, graph, path, done) {
                return Some(c);
            }
        }
        path.pop();
        done.insert(node.to_string());
        None
    }
    let mut done = BTreeSet::new();
    graph
        .keys()
        .find_map(|n| visit(n, graph, &mut vec![], &mut done))
}

#[test]
fn no_module_depends_on_itself_through_others() {
    let graph = module_graph();
    assert!(
        graph.contains_key("rank") && graph.contains_key("engine"),
        "{graph:?}"
    );
    assert!(
        graph["engine"].contains("rank"),
        "the graph sees edges: {graph:?}"
    );
    assert_eq!(find_cycle(&graph), None, "{graph:#?}");
    for (module, edges) in &graph {
        assert!(!edges.contains("wasm"), "{module} depends on the JS facade");
    }
}

#[test]
fn the_cycle_finder_finds_a_cycle() {
    let mut graph = BTreeMap::new();
    graph.insert("a".to_string(), BTreeSet::from(["b".to_string()]));
    graph.insert("b".to_string(), BTreeSet::from(["c".to_string()]));
    graph.insert("c".to_string(), BTreeSet::from(["a".to_string()]));
    assert_eq!(find_cycle(&graph).map(|c| c.len()), Some(4));
}
