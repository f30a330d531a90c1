//! voxpin sip.

pub mod auth;
pub mod info;
pub mod sdp;
pub mod transaction;
