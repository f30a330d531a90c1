//! voxpin sip.

pub mod auth;
pub mod sdp;
