//! An answered call's media session (in the engine's [`Pacer`]) and its IVR
//! [`Flow`], and the translation between them: flow actions become
//! playlists, store lookups and hang-ups; media events become flow events.
//!
//! The code's digits are fetched from the store only when a playlist that
//! speaks them starts, and only for the OTP issued to this call's number.

use std::sync::Arc;
use std::time::Instant;

use voxpin_ivr::{Action, Dialplan, Flow, FlowContext, FlowEvent, RecordKind, ShownKey};
use voxpin_media::{
    CodeDigits, ItemTag, Language, MediaEvent, MediaSession, Pacing, PlayItem, Playlist,
    SessionConfig, SessionKey,
};
use voxpin_otp::{EventKind, Keypress, Mode, Status, VerifySource};
use voxpin_sip::sdp::{Codec, Negotiated};
use voxpin_sip::CallId;

use crate::call::{Outcome, Phase};
use crate::engine::Engine;
use crate::ports::RtpPort;
use crate::trunk::DtmfMode;

/// The IVR side of one answered call.
#[derive(Debug)]
pub(crate) struct Session {
    pub flow: Flow,
    /// Whether the OTP is read aloud (its code delivered when played in full).
    pub read_mode: bool,
}

/// The pacer key of a call's media: its RTP port (unique among live calls).
pub(crate) fn media_key(port: RtpPort) -> SessionKey {
    SessionKey(u64::from(port.0))
}

/// The media session for negotiated parameters and a trunk's DTMF mode.
pub(crate) fn media_session(
    now: Instant,
    negotiated: &Negotiated,
    dtmf: DtmfMode,
    prompts: Arc<voxpin_media::PromptLibrary>,
    rng: &mut impl rand::RngCore,
) -> MediaSession {
    let codec = match negotiated.codec {
        Codec::Pcma => voxpin_media::Codec::Pcma,
        _ => voxpin_media::Codec::Pcmu,
    };
    let mut config = SessionConfig::new(codec, prompts);
    config.payload_type = negotiated.payload_type;
    config.remote = Some(negotiated.remote);
    // Strict RTP: only the negotiated address counts (no learning, no bleed).
    config.symmetric = false;
    config.telephone_event = match dtmf {
        DtmfMode::Inband | DtmfMode::Info => None,
        DtmfMode::Rfc4733 | DtmfMode::Auto => negotiated.telephone_event,
    };
    config.inband_dtmf = match dtmf {
        DtmfMode::Inband => true,
        DtmfMode::Auto => negotiated.telephone_event.is_none(),
        DtmfMode::Rfc4733 | DtmfMode::Info => false,
    };
    MediaSession::new(now, config, rng)
}

fn media_pacing(p: &voxpin_ivr::Pacing) -> Pacing {
    Pacing {
        digit_gap: p.digit_gap,
        group_sizes: p.grouping.iter().map(|&g| usize::from(g)).collect(),
        group_gap: p.group_gap,
        final_pause: p.final_pause,
    }
}

impl Engine {
    /// Starts media and the flow of an answered call.
    pub(crate) fn start_session(&mut self, now: Instant, id: CallId) {
        let Some(call) = self.calls.get(&id) else {
            return;
        };
        let Some(negotiated) = call.negotiated else {
            return;
        };
        let media = media_session(
            now,
            &negotiated,
            call.dtmf,
            self.prompts.clone(),
            &mut self.rng,
        );
        if let Err(e) = self.pacer.insert(now, media_key(call.port), media) {
            tracing::error!(error = %e, "media session not started");
            self.hangup(now, id);
            return;
        }
        let plan: Option<Arc<Dialplan>> = call
            .application
            .as_deref()
            .and_then(|a| self.dialplans.by_name(a))
            .cloned();
        let otp = call.otp.and_then(|o| self.store_get(&o));
        let (flow, read_mode) = match (plan, otp) {
            (Some(plan), Some(otp)) if call.outcome != Outcome::InvalidRequest => {
                let context = FlowContext {
                    code_length: plan.code_length(),
                    attempts_remaining: otp.attempts_remaining(),
                };
                (Flow::new(plan, context, now), otp.mode == Mode::Read)
            }
            _ => (Flow::invalid_request(now), false),
        };
        let call = self
            .calls
            .get_mut(&id)
            .expect("looked up above; nothing removed since");
        call.session = Some(Session { flow, read_mode });
        self.flow_event(now, id, FlowEvent::Answered);
    }

    /// Feeds one event to a call's flow and runs the actions it answers with.
    pub(crate) fn flow_event(&mut self, now: Instant, id: CallId, event: FlowEvent) {
        let Some(session) = self.calls.get_mut(&id).and_then(|c| c.session.as_mut()) else {
            return;
        };
        session.flow.handle_event(now, event);
        self.run_flow(now, id);
    }

    /// Runs a call's flow timers.
    pub(crate) fn flow_timeout(&mut self, now: Instant, id: CallId) {
        let Some(session) = self.calls.get_mut(&id).and_then(|c| c.session.as_mut()) else {
            return;
        };
        session.flow.handle_timeout(now);
        self.run_flow(now, id);
    }

    /// Executes the flow's pending actions, then re-arms its timer.
    fn run_flow(&mut self, now: Instant, id: CallId) {
        loop {
            let action = self
                .calls
                .get_mut(&id)
                .and_then(|c| c.session.as_mut())
                .and_then(|s| s.flow.poll_action());
            let Some(action) = action else {
                break;
            };
            self.perform(now, id, action);
        }
        self.rearm(id);
    }

    fn perform(&mut self, now: Instant, id: CallId, action: Action) {
        let Some(call) = self.calls.get(&id) else {
            return;
        };
        let key = media_key(call.port);
        match action {
            Action::Play(items) => {
                let Some(playlist) = self.playlist(now, id, &items) else {
                    // Nothing playable (no code left to speak): move on.
                    self.flow_event(now, id, FlowEvent::PlaybackFinished);
                    return;
                };
                if let Err(e) = self.pacer.play(now, key, &playlist) {
                    tracing::warn!(error = %e, "playlist refused: skipping it");
                    self.flow_event(now, id, FlowEvent::PlaybackFinished);
                }
            }
            Action::StopPlayback => {
                let _ = self.pacer.stop(now, key);
            }
            Action::Verify(entered) => {
                let Some(otp) = call.otp else {
                    self.flow_event(
                        now,
                        id,
                        FlowEvent::VerifyResult {
                            valid: false,
                            attempts_remaining: 0,
                            exhausted: true,
                        },
                    );
                    return;
                };
                let wall = self.wall(now);
                let event =
                    match self
                        .store
                        .verify(&otp, entered.expose(), wall, VerifySource::Call)
                    {
                        Ok(outcome) => FlowEvent::VerifyResult {
                            valid: outcome.valid,
                            attempts_remaining: outcome.attempts_remaining,
                            exhausted: !outcome.valid
                                && (outcome.attempts_remaining == 0
                                    || outcome.status == Status::Failed),
                        },
                        Err(e) => {
                            tracing::info!(%otp, error = %e, "verification refused");
                            let closed = matches!(
                                e,
                                voxpin_otp::VerifyError::Closed { .. }
                                    | voxpin_otp::VerifyError::NotFound
                            );
                            FlowEvent::VerifyResult {
                                valid: false,
                                attempts_remaining: 0,
                                exhausted: closed,
                            }
                        }
                    };
                if let Some(call) = self.calls.get_mut(&id) {
                    call.attempts += 1;
                    if let FlowEvent::VerifyResult {
                        valid, exhausted, ..
                    } = event
                    {
                        if valid {
                            call.outcome = Outcome::Verified;
                        } else if exhausted {
                            call.outcome = Outcome::Failed;
                        }
                    }
                }
                if let (FlowEvent::VerifyResult { valid: true, .. }, Some(url)) = (
                    event,
                    self.calls.get(&id).and_then(|c| c.status_callback.clone()),
                ) {
                    self.status_callback(now, &otp, Status::Verified, Some(url));
                }
                self.flow_event(now, id, event);
            }
            Action::SendSms => {
                if let Some(call) = self.calls.get_mut(&id) {
                    call.sms_after_call = true;
                }
            }
            Action::Hangup => self.hangup(now, id),
            Action::Record(record) => self.flow_record(now, id, record.state.as_str(), record.kind),
        }
    }

    /// The media playlist for a flow's items; `None` when nothing can play.
    fn playlist(
        &mut self,
        now: Instant,
        id: CallId,
        items: &[voxpin_ivr::PlayItem],
    ) -> Option<Playlist> {
        let call = self.calls.get(&id)?;
        let language = Language::new(&call.language)
            .or_else(|_| Language::new(&self.config.default_language))
            .ok()?;
        let mut playlist = Playlist::new(language);
        let mut tag = 0u32;
        for item in items {
            tag += 1;
            let media_item = match item {
                voxpin_ivr::PlayItem::Prompt(name) => PlayItem::Prompt(name.as_str().to_owned()),
                voxpin_ivr::PlayItem::Silence(d) => PlayItem::Silence(*d),
                voxpin_ivr::PlayItem::Code(pacing) => {
                    // Fetched now, for this OTP only: the OTP was found for
                    // this caller's number (inbound) or dialled to it (outbound).
                    let otp = call.otp?;
                    let code = self
                        .store
                        .code_for_delivery(&otp, self.wall(now))
                        .ok()
                        .flatten()?;
                    let digits = CodeDigits::new(code.expose()).ok()?;
                    PlayItem::Code {
                        digits,
                        pacing: media_pacing(pacing),
                    }
                }
            };
            playlist.push(ItemTag(tag), media_item);
        }
        (!playlist.items().is_empty()).then_some(playlist)
    }

    /// Writes a flow record into the OTP's session record.
    fn flow_record(&mut self, now: Instant, id: CallId, state: &str, kind: RecordKind) {
        let Some(call) = self.calls.get_mut(&id) else {
            return;
        };
        let Some(otp) = call.otp else {
            return;
        };
        let event = match kind {
            RecordKind::Keypress {
                key: ShownKey::Key(k),
            } => EventKind::Keypress(Keypress::menu(k, state)),
            RecordKind::Keypress {
                key: ShownKey::Masked,
            } => EventKind::Keypress(Keypress::masked(state)),
            RecordKind::Played {
                prompts, completed, ..
            } => {
                if !completed {
                    return;
                }
                for p in prompts {
                    self.store_event(now, &otp, EventKind::prompt_played(p.as_str()));
                }
                return;
            }
            RecordKind::CodePlayed { count } => {
                call.repeats = count;
                let read_mode = call.session.as_ref().is_some_and(|s| s.read_mode);
                if read_mode && call.outcome == Outcome::Pending {
                    call.outcome = Outcome::Delivered;
                }
                self.store_event(now, &otp, EventKind::CodePlayed { count });
                if read_mode && count == 1 {
                    self.set_status(now, id, Status::Delivered);
                }
                return;
            }
            // Verification results are recorded by the store itself; gate
            // passes and the flow's end add nothing the record lacks.
            _ => return,
        };
        self.store_event(now, &otp, event);
    }

    /// Routes one media event to its call.
    pub(crate) fn media_event(&mut self, now: Instant, key: SessionKey, event: MediaEvent) {
        let Ok(port) = u16::try_from(key.0) else {
            return;
        };
        let Some(&id) = self.by_port.get(&RtpPort(port)) else {
            return;
        };
        match event {
            MediaEvent::PlaylistFinished => self.flow_event(now, id, FlowEvent::PlaybackFinished),
            MediaEvent::Digit { digit, source, .. } => {
                match source {
                    voxpin_media::DigitSource::InBand => self.counters.dtmf_inband += 1,
                    _ => self.counters.dtmf_rfc4733 += 1,
                }
                self.flow_event(now, id, FlowEvent::Digit(digit))
            }
            MediaEvent::Inactive => {
                tracing::info!("no RTP from the far end: hanging up");
                self.hangup(now, id);
            }
            _ => {}
        }
    }

    /// A SIP INFO digit.
    pub(crate) fn info_digit(&mut self, now: Instant, id: CallId, digit: char) {
        let Some(call) = self.calls.get(&id) else {
            return;
        };
        if call.phase == Phase::Answered && matches!(call.dtmf, DtmfMode::Info | DtmfMode::Auto) {
            self.counters.dtmf_info += 1;
            self.flow_event(now, id, FlowEvent::Digit(digit));
        }
    }

    /// Ends a call's media and tells its flow the far end is gone.
    pub(crate) fn end_session(&mut self, now: Instant, id: CallId) {
        let Some(call) = self.calls.get(&id) else {
            return;
        };
        let key = media_key(call.port);
        self.pacer.remove(key);
        let finished = call.session.as_ref().is_none_or(|s| s.flow.is_finished());
        if !finished {
            self.flow_event(now, id, FlowEvent::HungUp);
        }
    }
}
