//! Listing pages through OTPs newest first with an opaque cursor, filtered
//! by application, number, status and creation time.

mod common;

use std::collections::HashSet;

use common::*;
use voxpin_otp::{Cursor, ListError, ListFilter, OtpId, OtpStore, PageRequest, Status};

/// 45 OTPs: one a second, alternating two numbers; every fifth canceled.
fn filled() -> (voxpin_otp::MemoryStore, Vec<OtpId>) {
    let store = store();
    let mut ids = Vec::new();
    for i in 0..45u64 {
        let to = if i % 2 == 0 {
            "+14155550100"
        } else {
            "+447911123456"
        };
        let view = store.create(t(i), manual(to, "123456")).unwrap();
        if i % 5 == 0 {
            store.cancel(&view.id, t(i)).unwrap();
        }
        ids.push(view.id);
    }
    (store, ids)
}

fn all_pages(
    store: &voxpin_otp::MemoryStore,
    filter: &ListFilter,
    limit: usize,
) -> Vec<Vec<OtpId>> {
    let mut pages = Vec::new();
    let mut cursor = None;
    loop {
        let page = store
            .list(
                filter,
                &PageRequest {
                    limit: Some(limit),
                    cursor,
                },
            )
            .unwrap();
        pages.push(page.items.iter().map(|o| o.id).collect());
        // Cursors survive a trip through text (a URL query).
        cursor = match page.next_cursor {
            Some(c) => Some(c.to_string().parse::<Cursor>().unwrap()),
            None => break,
        };
        assert!(pages.len() < 100, "paging does not end");
    }
    pages
}

#[test]
fn pages_cover_everything_once_newest_first() {
    let (store, ids) = filled();
    let pages = all_pages(&store, &ListFilter::default(), 20);
    assert_eq!(
        pages.iter().map(Vec::len).collect::<Vec<_>>(),
        vec![20, 20, 5]
    );
    let flat: Vec<OtpId> = pages.concat();
    let newest_first: Vec<OtpId> = ids.iter().rev().copied().collect();
    assert_eq!(flat, newest_first);
}

#[test]
fn an_exact_multiple_of_the_page_size_ends_without_an_empty_page() {
    let (store, _) = filled();
    let pages = all_pages(&store, &ListFilter::default(), 15);
    assert_eq!(
        pages.iter().map(Vec::len).collect::<Vec<_>>(),
        vec![15, 15, 15]
    );
}

#[test]
fn filters_combine() {
    let (store, ids) = filled();
    let filter = ListFilter {
        to: Some(phone("+447911123456")),
        status: Some(Status::Queued),
        since: Some(t(10)),
        until: Some(t(30)),
        ..ListFilter::default()
    };
    let got: Vec<OtpId> = all_pages(&store, &filter, 3).concat();
    let want: Vec<OtpId> = (10..30u64)
        .rev()
        .filter(|i| i % 2 == 1 && i % 5 != 0)
        .map(|i| ids[i as usize])
        .collect();
    assert_eq!(got, want);
    assert_eq!(want.len(), 8);

    let canceled = ListFilter {
        status: Some(Status::Canceled),
        ..ListFilter::default()
    };
    assert_eq!(all_pages(&store, &canceled, 100).concat().len(), 9);
    let other_app = ListFilter {
        application: Some(app("signup")),
        ..ListFilter::default()
    };
    assert_eq!(
        all_pages(&store, &other_app, 100).concat(),
        Vec::<OtpId>::new()
    );
}

#[test]
fn page_sizes_are_clamped() {
    let (store, _) = filled();
    let default = store
        .list(&ListFilter::default(), &PageRequest::default())
        .unwrap();
    assert_eq!(default.items.len(), 20);
    let zero = PageRequest {
        limit: Some(0),
        cursor: None,
    };
    assert_eq!(
        store
            .list(&ListFilter::default(), &zero)
            .unwrap()
            .items
            .len(),
        1
    );
    let all: HashSet<OtpId> = all_pages(&store, &ListFilter::default(), 1_000_000)
        .concat()
        .into_iter()
        .collect();
    assert_eq!(all.len(), 45);
}

#[test]
fn bad_cursors_are_refused() {
    for text in [
        "",
        "abc",
        "zz.00000000000000000000000000000000",
        "1.not-a-uuid",
        "1",
    ] {
        assert!(
            matches!(text.parse::<Cursor>(), Err(ListError::BadCursor)),
            "{text:?}"
        );
    }
}
