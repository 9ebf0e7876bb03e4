//! The checkers' rules, each by a real document that breaks or keeps it.

use super::*;
use serde_json::json;

fn spec(resources: Value) -> Value {
    json!({"version": 9999, "resources": resources, "attributes": {"system": {"duration": 3600}},
           "tasks": [{"command": ["app"], "slot": "task", "count": {"per_slot": 1}}]})
}

#[test]
fn parses_node_slot_core_with_counts() {
    let js = Jobspec::from_value(spec(json!([{"type": "node", "count": 2, "with": [{"type": "slot", "label": "task", "count": 1, "with": [{"type": "core", "count": 4}]}]}])), None).unwrap();
    assert_eq!(js.resources[0].count, Count::fixed(2));
    assert_eq!(js.counts()["core"], 8);
    assert_eq!(js.duration, Some(3600.0));
    assert_eq!(js.slot().unwrap().label.as_deref(), Some("task"));
}

#[test]
fn a_range_takes_what_is_there_up_to_max() {
    let c = Count {
        min: 2,
        max: 6,
        operator: '+',
        operand: 1,
    };
    assert_eq!(c.take(1), 0);
    assert_eq!(c.take(4), 4);
    assert_eq!(c.take(10), 6);
    let stepped = Count {
        min: 2,
        max: 10,
        operator: '+',
        operand: 3,
    };
    assert_eq!(stepped.take(7), 5);
    let doubling = Count {
        min: 2,
        max: 16,
        operator: '*',
        operand: 2,
    };
    assert_eq!(doubling.take(9), 8);
}

#[test]
fn min_alone_means_as_many_as_there_are() {
    let js = Jobspec::from_value(spec(json!([{"type": "slot", "label": "task", "count": {"min": 2}, "with": [{"type": "core", "count": 1}]}])), None).unwrap();
    assert_eq!(js.resources[0].count.max, UNBOUNDED);
}

#[test]
fn zero_count_is_rejected_with_its_location() {
    let err = Jobspec::from_value(spec(json!([{"type": "slot", "label": "task", "count": 1, "with": [{"type": "core", "count": 0}]}])), Some("j.yaml")).unwrap_err();
    assert_eq!(
        err.to_string(),
        "j.yaml: resources[0].with[0].count: must be an integer of at least 1, found 0"
    );
}

#[test]
fn a_slot_is_required() {
    let err = Jobspec::from_value(
        spec(json!([{"type": "node", "count": 1, "with": [{"type": "core", "count": 1}]}])),
        None,
    )
    .unwrap_err();
    assert!(
        err.to_string()
            .contains("must contain a slot, they contain none"),
        "{err}"
    );
}

#[test]
fn nested_slots_are_rejected() {
    let inner =
        json!({"type": "slot", "label": "b", "count": 1, "with": [{"type": "core", "count": 1}]});
    let err = Jobspec::from_value(
        spec(json!([{"type": "slot", "label": "task", "count": 1, "with": [inner]}])),
        None,
    )
    .unwrap_err();
    assert!(
        err.to_string().contains("cannot sit inside another slot"),
        "{err}"
    );
}

#[test]
fn lenient_reading_accepts_version_1_with_any_types() {
    let mut doc = spec(
        json!([{"type": "cluster", "count": 1, "with": [{"type": "slot", "label": "task", "count": 1, "with": [{"type": "socket", "count": 2}]}]}]),
    );
    doc["version"] = json!(1);
    assert!(Jobspec::from_value(doc.clone(), None).is_err());
    assert!(Jobspec::from_value_with(doc, None, false).is_ok());
}

/// The canonical jobspec flux-core's own tests call valid: socket levels, a count of
/// memory, and a duration written as a string.
fn flux_canonical() -> Value {
    json!({"version": 9999, "attributes": {"system": {"duration": "3600"}},
           "resources": [{"type": "node", "count": 1, "with": [
               {"type": "memory", "count": 256},
               {"type": "socket", "count": 2, "with": [
                   {"type": "gpu", "count": 4},
                   {"type": "slot", "count": 2, "label": "default", "with": [
                       {"type": "L3cache", "count": 1, "with": [
                           {"type": "core", "count": 4, "with": [{"type": "pu", "count": 1}]}]}]}]}]}],
           "tasks": [{"command": ["app"], "slot": "default", "count": {"per_slot": 1}}]})
}

fn rule_of(result: Result<Checked>) -> String {
    result.unwrap_err().to_string()
}

#[test]
fn flux_rules_accept_what_validate_jobspec_accepts() {
    let err = rule_of(check(flux_canonical(), None, Rules::Rfc));
    assert!(err.contains("attributes.system.duration"), "{err}");
    let checked = check(flux_canonical(), None, Rules::Flux).unwrap();
    let counts = tally(&checked.resources);
    assert_eq!(counts["core"], (16, Some(16)));
    assert_eq!(counts["slot"], (4, Some(4)));
    assert_eq!(counts["memory"], (256, Some(256)));
    // A version 1 jobspec with nested slots and an ssd, as flux submit writes them.
    let v1 = json!({"version": 1, "attributes": {"system": {"duration": 0}},
        "resources": [{"type": "slot", "count": 1, "label": "default", "with": [
            {"type": "node", "count": 1, "exclusive": true, "with": [
                {"type": "slot", "count": 1, "label": "task", "with": [{"type": "core", "count": 1}]}]},
            {"type": "ssd", "count": 20480, "exclusive": true}]}],
        "tasks": [{"command": ["hostname"], "slot": "task", "count": {"per_slot": 1}}]});
    assert!(check(v1.clone(), None, Rules::Rfc).is_err());
    assert_eq!(
        tally(&check(v1, None, Rules::Flux).unwrap().resources)["slot"],
        (2, Some(2))
    );
}

#[test]
fn flux_rules_read_count_strings_and_ranges() {
    let mut doc = flux_canonical();
    doc["resources"][0]["count"] = json!("2-4");
    doc["resources"][0]["with"][0]["count"] = json!({"min": 8});
    doc["resources"][0]["with"][1]["count"] = json!("2+");
    let counts = tally(&check(doc.clone(), None, Rules::Flux).unwrap().resources);
    assert_eq!(counts["node"], (2, Some(4)));
    assert_eq!(counts["memory"], (16, None));
    assert_eq!(counts["socket"], (4, None));
    doc["resources"][0]["count"] = json!("2-16:2:*");
    assert!(check(doc.clone(), None, Rules::Flux).is_ok());
    for (bad, place) in [
        (json!("many"), "resources[0].count"),
        (json!("2-16:1:*"), "resources[0].count"),
        (json!({"min": 4, "max": 2}), "resources[0].count"),
        (json!(0), "resources[0].count"),
        (json!(1.5), "resources[0].count"),
    ] {
        doc["resources"][0]["count"] = bad;
        let err = rule_of(check(doc.clone(), None, Rules::Flux));
        assert!(err.starts_with(place), "{err}");
    }
}

#[test]
fn flux_rules_refuse_what_flux_refuses() {
    let cases = [
        ("/attributes", Value::Null, "attributes: is required"),
        (
            "/tasks/0/command",
            json!("app"),
            "tasks[0].command: must be a list",
        ),
        (
            "/tasks/0/count",
            json!({"per_slot": 1, "total": 2}),
            "tasks[0].count: must hold exactly one",
        ),
        (
            "/resources/0/with/1/with/1/label",
            Value::Null,
            "every slot needs a \"label\"",
        ),
        (
            "/resources/0/exclusive",
            json!("yes"),
            "resources[0].exclusive: must be true or false",
        ),
        (
            "/attributes/other",
            json!({}),
            "attributes.other: is not an attribute section",
        ),
    ];
    for (pointer, value, expected) in cases {
        let mut doc = flux_canonical();
        let (parent, key) = pointer.rsplit_once('/').unwrap();
        let target = doc
            .pointer_mut(if parent.is_empty() { "" } else { parent })
            .unwrap();
        let map = target.as_object_mut().unwrap();
        if value.is_null() {
            map.remove(key);
        } else {
            map.insert(key.to_owned(), value);
        }
        let err = rule_of(check(doc, None, Rules::Flux));
        assert!(err.contains(expected), "{pointer}: {err}");
    }
    let mut v1 = flux_canonical();
    v1["version"] = json!(1);
    let err = rule_of(check(v1.clone(), None, Rules::Flux));
    assert!(
        err.contains("attributes.system.duration: must be a number in a version 1"),
        "{err}"
    );
    v1["attributes"]["system"]["duration"] = json!(60);
    v1["resources"][0]["count"] = json!("2");
    let err = rule_of(check(v1, None, Rules::Flux));
    assert!(
        err.contains("must be an integer in a version 1 jobspec"),
        "{err}"
    );
}

#[test]
fn software_requirements_are_checked_where_they_are_written() {
    let mut doc = spec(
        json!([{"type": "slot", "label": "task", "count": 1, "with": [{"type": "core", "count": 1}]}]),
    );
    doc["attributes"]["system"]["requires"] = json!({"software": [{"name": "curl", "type": "binary", "os": "ubuntu22.04"}, "gromacs>=2023"]});
    let js = Jobspec::from_value(doc.clone(), None).unwrap();
    assert_eq!(js.requires.len(), 1);
    for (requires, place) in [
        (
            json!({"software": [{"name": "curl", "colour": "red"}]}),
            "attributes.system.requires.software[0].colour",
        ),
        (
            json!({"software": [{"name": "curl", "type": "script"}]}),
            "attributes.system.requires.software[0].type",
        ),
        (
            json!({"licenses": ["matlab"]}),
            "attributes.system.requires.licenses",
        ),
        (
            json!([{"software": [{"version": "1"}]}]),
            "attributes.system.requires[0].software[0]",
        ),
        (
            json!([{"name": "x", "version": [1]}]),
            "attributes.system.requires[0].version",
        ),
    ] {
        doc["attributes"]["system"]["requires"] = requires;
        let err = Jobspec::from_value(doc.clone(), None).unwrap_err();
        assert_eq!(
            err.place().map(|p| p.location.as_str()),
            Some(place),
            "{err}"
        );
    }
}

#[test]
fn unlabeled_slot_is_rejected() {
    let err = Jobspec::from_value(
        spec(json!([{"type": "slot", "count": 1, "with": [{"type": "core", "count": 1}]}])),
        None,
    )
    .unwrap_err();
    assert_eq!(
        err.to_string(),
        "resources[0]: every slot needs a \"label\""
    );
}

#[test]
fn task_must_name_an_existing_slot() {
    let mut doc = spec(
        json!([{"type": "slot", "label": "other", "count": 1, "with": [{"type": "core", "count": 1}]}]),
    );
    doc["tasks"][0]["slot"] = json!("task");
    doc["version"] = json!(1);
    let err = Jobspec::from_value(doc, None).unwrap_err();
    assert!(
        err.to_string().starts_with("tasks[0].slot: names no slot"),
        "{err}"
    );
}

#[test]
fn version_1_rejects_sockets_and_ranges() {
    let mut doc = spec(
        json!([{"type": "node", "count": 1, "with": [{"type": "slot", "label": "task", "count": 1, "with": [{"type": "socket", "count": 1}]}]}]),
    );
    doc["version"] = json!(1);
    let err = Jobspec::from_value(doc.clone(), None).unwrap_err();
    assert!(
        err.to_string().contains("not a version 1 resource type"),
        "{err}"
    );
    doc["resources"] = json!([{"type": "slot", "label": "task", "count": {"min": 1}, "with": [{"type": "core", "count": 1}]}]);
    let err = Jobspec::from_value(doc, None).unwrap_err();
    assert!(err.to_string().contains("single integer"), "{err}");
}

#[test]
fn version_1_needs_a_duration() {
    let mut doc = spec(
        json!([{"type": "slot", "label": "task", "count": 1, "with": [{"type": "core", "count": 1}]}]),
    );
    doc["version"] = json!(1);
    doc["attributes"] = json!({"system": {}});
    let err = Jobspec::from_value(doc, None).unwrap_err();
    assert_eq!(
        err.to_string(),
        "attributes.system.duration: is required in a version 1 jobspec"
    );
}

#[test]
fn version_1_accepts_flux_submit_shape() {
    let mut doc = spec(
        json!([{"type": "node", "count": 2, "exclusive": true, "with": [{"type": "slot", "label": "task", "count": 4, "with": [{"type": "core", "count": 2}, {"type": "gpu", "count": 1}]}]}]),
    );
    doc["version"] = json!(1);
    assert!(Jobspec::from_value(doc, None).is_ok());
}

struct Host(&'static str, i64, &'static [&'static str]);
impl ConstraintTarget for Host {
    fn name(&self) -> &str {
        self.0
    }
    fn rank(&self) -> i64 {
        self.1
    }
    fn has_property(&self, key: &str) -> bool {
        self.2.contains(&key)
    }
}

fn constraint(c: Value) -> Constraint {
    let mut doc = spec(
        json!([{"type": "slot", "label": "task", "count": 1, "with": [{"type": "core", "count": 1}]}]),
    );
    doc["attributes"]["system"]["constraints"] = c;
    Jobspec::from_value(doc, None).unwrap().constraints.unwrap()
}

#[test]
fn constraints_combine_properties_hostlists_and_ranks() {
    let c = constraint(
        json!({"or": [{"properties": ["ssd", "^slow"]}, {"hostlist": ["quartz[0-2,5]"]}, {"ranks": ["7-8"]}]}),
    );
    assert!(c.matches(&Host("x", 0, &["ssd"])));
    assert!(!c.matches(&Host("x", 0, &["ssd", "slow"])));
    assert!(c.matches(&Host("quartz5", 0, &[])));
    assert!(!c.matches(&Host("quartz3", 0, &[])));
    assert!(c.matches(&Host("x", 8, &[])));
    let not = constraint(json!({"not": [{"hostlist": ["nid3"]}]}));
    assert!(!not.matches(&Host("nid3", 0, &[])));
    assert!(not.matches(&Host("nid4", 0, &[])));
}

#[test]
fn zero_padded_hostlists_match_padded_names_only() {
    let h = Hostlist::parse("node[01-10]").unwrap();
    assert!(h.contains("node01"));
    assert!(h.contains("node10"));
    assert!(!h.contains("node1"));
}

#[test]
fn unknown_constraint_operator_is_rejected() {
    let mut doc = spec(
        json!([{"type": "slot", "label": "task", "count": 1, "with": [{"type": "core", "count": 1}]}]),
    );
    doc["attributes"]["system"]["constraints"] = json!({"xor": []});
    let err = Jobspec::from_value(doc, None).unwrap_err();
    assert!(
        err.to_string()
            .starts_with("attributes.system.constraints.xor: is not a constraint operator"),
        "{err}"
    );
}
