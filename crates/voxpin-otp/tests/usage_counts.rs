//! Usage: OTPs created per UTC day, month or year and per application,
//! counted by status and by the country code of the number called.

mod common;

use std::time::Duration;

use common::*;
use voxpin_otp::{Granularity, OtpStore, Status, UsageFilter, VerifySource};

const DAY: u64 = 24 * 60 * 60;

fn filled() -> voxpin_otp::MemoryStore {
    let store = store();
    // Day 0: two UK, one US (verified); day 1: one US; day 40 (2027-01-01): one DE.
    store
        .create(t(10), manual("+447911123456", "123456"))
        .unwrap();
    store
        .create(t(20), manual("+447911123457", "123456"))
        .unwrap();
    let us = store
        .create(t(30), manual("+14155550100", "123456"))
        .unwrap();
    store
        .verify(&us.id, "123456", t(31), VerifySource::Api)
        .unwrap();
    store
        .create(t(DAY + 5), manual("+14155550101", "123456"))
        .unwrap();
    let mut de = manual("+4915112345678", "123456");
    de.application = app("signup");
    store.create(t(40 * DAY), de).unwrap();
    store
}

#[test]
fn by_day() {
    let store = filled();
    let rows = store
        .usage(Granularity::Day, &UsageFilter::default())
        .unwrap();
    let summary: Vec<(&str, &str, u64)> = rows
        .iter()
        .map(|r| (r.period.as_str(), r.application.as_str(), r.total))
        .collect();
    assert_eq!(
        summary,
        vec![
            ("2026-11-22", "login", 3),
            ("2026-11-23", "login", 1),
            ("2027-01-01", "signup", 1),
        ]
    );
    let first = &rows[0];
    assert_eq!(first.by_status.get(&Status::Queued), Some(&2));
    assert_eq!(first.by_status.get(&Status::Verified), Some(&1));
    let countries: Vec<(u16, u64)> = first
        .by_country
        .iter()
        .map(|(c, n)| (c.value(), *n))
        .collect();
    assert_eq!(countries, vec![(1, 1), (44, 2)]);
}

#[test]
fn by_month_and_year_with_filters() {
    let store = filled();
    let months = store
        .usage(Granularity::Month, &UsageFilter::default())
        .unwrap();
    assert_eq!(
        months
            .iter()
            .map(|r| (r.period.as_str(), r.total))
            .collect::<Vec<_>>(),
        vec![("2026-11", 4), ("2027-01", 1)]
    );
    let login_2026 = UsageFilter {
        application: Some(app("login")),
        since: Some(t(0)),
        until: Some(t(DAY)),
    };
    let years = store.usage(Granularity::Year, &login_2026).unwrap();
    assert_eq!(years.len(), 1);
    assert_eq!(years[0].period, "2026");
    assert_eq!(years[0].total, 3);
    let json = serde_json::to_value(&years[0]).unwrap();
    assert_eq!(json["by_country"]["44"], 2);
    assert_eq!(json["by_status"]["verified"], 1);
}

#[test]
fn forgotten_records_still_count_by_day() {
    let store = store_with_retention(Duration::from_secs(60));
    store
        .create(t(10), manual("+447911123456", "123456"))
        .unwrap();
    store
        .create(t(20), manual("+14155550100", "123456"))
        .unwrap();
    store.purge_expired(t(10 * 60 * 60)).unwrap();
    assert!(store.is_empty());
    let rows = store
        .usage(Granularity::Day, &UsageFilter::default())
        .unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].total, 2);
    assert_eq!(rows[0].by_status.get(&Status::Expired), Some(&2));
    let other_day = UsageFilter {
        since: Some(t(DAY)),
        ..UsageFilter::default()
    };
    assert!(store
        .usage(Granularity::Day, &other_day)
        .unwrap()
        .is_empty());
}
