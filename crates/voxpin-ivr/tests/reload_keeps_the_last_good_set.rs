//! Reload is a pure function from the current set and the files on disk to a
//! new set or the errors: a bad file refuses the whole reload (the caller keeps
//! serving the old set), unchanged dialplans keep their `Arc`, removed ones go,
//! and names and numbers must be unique across files.

use std::sync::Arc;

use voxpin_ivr::{DialplanSet, PromptSet, Reason};

const A: &str = "name = \"a\"\nmode = \"read\"\nnumber = \"+15550100001\"\n";
const A2: &str = "name = \"a\"\nmode = \"read\"\nnumber = \"+15550100001\"\nrepeats = 4\n";
const B: &str = "name = \"b\"\nmode = \"input\"\nnumber = \"+15550100002\"\n";
const BAD: &str = "name = \"b\"\nmode = \"input\"\nattempts = 0\n";

fn set() -> DialplanSet {
    DialplanSet::load([("a.toml", A), ("b.toml", B)], PromptSet::standard())
        .unwrap_or_else(|e| panic!("{e:#?}"))
}

#[test]
fn a_bad_file_refuses_the_reload() {
    let old = set();
    let errors = old
        .reload([("a.toml", A2), ("b.toml", BAD)])
        .expect_err("attempts = 0 is refused");
    let text: Vec<String> = errors.iter().map(ToString::to_string).collect();
    assert_eq!(text, ["b.toml:3: attempts: 0 is out of range (1 to 20)"]);
    // The caller still holds the old set, untouched.
    assert_eq!(old.by_name("a").map(|p| p.repeats()), Some(2));
    assert_eq!(old.len(), 2);
}

#[test]
fn unchanged_dialplans_keep_their_arc() {
    let old = set();
    let new = old
        .reload([("a.toml", A2), ("b.toml", B)])
        .unwrap_or_else(|e| panic!("{e:#?}"));
    let (old_a, new_a) = (old.by_name("a").expect("a"), new.by_name("a").expect("a"));
    let (old_b, new_b) = (old.by_name("b").expect("b"), new.by_name("b").expect("b"));
    assert!(!Arc::ptr_eq(old_a, new_a), "a changed");
    assert_eq!(new_a.repeats(), 4);
    assert!(Arc::ptr_eq(old_b, new_b), "b did not change");
}

#[test]
fn a_running_call_keeps_its_dialplan_across_a_reload() {
    let old = set();
    let running = Arc::clone(old.by_name("a").expect("a"));
    let new = old.reload([("a.toml", A2)]).expect("reloads");
    drop(old);
    assert_eq!(running.repeats(), 2);
    assert_eq!(new.by_name("a").map(|p| p.repeats()), Some(4));
}

#[test]
fn removed_files_leave_the_set() {
    let new = set().reload([("b.toml", B)]).expect("reloads");
    assert!(new.by_name("a").is_none());
    assert!(new.by_number("+15550100001").is_none());
    assert_eq!(new.by_number("+15550100002").map(|p| p.name()), Some("b"));
}

#[test]
fn names_and_numbers_are_unique() {
    let errors = DialplanSet::load([("a.toml", A), ("copy.toml", A)], PromptSet::standard())
        .expect_err("duplicate");
    assert_eq!(errors.len(), 1);
    assert_eq!(
        errors[0].to_string(),
        "copy.toml: name: application `a` is also defined in a.toml"
    );
    assert!(matches!(errors[0].reason, Reason::DuplicateName { .. }));

    let c = "name = \"c\"\nmode = \"read\"\nnumber = \"+15550100001\"\n";
    let errors = DialplanSet::load([("a.toml", A), ("c.toml", c)], PromptSet::standard())
        .expect_err("duplicate");
    assert_eq!(
        errors[0].to_string(),
        "c.toml: number: number +15550100001 is also used by a.toml"
    );
}

#[test]
fn every_bad_file_is_reported() {
    let errors = set()
        .reload([("a.toml", "name = 1\n"), ("b.toml", BAD), ("c.toml", "[")])
        .expect_err("bad");
    let files: Vec<&str> = errors.iter().map(|e| e.file.as_str()).collect();
    assert_eq!(files, ["a.toml", "b.toml", "c.toml"]);
}

#[test]
fn lookups() {
    let set = set();
    assert_eq!(set.by_number("+15550100002").map(|p| p.name()), Some("b"));
    assert!(set.by_number("15550100002").is_none());
    assert!(set.by_number("").is_none());
    assert!(set.by_name("nope").is_none());
    assert_eq!(set.iter().map(|p| p.name()).collect::<Vec<_>>(), ["a", "b"]);
    assert!(DialplanSet::empty(PromptSet::standard()).is_empty());
}
