//! `GET /v1/otp` pages through OTPs newest first with filters and a cursor;
//! `GET /v1/usage` counts them by period, status and country code.

mod support;

use std::collections::BTreeSet;
use std::time::Duration;

use support::*;

async fn create(h: &Harness, to: &str) -> String {
    let body = format!(r#"{{"application":"login","to":"{to}"}}"#);
    let r = h.send("POST", "/v1/otp", &body).await;
    assert_eq!(r.status, 201, "{}", r.text);
    h.clock.advance(Duration::from_secs(1));
    r.id()
}

#[tokio::test]
async fn pages_cover_everything_once() {
    let h = Harness::new();
    let mut made = Vec::new();
    for n in 0..7 {
        made.push(create(&h, &format!("+1415555010{n}")).await);
    }
    let mut seen = Vec::new();
    let mut uri = "/v1/otp?limit=3".to_owned();
    loop {
        let page = h.send("GET", &uri, "").await;
        assert_eq!(page.status, 200, "{}", page.text);
        let items = page.json["items"].as_array().unwrap();
        assert!(items.len() <= 3);
        seen.extend(items.iter().map(|i| i["id"].as_str().unwrap().to_owned()));
        match page.json["next_cursor"].as_str() {
            Some(cursor) => uri = format!("/v1/otp?limit=3&cursor={cursor}"),
            None => break,
        }
    }
    made.reverse();
    assert_eq!(seen, made, "newest first, each once");
}

#[tokio::test]
async fn filters_apply() {
    let h = Harness::new();
    let a = create(&h, "+14155550100").await;
    create(&h, "+442071838750").await;
    let by_to = h.send("GET", "/v1/otp?to=%2B14155550100", "").await;
    let ids: Vec<_> = by_to.json["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["id"].clone())
        .collect();
    assert_eq!(ids, vec![serde_json::Value::from(a.clone())]);
    let unencoded = h.send("GET", "/v1/otp?to=+14155550100", "").await;
    assert_eq!(
        unencoded.json["items"].as_array().unwrap().len(),
        1,
        "{}",
        unencoded.text
    );
    let since = h
        .send("GET", "/v1/otp?since=2027-01-15T08:00:01Z", "")
        .await;
    assert_eq!(since.json["items"].as_array().unwrap().len(), 1);
    h.send("DELETE", &format!("/v1/otp/{a}"), "").await;
    let canceled = h.send("GET", "/v1/otp?status=canceled", "").await;
    assert_eq!(canceled.json["items"][0]["id"], a.as_str());
    assert_eq!(canceled.json["items"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn usage_counts_by_status_and_country() {
    let h = Harness::new();
    let a = create(&h, "+14155550100").await;
    create(&h, "+14155550101").await;
    create(&h, "+442071838750").await;
    h.send("DELETE", &format!("/v1/otp/{a}"), "").await;
    let usage = h
        .send("GET", "/v1/usage?granularity=month&application=login", "")
        .await;
    assert_eq!(usage.status, 200, "{}", usage.text);
    assert_eq!(usage.json["granularity"], "month");
    let rows = usage.json["rows"].as_array().unwrap();
    assert_eq!(rows.len(), 1, "{}", usage.text);
    let row = &rows[0];
    assert_eq!(row["period"], "2027-01");
    assert_eq!(row["total"], 3);
    assert_eq!(row["by_status"]["canceled"], 1);
    assert_eq!(row["by_status"]["queued"], 2);
    let countries: BTreeSet<_> = row["by_country"]
        .as_object()
        .unwrap()
        .keys()
        .cloned()
        .collect();
    assert_eq!(countries, BTreeSet::from(["1".to_owned(), "44".to_owned()]));
    assert_eq!(row["by_country"]["1"], 2);
    let none = h
        .send("GET", "/v1/usage?since=2028-01-01T00:00:00Z", "")
        .await;
    assert_eq!(none.json["rows"].as_array().unwrap().len(), 0);
}
