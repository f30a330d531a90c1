//! voxpin sip.

pub mod auth;
pub mod call;
pub mod dialog;
pub mod endpoint;
pub mod info;
pub mod msg;
pub mod register;
pub mod sdp;
pub mod transaction;

pub use call::HangupCause;
pub use endpoint::{
    CallId, Endpoint, EndpointConfig, Event, OutboundCall, Side, Transmit, Transport,
};
pub use register::{Registration, RegistrationId, RegistrationState};
pub use transaction::TimerConfig;
