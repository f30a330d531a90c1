//! Pure arithmetic of the benchmark: percentiles of samples, and quantiles of
//! the difference of two scrapes of a cumulative Prometheus histogram.

/// The `q` quantile (0.0–1.0) of `samples` by the nearest-rank method, or
/// `None` when there are none. Sorts `samples` in place.
pub fn percentile(samples: &mut [f64], q: f64) -> Option<f64> {
    if samples.is_empty() {
        return None;
    }
    samples.sort_by(f64::total_cmp);
    let rank = (q.clamp(0.0, 1.0) * samples.len() as f64).ceil() as usize;
    samples.get(rank.saturating_sub(1)).copied()
}

/// One scrape of a cumulative histogram: `(upper edge in seconds, count at
/// or below it)`, sorted by edge; `+Inf` is `f64::INFINITY`.
pub type Cumulative = Vec<(f64, u64)>;

/// The buckets of histogram `name` in a Prometheus text exposition (lines
/// `name_bucket{le="…"} count`), sorted by edge.
pub fn parse_histogram(text: &str, name: &str) -> Cumulative {
    let prefix = format!("{name}_bucket{{");
    let mut out: Cumulative = text
        .lines()
        .filter_map(|line| {
            let rest = line.strip_prefix(&prefix)?;
            let le_at = rest.find("le=\"")? + 4;
            let le_text = rest.get(le_at..)?;
            let le_end = le_text.find('"')?;
            let le = match le_text.get(..le_end)? {
                "+Inf" => f64::INFINITY,
                v => v.parse().ok()?,
            };
            let count = line.rsplit(' ').next()?.parse::<f64>().ok()?;
            Some((le, count as u64))
        })
        .collect();
    out.sort_by(|a, b| a.0.total_cmp(&b.0));
    out
}

/// A plain sample value `name{labels} v` or `name v` from an exposition,
/// summed over every label set whose labels contain `filter`.
pub fn parse_sum(text: &str, name: &str, filter: &str) -> f64 {
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .filter(|l| {
            l.strip_prefix(name)
                .is_some_and(|r| r.starts_with(' ') || r.starts_with('{'))
        })
        .filter(|l| l.contains(filter))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

/// The count at or below `edge` in a cumulative scrape (the scrape lists only
/// edges where something changed, so between edges the count is flat).
fn count_at(scrape: &[(f64, u64)], edge: f64) -> u64 {
    scrape
        .iter()
        .take_while(|(le, _)| *le <= edge)
        .last()
        .map_or(0, |(_, c)| *c)
}

/// What was recorded between scrapes `before` and `after`, as cumulative
/// counts on `after`'s edges.
pub fn difference(before: &[(f64, u64)], after: &[(f64, u64)]) -> Cumulative {
    after
        .iter()
        .map(|&(le, c)| (le, c.saturating_sub(count_at(before, le))))
        .collect()
}

/// The `q` quantile of a cumulative histogram: the upper edge of the first
/// bucket holding the target rank (`None` when empty). A rank in `+Inf`
/// yields the largest finite edge.
pub fn histogram_quantile(h: &[(f64, u64)], q: f64) -> Option<f64> {
    let total = h.iter().map(|&(_, c)| c).max()?;
    if total == 0 {
        return None;
    }
    let target = ((q.clamp(0.0, 1.0) * total as f64).ceil() as u64).max(1);
    let hit = h.iter().find(|&&(_, c)| c >= target)?;
    if hit.0.is_finite() {
        Some(hit.0)
    } else {
        h.iter().rev().find(|(le, _)| le.is_finite()).map(|e| e.0)
    }
}

/// The total count of a cumulative histogram.
pub fn histogram_count(h: &[(f64, u64)]) -> u64 {
    h.iter().map(|&(_, c)| c).max().unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_percentiles() {
        let mut v: Vec<f64> = (1..=100).map(f64::from).collect();
        v.reverse();
        assert_eq!(percentile(&mut v, 0.5), Some(50.0));
        assert_eq!(percentile(&mut v, 0.99), Some(99.0));
        assert_eq!(percentile(&mut v, 1.0), Some(100.0));
        assert_eq!(percentile(&mut v, 0.0), Some(1.0));
        assert_eq!(percentile(&mut [], 0.5), None);
    }

    #[test]
    fn histogram_difference_and_quantiles() {
        let text = "# HELP x\n\
            lat_bucket{le=\"0.00001\"} 10\n\
            lat_bucket{le=\"0.0001\"} 15\n\
            lat_bucket{le=\"+Inf\"} 15\n\
            lat_sum 1\nlat_count 15\n";
        let before = parse_histogram(text, "lat");
        assert_eq!(
            before,
            vec![(0.00001, 10), (0.0001, 15), (f64::INFINITY, 15)]
        );
        let later = "lat_bucket{le=\"0.00001\"} 12\n\
            lat_bucket{le=\"0.00005\"} 40\n\
            lat_bucket{le=\"0.0001\"} 46\n\
            lat_bucket{le=\"0.001\"} 47\n\
            lat_bucket{le=\"+Inf\"} 47\n";
        let after = parse_histogram(later, "lat");
        let d = difference(&before, &after);
        // 0.00005 was absent before: the count there was 10 (flat from 0.00001).
        assert_eq!(
            d,
            vec![
                (0.00001, 2),
                (0.00005, 30),
                (0.0001, 31),
                (0.001, 32),
                (f64::INFINITY, 32)
            ]
        );
        assert_eq!(histogram_count(&d), 32);
        assert_eq!(histogram_quantile(&d, 0.5), Some(0.00005));
        assert_eq!(histogram_quantile(&d, 0.99), Some(0.001));
        assert_eq!(histogram_quantile(&d, 0.01), Some(0.00001));
        assert_eq!(histogram_quantile(&[], 0.5), None);
    }

    #[test]
    fn sums_over_labels() {
        let text = "voxpin_active_calls{direction=\"outbound\"} 3\n\
            voxpin_active_calls{direction=\"inbound\"} 1\n\
            voxpin_active_calls_other 9\n";
        assert_eq!(parse_sum(text, "voxpin_active_calls", ""), 4.0);
        assert_eq!(parse_sum(text, "voxpin_active_calls", "outbound"), 3.0);
    }
}
