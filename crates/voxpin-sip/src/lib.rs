//! voxpin sip.

pub mod transaction;
