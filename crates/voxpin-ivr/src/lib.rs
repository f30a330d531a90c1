//! voxpin ivr.
