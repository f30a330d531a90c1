//! Usage counting: tallies by status and country code, and UTC periods.

use std::collections::BTreeMap;

use crate::ids::{Application, CountryCode};
use crate::record::Status;
use crate::store::{Granularity, UsageRow};

/// Counts of OTPs by status and by country code.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Tally {
    total: u64,
    by_status: BTreeMap<Status, u64>,
    by_country: BTreeMap<CountryCode, u64>,
}

impl Tally {
    /// Counts `n` OTPs in `status` sent to `country`.
    pub(crate) fn add(&mut self, status: Status, country: CountryCode, n: u64) {
        self.total = self.total.saturating_add(n);
        let s = self.by_status.entry(status).or_default();
        *s = s.saturating_add(n);
        let c = self.by_country.entry(country).or_default();
        *c = c.saturating_add(n);
    }

    /// Adds another tally's counts.
    pub(crate) fn merge(&mut self, other: &Tally) {
        self.total = self.total.saturating_add(other.total);
        for (status, n) in &other.by_status {
            let s = self.by_status.entry(*status).or_default();
            *s = s.saturating_add(*n);
        }
        for (country, n) in &other.by_country {
            let c = self.by_country.entry(*country).or_default();
            *c = c.saturating_add(*n);
        }
    }

    /// The row for `period` and `application`.
    pub(crate) fn into_row(self, period: String, application: Application) -> UsageRow {
        UsageRow {
            period,
            application,
            total: self.total,
            by_status: self.by_status,
            by_country: self.by_country,
        }
    }
}

/// The period a UTC day falls in: `2026-11-22`, `2026-11` or `2026`.
pub(crate) fn period_of(day: time::Date, granularity: Granularity) -> String {
    let (year, month, date) = (day.year(), u8::from(day.month()), day.day());
    match granularity {
        Granularity::Day => format!("{year:04}-{month:02}-{date:02}"),
        Granularity::Month => format!("{year:04}-{month:02}"),
        Granularity::Year => format!("{year:04}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn periods() {
        let day = time::Date::from_calendar_date(2026, time::Month::March, 5).unwrap();
        assert_eq!(period_of(day, Granularity::Day), "2026-03-05");
        assert_eq!(period_of(day, Granularity::Month), "2026-03");
        assert_eq!(period_of(day, Granularity::Year), "2026");
    }
}
