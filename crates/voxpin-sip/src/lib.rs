//! voxpin sip.

pub mod msg;
