//! The engine's use of the OTP store: lookups, status changes (with their
//! status callbacks), session events and SMS. Store errors never stop a call;
//! they are logged and the call goes on.

use std::time::Instant;

use voxpin_otp::{Application, EventKind, Otp, OtpId, PhoneNumber, SmsResult, Status};
use voxpin_sip::CallId;

use crate::call::Call;
use crate::engine::Engine;
use crate::io::{Output, SmsRequest, StatusCallback};

impl Engine {
    pub(crate) fn store_get(&self, id: &OtpId) -> Option<Otp> {
        match self.store.get(id) {
            Ok(otp) => otp,
            Err(e) => {
                tracing::error!(otp = %id, error = %e, "OTP store lookup failed");
                None
            }
        }
    }

    /// The live OTP `application` issued to `caller`, if any.
    pub(crate) fn store_find_live(
        &self,
        application: &str,
        caller: &str,
        wall: std::time::SystemTime,
    ) -> Option<Otp> {
        let app = Application::new(application).ok()?;
        let number = PhoneNumber::new(caller).ok()?;
        match self.store.find_live(&app, &number, wall) {
            Ok(otp) => otp,
            Err(e) => {
                tracing::error!(error = %e, "OTP store lookup failed");
                None
            }
        }
    }

    pub(crate) fn store_event(&self, now: Instant, otp: &OtpId, kind: EventKind) {
        if let Err(e) = self.store.record_event(otp, self.wall(now), kind) {
            tracing::warn!(%otp, error = %e, "session event not recorded");
        }
    }

    /// Moves the OTP of call `id` to `status`.
    pub(crate) fn set_status(&mut self, now: Instant, id: CallId, status: Status) {
        let Some(call) = self.calls.get(&id) else {
            return;
        };
        let (Some(otp), url) = (call.otp, call.status_callback.clone()) else {
            return;
        };
        self.set_otp_status(now, &otp, status, url.as_deref());
    }

    /// Moves `otp` to `status` and queues its status callback.
    pub(crate) fn set_otp_status(
        &mut self,
        now: Instant,
        otp: &OtpId,
        status: Status,
        url: Option<&str>,
    ) {
        let wall = self.wall(now);
        if let Err(e) = self.store.set_status(otp, wall, status) {
            tracing::debug!(%otp, %status, error = %e, "status not changed");
            return;
        }
        self.status_callback(now, otp, status, url.map(str::to_owned));
    }

    /// Queues a status callback for the OTP's current state.
    /// `url` is looked up in the store when not given.
    pub(crate) fn status_callback(
        &mut self,
        now: Instant,
        otp: &OtpId,
        status: Status,
        url: Option<String>,
    ) {
        let Some(url) = url.or_else(|| self.store_get(otp).and_then(|o| o.status_callback)) else {
            return;
        };
        let wall = self.wall(now);
        let data = match self.store_get(otp) {
            Some(o) => serde_json::json!({
                "id": o.id,
                "application": o.application,
                "to": o.to,
                "mode": o.mode,
                "status": status,
                "attempts_remaining": o.attempts_remaining(),
                "created_at": crate::record::wall_to_datetime(o.created_at).format(&time::format_description::well_known::Rfc3339).ok(),
                "expires_at": crate::record::wall_to_datetime(o.expires_at).format(&time::format_description::well_known::Rfc3339).ok(),
            }),
            None => serde_json::json!({ "id": otp, "status": status }),
        };
        self.outputs
            .push_back(Output::StatusCallback(StatusCallback {
                url,
                otp: *otp,
                status: status.as_str().to_owned(),
                at: wall,
                body: data,
            }));
    }

    /// Queues the SMS after `call`; `false` when there is no code left to send.
    pub(crate) fn queue_sms(&mut self, now: Instant, otp: &OtpId, call: &Call) -> bool {
        let wall = self.wall(now);
        let code = match self.store.code_for_delivery(otp, wall) {
            Ok(Some(code)) => code,
            Ok(None) => return false,
            Err(e) => {
                tracing::warn!(%otp, error = %e, "code lookup for SMS failed");
                return false;
            }
        };
        let template = call
            .application
            .as_deref()
            .and_then(|a| self.dialplans.by_name(a))
            .filter(|p| p.sms().enabled)
            .map(|p| p.sms().template.as_str().to_owned());
        let Some(to) = self.store_get(otp).map(|o| o.to.as_str().to_owned()) else {
            return false;
        };
        self.outputs.push_back(Output::SendSms(SmsRequest {
            otp: *otp,
            application: call.application.clone().unwrap_or_default(),
            to,
            code: zeroize::Zeroizing::new(code.expose().to_owned()),
            template,
        }));
        true
    }

    /// Writes the SMS result into the session record.
    pub(crate) fn record_sms_result(
        &mut self,
        now: Instant,
        otp: &OtpId,
        sent: bool,
        detail: &str,
    ) {
        let result = if sent {
            SmsResult::Sent
        } else {
            SmsResult::Failed {
                reason: detail.to_owned(),
            }
        };
        self.store_event(now, otp, EventKind::Sms { result });
    }
}
