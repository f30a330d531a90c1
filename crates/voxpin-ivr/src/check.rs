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
        let name = graph.state(id).name.as_str();
        raw.states.get(name).map(|s| s.span())
    };
    let key_of = |id: StateId| format!("flow.states.{}", graph.state(id).name);

    // Reachable from start.
    let mut reachable = vec![false; n];
    let mut stack = vec![graph.start];
    while let Some(id) = stack.pop() {
        if std::mem::replace(&mut reachable[id.0], true) {
            continue;
        }
        stack.extend(successors(graph.state(id)));
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

    // Loops that pass control without waiting.
    let instant = |state: &State| -> Vec<StateId> {
        let mut out = Vec::new();
        if !waits(state) {
            out.extend(state.steps.iter().filter_map(|s| match s {
                Step::Goto(t) => Some(*t),
                _ => None,
            }));
        }
        if state.limit.is_some() {
            out.extend(state.on(Event::RepeatsExhausted));
        }
        if state.gate && !cx.gate_enabled {
            out.extend(state.on(Event::AnyKey));
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

    // A caller who never presses a key, from every reachable state.
    for (from, _) in graph.states().filter(|(id, _)| reachable[id.0]) {
        if let Some(cycle) = silent_walk(graph, from, cx.gate_enabled) {
            let (first, path) = describe(graph, &cycle);
            errors.push(
                cx.site
                    .error(span_of(first), key_of(first), Reason::SilentLoop { path }),
            );
            return;
        }
    }
}

/// Follows a silent caller from `from` with fresh entry counters; `None` when it
/// reaches a hang-up, or the loop it cycles through.
fn silent_walk(graph: &FlowGraph, from: StateId, gate_enabled: bool) -> Option<Vec<StateId>> {
    let n = graph.states.len();
    let bound = n.saturating_mul(102).saturating_add(8);
    let mut entries = vec![0u32; n];
    let mut trail = Vec::new();
    let mut current = from;
    for _ in 0..bound {
        trail.push(current);
        let state = graph.state(current);
        if let Some(limit) = state.limit {
            if entries[current.0] >= limit {
                current = state.on(Event::RepeatsExhausted)?;
                continue;
            }
            entries[current.0] += 1;
        }
        if state.gate && !gate_enabled {
            current = state.on(Event::AnyKey)?;
            continue;
        }
        let mut next = None;
        for step in &state.steps {
            next = match step {
                Step::Hangup => return None,
                Step::Goto(t) => Some(*t),
                Step::CollectKey { .. } => state.on(Event::Timeout),
                Step::CollectCode { .. } => state.on(Event::NoInput),
                _ => continue,
            };
            break;
        }
        current = next?;
    }
    // Report the loop: from the last state's previous visit to the end.
    let last = *trail.last()?;
    let before = trail.len().checked_sub(1)?;
    let start = trail[..before]
        .iter()
        .rposition(|s| *s == last)
        .unwrap_or(0);
    Some(trail[start..].to_vec())
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
        path.push((StateId(root), edges(graph.state(StateId(root)))));
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
                        path.push((next, edges(graph.state(next))));
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
        .map(|id| graph.state(*id).name.to_string())
        .collect::<Vec<_>>()
        .join(" -> ");
    (first, path)
}
