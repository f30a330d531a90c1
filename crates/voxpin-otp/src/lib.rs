//! voxpin otp.
