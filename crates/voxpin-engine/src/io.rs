//! What goes into the engine besides datagrams ([`Command`]) and everything
//! that comes out of it ([`Output`]).

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Instant, SystemTime};

use voxpin_ivr::DialplanSet;
use voxpin_media::PACKET_LEN;
use voxpin_otp::OtpId;

use crate::ports::RtpPort;
use crate::record::CallRecord;

/// A request from the API or the binary.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum Command {
    /// Call the phone number of this OTP (already created in the store).
    Dial {
        /// The OTP to deliver.
        otp: OtpId,
    },
    /// Stop delivering this OTP: a queued dial is dropped, a live call hung up.
    Hangup {
        /// The OTP whose call ends.
        otp: OtpId,
    },
    /// The API changed an OTP's status (verified, failed, canceled through
    /// `/verify` or `DELETE`): send its status callback.
    StatusChanged {
        /// The OTP.
        otp: OtpId,
        /// Its new status.
        status: voxpin_otp::Status,
    },
    /// Use this dialplan set for calls that start from now on.
    ReloadDialplans(Arc<DialplanSet>),
    /// Stop taking new calls (503 to callers, queued dials dropped); live
    /// calls may run until `deadline`, then they are hung up.
    Drain {
        /// When the last live calls are hung up.
        deadline: Instant,
    },
}

/// One RTP packet to send from a call's port (held inline: no allocation
/// per packet).
#[derive(Clone, Copy)]
pub struct RtpTransmit {
    /// The local port (socket) to send from.
    pub port: RtpPort,
    /// The far end's RTP address.
    pub destination: SocketAddr,
    /// The packet's send slot. The IO loop measures lateness against it at
    /// the moment it hands the packet to the kernel.
    pub deadline: Instant,
    buf: [u8; PACKET_LEN],
    len: usize,
}

impl RtpTransmit {
    pub(crate) fn new(
        port: RtpPort,
        destination: SocketAddr,
        packet: &[u8],
        deadline: Instant,
    ) -> Self {
        let mut buf = [0u8; PACKET_LEN];
        let len = packet.len().min(PACKET_LEN);
        buf[..len].copy_from_slice(&packet[..len]);
        Self {
            port,
            destination,
            deadline,
            buf,
            len,
        }
    }

    /// The whole RTP packet.
    pub fn payload(&self) -> &[u8] {
        self.buf.get(..self.len).unwrap_or_default()
    }
}

impl std::fmt::Debug for RtpTransmit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RtpTransmit")
            .field("port", &self.port)
            .field("destination", &self.destination)
            .field("len", &self.len)
            .finish()
    }
}

/// An SMS to send after a call (the text holds the code: never log it).
#[derive(Clone, PartialEq, Eq)]
pub struct SmsRequest {
    /// The OTP it belongs to; report the result with
    /// [`Engine::handle_sms_result`](crate::Engine::handle_sms_result).
    pub otp: OtpId,
    /// The OTP's application.
    pub application: String,
    /// Destination number (E.164).
    pub to: String,
    /// The code (the SMS driver renders its text template with it); wiped on drop.
    pub code: zeroize::Zeroizing<String>,
    /// The application's own text template, if its dialplan has one
    /// (`{code}` marks where the code goes); `None` uses the driver's.
    pub template: Option<String>,
}

impl std::fmt::Debug for SmsRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SmsRequest")
            .field("otp", &self.otp)
            .field("application", &self.application)
            .field("to", &self.to)
            .field("code", &"<redacted>")
            .finish_non_exhaustive()
    }
}

/// A status change to report to the application's `status_callback` URL.
#[derive(Debug, Clone, PartialEq)]
pub struct StatusCallback {
    /// Where to POST it.
    pub url: String,
    /// The OTP.
    pub otp: OtpId,
    /// The new status (`calling`, `ringing`, `delivered`, ...).
    pub status: String,
    /// When it changed.
    pub at: SystemTime,
    /// The JSON body to sign and send (`{"type": "otp.status", "data": {...}}`).
    pub body: serde_json::Value,
}

/// Everything the engine asks its driver to do.
#[derive(Debug)]
#[non_exhaustive]
pub enum Output {
    /// Send a SIP message.
    SipTransmit(voxpin_sip::Transmit),
    /// Send an RTP packet.
    RtpTransmit(RtpTransmit),
    /// Bind a UDP socket on this RTP port and feed what arrives to
    /// [`Engine::handle_rtp`](crate::Engine::handle_rtp).
    OpenRtpPort(RtpPort),
    /// Close the socket of this RTP port.
    CloseRtpPort(RtpPort),
    /// Send an SMS, then report with [`Engine::handle_sms_result`](crate::Engine::handle_sms_result).
    SendSms(SmsRequest),
    /// Send a status callback (signing and retries are the driver's).
    StatusCallback(StatusCallback),
    /// Write a finished call's record.
    CallRecord(CallRecord),
    /// Nothing more to do now: call [`Engine::handle_timeout`](crate::Engine::handle_timeout)
    /// at this instant unless input arrives first.
    Timeout(Instant),
}
