//! The dialplans shipped in `dialplans/` load with the standard prompts, and
//! their spelled-out flows are exactly the built-in flows of their modes.

use std::path::PathBuf;

use voxpin_ivr::{CodeSource, Dialplan, DialplanSet, Mode, PromptSet, Rate};

fn shipped(name: &str) -> (String, String) {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../dialplans")
        .join(name);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    (format!("dialplans/{name}"), text)
}

fn without_flow(text: &str) -> String {
    let at = text
        .find("\n[flow]")
        .expect("the shipped file spells its flow out");
    text[..at].to_owned()
}

#[test]
fn login_is_a_read_dialplan_with_the_built_in_flow() {
    let (file, text) = shipped("login.toml");
    let plan = Dialplan::from_toml(&file, &text, &PromptSet::standard())
        .unwrap_or_else(|e| panic!("{e:#?}"));
    assert_eq!(plan.name(), "login");
    assert_eq!(plan.mode(), Mode::Read);
    assert_eq!(plan.code(), CodeSource::Auto);
    assert_eq!(plan.code_length(), 6);
    assert_eq!(plan.pacing().grouping, vec![3, 3]);
    assert!(plan.gate().enabled);
    assert_eq!(
        plan.limits().per_number,
        Some(Rate {
            count: 3,
            per: std::time::Duration::from_secs(3600)
        })
    );
    assert!(plan.has_custom_flow());
    let bare =
        Dialplan::from_toml(&file, &without_flow(&text), &PromptSet::standard()).expect("loads");
    assert!(!bare.has_custom_flow());
    assert_eq!(plan.flow(), bare.flow());
}

#[test]
fn signup_is_an_input_dialplan_with_the_built_in_flow() {
    let (file, text) = shipped("signup.toml");
    let plan = Dialplan::from_toml(&file, &text, &PromptSet::standard())
        .unwrap_or_else(|e| panic!("{e:#?}"));
    assert_eq!(plan.name(), "signup");
    assert_eq!(plan.mode(), Mode::Input);
    assert_eq!(plan.code(), CodeSource::Manual);
    assert_eq!(plan.attempts(), 3);
    let bare =
        Dialplan::from_toml(&file, &without_flow(&text), &PromptSet::standard()).expect("loads");
    assert_eq!(plan.flow(), bare.flow());
}

#[test]
fn both_load_as_a_set_and_are_found_by_number() {
    let set = DialplanSet::load(
        [shipped("login.toml"), shipped("signup.toml")],
        PromptSet::standard(),
    )
    .unwrap_or_else(|e| panic!("{e:#?}"));
    assert_eq!(set.len(), 2);
    assert_eq!(
        set.by_number("+15550100100").map(|p| p.name()),
        Some("login")
    );
    assert_eq!(
        set.by_number("+15550100200").map(|p| p.name()),
        Some("signup")
    );
    assert!(set.by_number("+15550100300").is_none());
    assert_eq!(set.by_name("signup").map(|p| p.mode()), Some(Mode::Input));
}

/// The flows printed in `docs/dialplans.md` are the built-in flows.
#[test]
fn the_documented_flows_are_the_built_in_ones() {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../docs/dialplans.md");
    let doc = std::fs::read_to_string(&path).expect("docs/dialplans.md");
    for (heading, mode) in [("## The read flow", "read"), ("## The input flow", "input")] {
        let section = &doc[doc.find(heading).expect(heading)..];
        let start = section.find("```toml\n").expect("a toml block") + "```toml\n".len();
        let block = &section[start..start + section[start..].find("```").expect("block end")];
        let head = format!("name = \"doc\"\nmode = \"{mode}\"\n");
        let documented =
            Dialplan::from_toml("doc", &format!("{head}{block}"), &PromptSet::standard())
                .unwrap_or_else(|e| panic!("{heading}: {e:#?}"));
        let built_in = Dialplan::from_toml("doc", &head, &PromptSet::standard()).expect("loads");
        assert_eq!(documented.flow(), built_in.flow(), "{heading}");
    }
}
