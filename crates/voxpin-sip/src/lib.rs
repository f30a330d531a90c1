//! voxpin sip.

pub mod transaction;
pub mod info;
