//! Random sequences of store operations on simulated time never panic and
//! keep the invariants: attempts never exceed the limit, a single-use code
//! verifies at most once, final statuses stay final, the code is handed out
//! only while the OTP is live, and it never appears in the record.

mod common;

use std::time::Duration;

use common::*;
use proptest::prelude::*;
use voxpin_otp::{
    EventKind, Keypress, Mode, OtpStore, Side, SmsResult, Status, VerifyError, VerifySource,
};

const CODE: &str = "480213";

#[derive(Debug, Clone)]
enum Op {
    Advance(u64),
    Verify { right: bool, api: bool },
    SetStatus(Status),
    Cancel,
    Purge,
    Deliver,
    Hangup,
    Callback,
    Sms,
    Keypress,
    Replace,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        (0u64..200).prop_map(Op::Advance),
        (any::<bool>(), any::<bool>()).prop_map(|(right, api)| Op::Verify { right, api }),
        proptest::sample::select(Status::ALL.to_vec()).prop_map(Op::SetStatus),
        Just(Op::Cancel),
        Just(Op::Purge),
        Just(Op::Deliver),
        Just(Op::Hangup),
        Just(Op::Callback),
        Just(Op::Sms),
        Just(Op::Keypress),
        Just(Op::Replace),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn invariants_hold(
        ops in proptest::collection::vec(op(), 1..60),
        max_attempts in 1u32..6,
        reusable in any::<bool>(),
        input_mode in any::<bool>(),
        sms in any::<bool>(),
        ttl in 30u64..900,
        interval in 0u64..5,
    ) {
        let store = store_with_retention(Duration::from_secs(300));
        let mut new = manual("+14155550100", CODE);
        new.mode = if input_mode { Mode::Input } else { Mode::Read };
        new.sms_after_call = sms;
        new.policy.max_attempts = max_attempts;
        new.policy.reusable = reusable;
        new.policy.ttl = Duration::from_secs(ttl);
        new.policy.verify_interval = Duration::from_secs(interval);
        new.limits.replace_previous = true;
        let id = store.create(t(0), new.clone()).unwrap().id;
        let mut now = 0u64;
        let mut successes = 0;
        let mut final_status: Option<Status> = None;

        for op in ops {
            match op {
                Op::Advance(s) => now += s,
                Op::Verify { right, api } => {
                    let source = if api { VerifySource::Api } else { VerifySource::Call };
                    let candidate = if right { CODE } else { "999999" };
                    match store.verify(&id, candidate, t(now), source) {
                        Ok(outcome) => {
                            prop_assert_eq!(outcome.valid, right);
                            if right { successes += 1; }
                            prop_assert!(now < ttl, "verified after expiry");
                        }
                        Err(VerifyError::RateLimited { retry_after }) => {
                            prop_assert!(api);
                            prop_assert!(retry_after <= Duration::from_secs(interval));
                        }
                        Err(VerifyError::Closed { .. }) => {}
                        Err(other) => prop_assert!(false, "unexpected {other:?}"),
                    }
                }
                Op::SetStatus(status) => { let _ = store.set_status(&id, t(now), status); }
                Op::Cancel => { let _ = store.cancel(&id, t(now)); }
                Op::Purge => { store.purge_expired(t(now)).unwrap(); }
                Op::Deliver => {
                    if let Some(code) = store.code_for_delivery(&id, t(now)).unwrap() {
                        prop_assert_eq!(code.expose(), CODE);
                        let otp = store.get(&id).unwrap().unwrap();
                        prop_assert!(otp.is_live(t(now)));
                        store.record_event(&id, t(now), EventKind::CodePlayed { count: 1 }).unwrap();
                    }
                }
                Op::Hangup => {
                    let _ = store.record_event(&id, t(now), EventKind::Hangup {
                        cause: 16, side: Side::Local, sip_status: None,
                    });
                }
                Op::Callback => { let _ = store.record_event(&id, t(now), EventKind::Callback); }
                Op::Sms => {
                    let _ = store.record_event(&id, t(now), EventKind::Sms { result: SmsResult::Sent });
                }
                Op::Keypress => {
                    let _ = store.record_event(&id, t(now), EventKind::Keypress(Keypress::masked("collect")));
                }
                Op::Replace => {
                    let _ = store.create(t(now), new.clone());
                }
            }

            let Some(otp) = store.get(&id).unwrap() else {
                // Forgotten after the retention: only once it was over.
                prop_assert!(now >= ttl + 300);
                break;
            };
            prop_assert!(otp.attempts_used <= otp.attempts_limit);
            if !reusable {
                prop_assert!(successes <= 1);
            }
            if let Some(was) = final_status {
                prop_assert_eq!(otp.status, was, "a final status changed");
            }
            if otp.status.is_final() {
                final_status = Some(otp.status);
                prop_assert!(store.code_for_delivery(&id, t(now)).unwrap().is_none());
            }
            if !otp.is_live(t(now)) {
                prop_assert!(store.code_for_delivery(&id, t(now)).unwrap().is_none());
            }
            let calls = store.calls_in_progress(&app("login"));
            let live_others = store
                .list(&Default::default(), &Default::default())
                .unwrap()
                .items
                .iter()
                .filter(|o| !o.status.is_final())
                .count() as u32;
            prop_assert!(calls <= live_others + 1);
            if otp.status.is_final() && live_others == 0 {
                prop_assert_eq!(calls, 0);
            }
            let json = serde_json::to_string(&otp).unwrap();
            prop_assert!(!json.contains(CODE));
            let debug = format!("{:?}", otp);
            prop_assert!(!debug.contains(CODE));
        }
    }
}
