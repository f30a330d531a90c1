//! `GET /v1/otp` (a page of OTPs) and `GET /v1/usage` (counts).
//!
//! Query parameters are parsed strictly: an unknown, repeated or malformed
//! parameter is a 400 `invalid_query` naming it.

use std::collections::BTreeMap;
use std::time::SystemTime;

use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Serialize;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;
use voxpin_otp::{
    Application, Cursor, Granularity, ListError, ListFilter, PageRequest, PhoneNumber, Status,
    UsageFilter, UsageRow,
};

use crate::error::ApiError;
use crate::handlers::OtpBody;
use crate::state::ApiState;

type RawQuery = Result<Query<Vec<(String, String)>>, QueryRejection>;

/// Query parameters, each at most once, only from `allowed`.
fn params(raw: RawQuery, allowed: &[&str]) -> Result<BTreeMap<String, String>, ApiError> {
    let Query(pairs) = raw.map_err(|e| ApiError::invalid_query(e.body_text()))?;
    let mut map = BTreeMap::new();
    for (name, value) in pairs {
        if !allowed.contains(&name.as_str()) {
            return Err(ApiError::invalid_query(format!(
                "unknown parameter `{name}` (allowed: {})",
                allowed.join(", ")
            )));
        }
        if map.insert(name.clone(), value).is_some() {
            return Err(ApiError::invalid_query(format!(
                "parameter `{name}` is given more than once"
            )));
        }
    }
    Ok(map)
}

fn time_param(map: &BTreeMap<String, String>, name: &str) -> Result<Option<SystemTime>, ApiError> {
    map.get(name)
        .map(|v| {
            OffsetDateTime::parse(v, &Rfc3339)
                .map(SystemTime::from)
                .map_err(|_| {
                    ApiError::invalid_query(format!(
                        "`{name}` must be an RFC 3339 time such as 2026-11-22T00:00:00Z"
                    ))
                })
        })
        .transpose()
}

fn application_param(map: &BTreeMap<String, String>) -> Result<Option<Application>, ApiError> {
    map.get("application")
        .map(|v| {
            Application::new(v).map_err(|e| ApiError::invalid_query(format!("`application`: {e}")))
        })
        .transpose()
}

/// One page of the listing.
#[derive(Debug, Serialize)]
struct PageBody<'a> {
    items: Vec<OtpBody<'a>>,
    next_cursor: Option<&'a Cursor>,
}

/// `GET /v1/otp?application=&to=&status=&since=&until=&limit=&cursor=`.
pub(crate) async fn list(
    State(state): State<ApiState>,
    raw: RawQuery,
) -> Result<Response, ApiError> {
    let map = params(
        raw,
        &[
            "application",
            "to",
            "status",
            "since",
            "until",
            "limit",
            "cursor",
        ],
    )?;
    let filter = ListFilter {
        application: application_param(&map)?,
        to: map
            .get("to")
            .map(|v| {
                // An unencoded `+` arrives as a space: take it as the `+` it was.
                let v = match v.strip_prefix(' ') {
                    Some(rest) => format!("+{rest}"),
                    None => v.clone(),
                };
                PhoneNumber::new(&v).map_err(|e| ApiError::invalid_query(format!("`to`: {e}")))
            })
            .transpose()?,
        status: map
            .get("status")
            .map(|v| {
                v.parse::<Status>().map_err(|_| {
                    ApiError::invalid_query(format!(
                        "`status`: unknown status `{v}` (one of: {})",
                        Status::ALL.map(Status::as_str).join(", ")
                    ))
                })
            })
            .transpose()?,
        since: time_param(&map, "since")?,
        until: time_param(&map, "until")?,
    };
    let limit = map
        .get("limit")
        .map(|v| match v.parse::<usize>() {
            Ok(n) if (1..=PageRequest::MAX_LIMIT).contains(&n) => Ok(n),
            _ => Err(ApiError::invalid_query(format!(
                "`limit` must be a whole number from 1 to {}",
                PageRequest::MAX_LIMIT
            ))),
        })
        .transpose()?;
    let cursor = map
        .get("cursor")
        .map(|v| {
            v.parse::<Cursor>().map_err(|_| {
                ApiError::invalid_query("`cursor` is not a cursor returned by this API")
            })
        })
        .transpose()?;
    let page = state
        .inner
        .store
        .list(&filter, &PageRequest { limit, cursor })
        .map_err(|e| match e {
            ListError::BadCursor => {
                ApiError::invalid_query("`cursor` is not a cursor returned by this API")
            }
            other => ApiError::store(&other),
        })?;
    let body = PageBody {
        items: page.items.iter().map(OtpBody::new).collect(),
        next_cursor: page.next_cursor.as_ref(),
    };
    Ok(Json(body).into_response())
}

/// The usage report.
#[derive(Debug, Serialize)]
struct UsageBody {
    granularity: Granularity,
    rows: Vec<UsageRow>,
}

/// `GET /v1/usage?granularity=day|month|year&application=&since=&until=`.
pub(crate) async fn usage(
    State(state): State<ApiState>,
    raw: RawQuery,
) -> Result<Response, ApiError> {
    let map = params(raw, &["granularity", "application", "since", "until"])?;
    let granularity = match map.get("granularity").map(String::as_str) {
        None | Some("day") => Granularity::Day,
        Some("month") => Granularity::Month,
        Some("year") => Granularity::Year,
        Some(other) => {
            return Err(ApiError::invalid_query(format!(
                "`granularity` must be day, month or year (not `{other}`)"
            )))
        }
    };
    let filter = UsageFilter {
        application: application_param(&map)?,
        since: time_param(&map, "since")?,
        until: time_param(&map, "until")?,
    };
    let rows = state
        .inner
        .store
        .usage(granularity, &filter)
        .map_err(|e| ApiError::store(&e))?;
    Ok(Json(UsageBody { granularity, rows }).into_response())
}
