//! voxpin media.
