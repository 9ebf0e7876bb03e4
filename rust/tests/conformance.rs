//! Fluxion conformance: every case must give the outcome, the job id, the start time and
//! exactly the vertices Fluxion gave, on the kept set and the shared one (see common/).

mod common;

use std::path::{Path, PathBuf};

use fractale::graph::ResourceGraph;
use fractale::jobspec::Jobspec;
use fractale::matcher::{by_path, AllocState, Matcher, Outcome, Policy};
use serde_json::Value;

fn load_jobspec(dir: &Path, rel: &str) -> Result<Jobspec, String> {
    let text = std::fs::read_to_string(dir.join(rel)).map_err(|e| e.to_string())?;
    let value: Value = serde_yaml::from_str(&text).map_err(|e| e.to_string())?;
    Jobspec::from_value_with(value, Some(rel), false).map_err(|e| e.to_string())
}

/// Run one case; `Err` describes the first step that differs.
fn run_case(dir: &Path, case: &Value) -> Result<(), String> {
    let graph_path = dir.join(case["graph"].as_str().ok_or("graph")?);
    let text = std::fs::read_to_string(&graph_path).map_err(|e| e.to_string())?;
    let g = ResourceGraph::from_jgf_str(&text, None).map_err(|e| e.to_string())?;
    let policy =
        Policy::parse(case["policy"].as_str().ok_or("policy")?).map_err(|e| e.to_string())?;
    let mut st = AllocState::new(&g);
    let matcher = Matcher::new(&g);
    let steps = case["steps"].as_array().ok_or("steps")?;
    for (i, step) in steps.iter().enumerate() {
        let op = step["op"].as_str().ok_or("op")?;
        match op {
            "cancel" => {
                let jobid = step["jobid"].as_u64().ok_or("jobid")?;
                matcher
                    .release(&mut st, jobid)
                    .map_err(|e| format!("step {i}: {e}"))?;
            }
            "satisfiability" | "allocate" | "reserve" => {
                let js = load_jobspec(dir, step["jobspec"].as_str().ok_or("jobspec")?)?;
                let expect = step["expect"]["status"].as_str().ok_or("status")?;
                let result = match op {
                    "allocate" => matcher.allocate(&mut st, &js, policy),
                    "reserve" => matcher.reserve(&mut st, &js, policy),
                    _ => matcher.satisfiable(&mut st, &js, policy),
                };
                let got = result.outcome.name();
                let ok = match expect {
                    "not_allocated" => {
                        matches!(result.outcome, Outcome::Busy | Outcome::Unsatisfiable)
                    }
                    _ => got == expect,
                };
                if !ok {
                    return Err(format!(
                        "step {i} ({op} {}): expected {expect}, got {got} ({:?})",
                        step["jobspec"], result.reason
                    ));
                }
                if let Some(at) = step["expect"]["at"].as_i64() {
                    if result.at() != Some(at) {
                        return Err(format!(
                            "step {i} ({op} {}): expected to start at {at}, got {:?}",
                            step["jobspec"],
                            result.at()
                        ));
                    }
                }
                if let (Some(want), Some(alloc)) =
                    (step["expect"]["jobid"].as_u64(), result.allocation.as_ref())
                {
                    if alloc.jobid != want {
                        return Err(format!(
                            "step {i} ({op}): job id {} where Fluxion gave {want}",
                            alloc.jobid
                        ));
                    }
                }
                if let (Some(alloc), Some(want)) =
                    (result.allocation, step["expect"]["resources"].as_array())
                {
                    let mut taken = alloc.taken.clone();
                    by_path(&g, &mut taken);
                    let mut got: Vec<(String, bool, u64)> = taken
                        .iter()
                        .map(|t| (g.path(t.vertex).into_owned(), t.exclusive, t.size))
                        .collect();
                    let mut want: Vec<(String, bool, u64)> = want
                        .iter()
                        .map(|r| {
                            (
                                r["path"].as_str().unwrap_or("").to_owned(),
                                r["exclusive"].as_bool().unwrap_or(false),
                                r["size"].as_u64().unwrap_or(0),
                            )
                        })
                        .collect();
                    got.sort();
                    want.sort();
                    if got != want {
                        let extra: Vec<_> =
                            got.iter().filter(|x| !want.contains(x)).take(4).collect();
                        let missing: Vec<_> =
                            want.iter().filter(|x| !got.contains(x)).take(4).collect();
                        return Err(format!("step {i} ({op} {}): vertices differ; extra {extra:?} missing {missing:?}", step["jobspec"]));
                    }
                }
            }
            other => return Err(format!("step {i}: unknown op {other}")),
        }
    }
    Ok(())
}

/// Run every case of one conformance folder; panics listing the failures.
fn run_folder(dir: &Path) {
    let folder = dir.display();
    let mut names: Vec<PathBuf> = std::fs::read_dir(dir.join("cases"))
        .expect("cases")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    names.sort();
    let filter = std::env::var("FRACTALE_CASE").ok();
    let (mut passed, mut failed) = (0, Vec::new());
    for path in &names {
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or("")
            .to_owned();
        if filter.as_ref().is_some_and(|f| !name.contains(f.as_str())) {
            continue;
        }
        let case: Value =
            serde_json::from_str(&std::fs::read_to_string(path).expect("case")).expect("case json");
        match run_case(dir, &case) {
            Ok(()) => passed += 1,
            Err(why) => failed.push(format!("{name}: {why}")),
        }
    }
    println!(
        "{folder} conformance: {passed} passed, {} failed",
        failed.len()
    );
    for f in failed.iter().take(40) {
        println!("  FAIL {f}");
    }
    assert!(
        filter.is_some() || passed + failed.len() > 0,
        "{folder} holds no cases"
    );
    assert!(
        failed.is_empty(),
        "{} of {} {folder} conformance cases failed",
        failed.len(),
        passed + failed.len()
    );
}

#[test]
fn every_fluxion_conformance_case_passes() {
    common::conformance_folders("fluxion")
        .iter()
        .for_each(|dir| run_folder(dir));
}

#[test]
fn every_fluxion_reservation_case_passes() {
    common::conformance_folders("fluxion-reserve")
        .iter()
        .for_each(|dir| run_folder(dir));
}
