//! Whole-graph checks on a resolved flow: reachability, a way to hang up from
//! everywhere, no loops that spin without waiting, and a silent caller always
//! ends up hung up on.

use std::time::Duration;

use crate::error::{DialplanError, Reason};
use crate::graph::{Event, FlowGraph, GraphContext, State, StateId, Step};
use crate::raw::RawFlow;

/// Every state this one can pass control to (steps and transitions).
fn successors(state: &State) -> impl Iterator<Item = StateId> + '_ {
    let gotos = state.steps.iter().filter_map(|s| match s {
        Step::Goto(t) => Some(*t),
        _ => None,
    });
    gotos.chain(state.on.values().copied())
}

fn hangs_up(state: &State) -> bool {
    state.steps.contains(&Step::Hangup)
}

/// Whether running the state's steps takes time or waits for the caller.
fn waits(state: &State) -> bool {
    state.steps.iter().any(|s| match s {
        Step::Pause(d) => *d > Duration::ZERO,
        Step::Play(_) | Step::SayCode | Step::CollectKey { .. } | Step::CollectCode { .. } => true,
        Step::Verify => true,
        Step::Sms | Step::Hangup | Step::Goto(_) => false,
    })
}

/// Runs every whole-graph check, pushing one error per problem.
pub(crate) fn check_graph(
    graph: &FlowGraph,
    raw: &RawFlow,
    cx: GraphContext<'_>,
    errors: &mut Vec<DialplanError>,
) {
    let n = graph.states.len();
    let span_of = |id: StateId| {
        let name = graph.at(id).name.as_str();
        raw.states.get(name).map(|s| s.span())
    };
    let key_of = |id: StateId| format!("flow.states.{}", graph.at(id).name);

    // Reachable from start.
    let mut reachable = vec![false; n];
    let mut stack = vec![graph.start];
    while let Some(id) = stack.pop() {
        if std::mem::replace(&mut reachable[id.0], true) {
            continue;
        }
        stack.extend(successors(graph.at(id)));
    }
    for (id, state) in graph.states() {
        if !reachable[id.0] {
            let reason = Reason::Unreachable {
                state: state.name.to_string(),
            };
            errors.push(cx.site.error(span_of(id), key_of(id), reason));
        }
    }

    // A hang-up reachable from every state.
    let mut ends = graph.states.iter().map(hangs_up).collect::<Vec<_>>();
    loop {
        let mut changed = false;
        for (id, state) in graph.states() {
            if !ends[id.0] && successors(state).any(|t| ends[t.0]) {
                ends[id.0] = true;
                changed = true;
            }
        }
        if !changed {
            break;
        }
    }
    for (id, state) in graph.states() {
        if reachable[id.0] && !ends[id.0] {
            let reason = Reason::NoWayToHangUp {
                state: state.name.to_string(),
            };
            errors.push(cx.site.error(span_of(id), key_of(id), reason));
        }
    }
    if !errors.is_empty() {
        return;
    }

    // Loops that pass control without waiting. Entering a state with a `limit`
    // runs it at most `limit` times, so its own gotos cannot spin; its
    // `repeats_exhausted` exit, a passed-through gate and the gotos of other
    // states that neither wait nor count can.
    let instant = |state: &State| -> Vec<StateId> {
        let mut out = Vec::new();
        if state.gate && !cx.gate_enabled {
            out.extend(state.on(Event::AnyKey));
            return out;
        }
        if state.limit.is_some() {
            out.extend(state.on(Event::RepeatsExhausted));
        } else if !waits(state) {
            out.extend(state.steps.iter().filter_map(|s| match s {
                Step::Goto(t) => Some(*t),
                _ => None,
            }));
        }
        out
    };
    if let Some(cycle) = find_cycle(graph, &instant) {
        let (first, path) = describe(graph, &cycle);
        errors.push(
            cx.site
                .error(span_of(first), key_of(first), Reason::InstantLoop { path }),
        );
        return;
    }

    // A caller who never presses a key. Each state has one silent way on: its
    // `goto`, `timeout` or `no_input`, or, for a state whose `limit` is used
    // up, `repeats_exhausted` (a passed-through gate: `any_key`). Entries into
    // a state with a `limit` that still runs it are counted, so only finitely
    // many; an endless silent call must therefore cycle through the other
    // ways on alone. Such a cycle is refused, whatever the counters may be
    // when the caller falls silent.
    let silent = |state: &State| -> Vec<StateId> {
        if state.gate && !cx.gate_enabled {
            return state.on(Event::AnyKey).into_iter().collect();
        }
        if state.limit.is_some() {
            return state.on(Event::RepeatsExhausted).into_iter().collect();
        }
        silent_successor(state).into_iter().collect()
    };
    if let Some(cycle) = find_cycle(graph, &silent) {
        let (first, path) = describe(graph, &cycle);
        errors.push(
            cx.site
                .error(span_of(first), key_of(first), Reason::SilentLoop { path }),
        );
    }
}

/// Where a state leads when the caller presses nothing and its steps run.
fn silent_successor(state: &State) -> Option<StateId> {
    for step in &state.steps {
        match step {
            Step::Hangup => return None,
            Step::Goto(t) => return Some(*t),
            Step::CollectKey { .. } => return state.on(Event::Timeout),
            Step::CollectCode { .. } => return state.on(Event::NoInput),
            _ => {}
        }
    }
    None
}

/// A cycle in the graph given by `edges`, as its states with the first repeated at the end.
fn find_cycle(graph: &FlowGraph, edges: &dyn Fn(&State) -> Vec<StateId>) -> Option<Vec<StateId>> {
    #[derive(Clone, Copy, PartialEq)]
    enum Mark {
        New,
        Open,
        Done,
    }
    let n = graph.states.len();
    let mut mark = vec![Mark::New; n];
    for root in 0..n {
        if mark[root] != Mark::New {
            continue;
        }
        // Iterative DFS keeping the open path.
        let mut path: Vec<(StateId, Vec<StateId>)> = Vec::new();
        mark[root] = Mark::Open;
        path.push((StateId(root), edges(graph.at(StateId(root)))));
        while let Some((id, pending)) = path.last_mut() {
            let id = *id;
            match pending.pop() {
                None => {
                    mark[id.0] = Mark::Done;
                    path.pop();
                }
                Some(next) => match mark[next.0] {
                    Mark::Open => {
                        let at = path.iter().position(|(s, _)| *s == next).unwrap_or(0);
                        let mut cycle: Vec<StateId> = path[at..].iter().map(|(s, _)| *s).collect();
                        cycle.push(next);
                        return Some(cycle);
                    }
                    Mark::New => {
                        mark[next.0] = Mark::Open;
                        path.push((next, edges(graph.at(next))));
                    }
                    Mark::Done => {}
                },
            }
        }
    }
    None
}

fn describe(graph: &FlowGraph, cycle: &[StateId]) -> (StateId, String) {
    let first = cycle.first().copied().unwrap_or(graph.start);
    let path = cycle
        .iter()
        .map(|id| graph.at(*id).name.to_string())
        .collect::<Vec<_>>()
        .join(" -> ");
    (first, path)
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::names::StateName;

    fn state(name: &str, steps: Vec<Step>) -> State {
        State {
            name: StateName::new(name),
            gate: false,
            limit: None,
            steps,
            on: BTreeMap::new(),
        }
    }

    #[test]
    fn cycles_are_found_and_described() {
        let graph = FlowGraph {
            states: vec![
                state("a", vec![Step::Goto(StateId(1))]),
                state("b", vec![Step::Goto(StateId(2))]),
                state("c", vec![Step::Goto(StateId(1))]),
            ],
            start: StateId(0),
        };
        let gotos = |s: &State| {
            s.steps
                .iter()
                .filter_map(|s| match s {
                    Step::Goto(t) => Some(*t),
                    _ => None,
                })
                .collect::<Vec<_>>()
        };
        let cycle = find_cycle(&graph, &gotos).expect("b -> c -> b");
        assert_eq!(describe(&graph, &cycle).1, "b -> c -> b");
        assert_eq!(silent_successor(graph.at(StateId(2))), Some(StateId(1)));
    }

    #[test]
    fn a_state_that_hangs_up_has_no_silent_successor() {
        let graph = FlowGraph {
            states: vec![
                state("a", vec![Step::Sms, Step::Goto(StateId(1))]),
                state("b", vec![Step::Hangup]),
            ],
            start: StateId(0),
        };
        assert_eq!(silent_successor(graph.at(StateId(0))), Some(StateId(1)));
        assert_eq!(silent_successor(graph.at(StateId(1))), None);
        assert_eq!(
            find_cycle(&graph, &|s: &State| successors(s).collect()),
            None
        );
    }
}
