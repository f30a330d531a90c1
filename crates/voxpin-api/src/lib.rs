//! voxpin api.
