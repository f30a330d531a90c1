//! voxpin sip.

pub mod auth;
pub mod msg;
pub mod sdp;
