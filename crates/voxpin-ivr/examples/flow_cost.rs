//! Measures what one call's flow costs: the time from a DTMF digit to the
//! flow's decision (handle_event + draining the actions), and the memory a
//! flow holds. Run with `cargo run --release -p voxpin-ivr --example flow_cost`.

#![allow(clippy::disallowed_methods)] // a benchmark reads the real clock

use std::sync::Arc;
use std::time::{Duration, Instant};

use voxpin_ivr::{Dialplan, Flow, FlowContext, FlowEvent, PromptSet};

fn main() {
    let text = include_str!("../../../dialplans/signup.toml");
    let plan =
        Arc::new(Dialplan::from_toml("signup.toml", text, &PromptSet::standard()).expect("valid"));
    let context = FlowContext {
        code_length: plan.code_length(),
        attempts_remaining: 1_000_000,
    };

    let calls = 20_000;
    let mut digits = 0u64;
    let mut spent_each = Vec::with_capacity(calls * 6);
    let mut now = Instant::now();
    for _ in 0..calls {
        let mut flow = Flow::new(Arc::clone(&plan), context, now);
        flow.handle_event(now, FlowEvent::Answered);
        while flow.poll_action().is_some() {}
        for key in "123456".chars() {
            now += Duration::from_millis(200);
            let start = Instant::now();
            flow.handle_event(now, FlowEvent::Digit(key));
            while flow.poll_action().is_some() {}
            spent_each.push(start.elapsed());
            digits += 1;
        }
    }
    spent_each.sort();
    let total: Duration = spent_each.iter().sum();
    let at =
        |q: f64| spent_each[((spent_each.len() as f64 * q) as usize).min(spent_each.len() - 1)];
    println!(
        "digit to decision over {digits} digits: mean {:?}, p50 {:?}, p99 {:?}, p99.9 {:?}, max {:?} (max includes scheduler noise)",
        total / digits as u32,
        at(0.5),
        at(0.99),
        at(0.999),
        at(1.0)
    );
    println!(
        "size_of::<Flow>() = {} bytes (plus its action queue and entered code)",
        std::mem::size_of::<Flow>()
    );
}
