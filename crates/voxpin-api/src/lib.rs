//! voxpin's HTTP API (axum).

pub mod auth;
pub mod metric_names;

pub use auth::{ApiKey, ApiKeyError, KeyId, KeySet};
