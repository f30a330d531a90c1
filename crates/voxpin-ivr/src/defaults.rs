//! The built-in flows, written in the flow language: what an application gets
//! when its dialplan has no `[flow]`. `dialplans/login.toml` and
//! `dialplans/signup.toml` spell the same flows out for ops to copy and edit.

/// The flow of a `mode = "read"` dialplan without `[flow]`.
pub const READ_FLOW: &str = r#"
[flow]
start = "gate"

# "Press any key to hear your code": keeps codes off voicemail.
# With [gate] enabled = false this state is passed straight through.
[flow.states.gate]
gate = true
limit = 2
steps = [
  { play = "press-any-key" },
  { collect = "key" },
]
on.any_key = "code"
on.timeout = "gate"
on.repeats_exhausted = "goodbye"

[flow.states.code]
steps = [
  { play = "your-code-is" },
  "say_code",
  { goto = "menu" },
]

[flow.states.menu]
steps = [
  { play = "press-1-to-repeat" },
  { collect = "key", timeout = "5s" },
]
on.1 = "repeat"
on.any_key = "goodbye"
on.timeout = "goodbye"

# Entered at most `repeats` times; then straight to goodbye.
[flow.states.repeat]
limit = "repeats"
steps = [
  { play = "i-repeat" },
  "say_code",
  { goto = "menu" },
]
on.repeats_exhausted = "goodbye"

[flow.states.goodbye]
steps = [
  { play = "goodbye" },
  "hangup",
]
"#;

/// The flow of a `mode = "input"` dialplan without `[flow]`.
pub const INPUT_FLOW: &str = r#"
[flow]
start = "ask"

# Asked at most `attempts` times (wrong codes and silences both count).
[flow.states.ask]
limit = "attempts"
steps = [
  { play = "enter-your-code" },
  { collect = "code" },
  "verify",
]
on.valid = "verified"
on.invalid = "incorrect"
on.attempts_exhausted = "failed"
on.no_input = "ask"
on.repeats_exhausted = "goodbye"

[flow.states.incorrect]
steps = [
  { play = "incorrect" },
  { goto = "ask" },
]

[flow.states.failed]
steps = [
  { play = "incorrect" },
  { goto = "goodbye" },
]

[flow.states.verified]
steps = [
  { play = "verified" },
  { goto = "goodbye" },
]

[flow.states.goodbye]
steps = [
  { play = "goodbye" },
  "hangup",
]
"#;
