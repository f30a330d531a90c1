//! voxpin engine.
