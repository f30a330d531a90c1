//! voxpin sip.
