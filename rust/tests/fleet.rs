//! The compiled fleet answers exactly as the matcher does on each full graph: checked on
//! every graph and jobspec of the Fluxion conformance material (the kept set in
//! tests/data/conformance, and the full one in ../shared when present), and on the cache's
//! upkeep.

mod common;

use std::path::{Path, PathBuf};

use fractale::fleet::{ClusterSource, Fleet};
use fractale::graph::ResourceGraph;
use fractale::jobspec::Jobspec;
use fractale::matcher::{AllocState, Matcher, Outcome, Policy};
use serde_json::Value;

fn jobspec(dir: &Path, rel: &str) -> Option<Jobspec> {
    let text = std::fs::read_to_string(dir.join(rel)).ok()?;
    let value = serde_yaml::from_str::<Value>(&text).ok()?;
    Jobspec::from_value_with(value, None, false).ok()
}

#[test]
fn fleet_answers_match_the_matcher_on_every_conformance_case() {
    for dir in common::conformance_folders("fluxion") {
        compare_on(&dir);
    }
}

/// Every distinct jobspec of every case in `dir`: the fleet's answer is the matcher's.
fn compare_on(dir: &Path) {
    let mut cases: Vec<PathBuf> = std::fs::read_dir(dir.join("cases"))
        .expect("cases")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    cases.sort();
    let (mut compared, mut differ) = (0, Vec::new());
    for case_path in &cases {
        let case: Value = serde_json::from_str(&std::fs::read_to_string(case_path).expect("case"))
            .expect("case json");
        let graph_path = dir.join(case["graph"].as_str().expect("graph"));
        let sources = vec![ClusterSource::new("g", graph_path.clone())];
        let fleet = Fleet::open(&sources, None, false).expect("fleet");
        let g = ResourceGraph::from_jgf_str(
            &std::fs::read_to_string(&graph_path).expect("graph"),
            None,
        )
        .expect("graph");
        let mut seen = Vec::new();
        for step in case["steps"].as_array().expect("steps") {
            let Some(rel) = step["jobspec"].as_str() else {
                continue;
            };
            if seen.contains(&rel) {
                continue;
            }
            seen.push(rel);
            let Some(js) = jobspec(dir, rel) else {
                continue;
            };
            let mut st = AllocState::new(&g);
            let direct = Matcher::new(&g)
                .satisfiable(&mut st, &js, Policy::First)
                .outcome
                == Outcome::Satisfiable;
            let fit = &fleet.satisfiable(&js, false)[0];
            compared += 1;
            if fit.ok != direct {
                differ.push(format!(
                    "{rel} on {}: fleet {} matcher {}",
                    graph_path.display(),
                    fit.ok,
                    direct
                ));
            }
        }
    }
    println!(
        "fleet vs matcher on {}: {compared} answers compared, {} differ",
        dir.display(),
        differ.len()
    );
    assert!(compared > 0, "no answers compared in {}", dir.display());
    assert!(differ.is_empty(), "{:?}", &differ[..differ.len().min(10)]);
}

#[test]
fn the_cache_is_reused_until_a_graph_changes() {
    let kept = &common::conformance_folders("fluxion")[0];
    let mut graphs: Vec<PathBuf> = std::fs::read_dir(kept.join("graphs"))
        .expect("graphs")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    graphs.sort();
    let tmp = std::env::temp_dir().join(format!("fractale-fleet-test-{}", std::process::id()));
    std::fs::create_dir_all(&tmp).expect("tmp");
    let graph = tmp.join("graph.json");
    std::fs::copy(&graphs[0], &graph).expect("copy");
    let cache = tmp.join("fleet.json");
    let sources = vec![ClusterSource::new("kept", graph.clone())];
    assert_eq!(
        Fleet::open(&sources, Some(&cache), false)
            .expect("first")
            .rebuilt,
        1
    );
    assert_eq!(
        Fleet::open(&sources, Some(&cache), false)
            .expect("second")
            .rebuilt,
        0
    );
    std::thread::sleep(std::time::Duration::from_millis(20));
    let text = std::fs::read_to_string(&graph).expect("read");
    std::fs::write(&graph, format!("{text}\n")).expect("touch");
    assert_eq!(
        Fleet::open(&sources, Some(&cache), false)
            .expect("third")
            .rebuilt,
        1
    );
    let _ = std::fs::remove_dir_all(&tmp);
}
