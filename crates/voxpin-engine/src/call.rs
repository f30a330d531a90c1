//! One call's state: its SIP side, its RTP port, and (once answered) its media
//! session and IVR flow.

use std::time::{Instant, SystemTime};

use uuid::Uuid;
use voxpin_otp::OtpId;
use voxpin_sip::sdp::{Negotiated, SessionDescription};

use crate::ports::RtpPort;
use crate::record::{CallRecord, Direction, Disposition, HungUpBy};
use crate::trunk::{DtmfMode, TrunkName};

/// Where a call is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Phase {
    /// Outbound INVITE sent, no provisional response yet; or inbound, not yet answered.
    Setup,
    /// 180/183 seen (outbound).
    Ringing,
    /// 2xx sent or received: media and flow run.
    Answered,
    /// We asked the endpoint to hang up; waiting for `Ended`.
    Ending,
}

/// What the call achieved, for the record and the OTP status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Outcome {
    /// Nothing decisive yet.
    Pending,
    /// The code was played in full at least once.
    Delivered,
    /// The person entered the right code.
    Verified,
    /// Attempts were exhausted.
    Failed,
    /// A caller with no live OTP heard "invalid request".
    InvalidRequest,
}

impl Outcome {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Outcome::Pending => "answered",
            Outcome::Delivered => "delivered",
            Outcome::Verified => "verified",
            Outcome::Failed => "failed",
            Outcome::InvalidRequest => "invalid_request",
        }
    }
}

/// One live call.
#[derive(Debug)]
pub(crate) struct Call {
    pub uuid: Uuid,
    pub direction: Direction,
    pub trunk: Option<TrunkName>,
    pub dtmf: DtmfMode,
    pub otp: Option<OtpId>,
    pub application: Option<String>,
    pub language: String,
    pub caller: String,
    pub callee: String,
    pub port: RtpPort,
    /// The SDP we offered (outbound), to match the answer against.
    pub offer: Option<SessionDescription>,
    pub negotiated: Option<Negotiated>,
    pub phase: Phase,
    pub started: Instant,
    pub started_wall: SystemTime,
    pub answered: Option<Instant>,
    pub sip_call_id: Option<String>,
    pub outcome: Outcome,
    /// Verification attempts during this call.
    pub attempts: u32,
    /// Full plays of the code during this call.
    pub repeats: u32,
    /// Whether we (not the far end) ended the call.
    pub hangup_local: bool,
    /// Whether an SMS goes out once the call ended.
    pub sms_after_call: bool,
    /// The status-callback URL of the OTP.
    pub status_callback: Option<String>,
    /// The deadline currently registered in the engine's timer set.
    pub armed: Option<Instant>,
    /// Media and flow, present once answered.
    pub session: Option<crate::session::Session>,
}

impl Call {
    /// The flow's next deadline.
    pub(crate) fn poll_timeout(&self) -> Option<Instant> {
        self.session.as_ref().and_then(|s| s.flow.poll_timeout())
    }

    /// Builds the call's record at its end.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn record(
        &self,
        end: Instant,
        end_wall: SystemTime,
        cause: voxpin_sip::HangupCause,
        status: Option<u16>,
        by: Option<HungUpBy>,
        disposition: Disposition,
        result: &str,
    ) -> CallRecord {
        use crate::record::{seconds, wall_to_datetime};
        let duration = end.saturating_duration_since(self.started);
        let billsec = self
            .answered
            .map(|a| end.saturating_duration_since(a))
            .unwrap_or_default();
        let answer_wall = self
            .answered
            .map(|a| self.started_wall + a.saturating_duration_since(self.started));
        CallRecord {
            uuid: self.uuid,
            sip_call_id: self.sip_call_id.clone(),
            direction: self.direction,
            trunk: self.trunk.as_ref().map(|t| t.0.clone()),
            application: self.application.clone(),
            caller: self.caller.clone(),
            callee: self.callee.clone(),
            start: wall_to_datetime(self.started_wall),
            answer: answer_wall.map(wall_to_datetime),
            end: wall_to_datetime(end_wall),
            duration: seconds(duration),
            billsec: seconds(billsec),
            disposition,
            hangup_cause: cause.as_str().to_owned(),
            q850: cause.q850(),
            sip_status: status,
            hungup_by: by,
            codec: self
                .negotiated
                .as_ref()
                .map(|n| n.codec.encoding_name().to_owned()),
            otp_id: self.otp.as_ref().map(|o| o.to_string()),
            result: result.to_owned(),
            attempts: self.attempts,
            repeats: self.repeats,
            sms_result: None,
        }
    }
}
