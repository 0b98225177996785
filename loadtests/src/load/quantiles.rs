//! Nearest-rank percentiles of a set of measurements.

/// A sorted set of measurements (any unit) with nearest-rank percentiles.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Quantiles {
    sorted: Vec<f64>,
}

impl Quantiles {
    /// Sorts the values; NaN and infinite values are dropped.
    pub fn new(values: impl IntoIterator<Item = f64>) -> Self {
        let mut sorted: Vec<f64> = values.into_iter().filter(|v| v.is_finite()).collect();
        sorted.sort_by(f64::total_cmp);
        Quantiles { sorted }
    }

    /// How many values there are.
    pub fn len(&self) -> usize {
        self.sorted.len()
    }

    /// Whether there are no values.
    pub fn is_empty(&self) -> bool {
        self.sorted.is_empty()
    }

    /// The nearest-rank `p`-th percentile (`p` in 0..=100): the smallest value with at least
    /// `p` % of the values at or below it. `None` when empty.
    pub fn percentile(&self, p: f64) -> Option<f64> {
        if self.sorted.is_empty() || !(0.0..=100.0).contains(&p) {
            return None;
        }
        let n = self.sorted.len();
        let rank = ((p / 100.0) * n as f64).ceil() as usize;
        Some(self.sorted[rank.clamp(1, n) - 1])
    }

    /// The largest value.
    pub fn max(&self) -> Option<f64> {
        self.sorted.last().copied()
    }

    /// The share (0..=1) of values for which `outside` holds.
    pub fn share(&self, outside: impl Fn(f64) -> bool) -> Option<f64> {
        if self.sorted.is_empty() {
            return None;
        }
        let count = self.sorted.iter().filter(|v| outside(**v)).count();
        Some(count as f64 / self.sorted.len() as f64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_on_one_to_hundred() {
        let q = Quantiles::new((1..=100).rev().map(f64::from));
        assert_eq!(q.len(), 100);
        assert_eq!(q.percentile(50.0), Some(50.0));
        assert_eq!(q.percentile(99.0), Some(99.0));
        assert_eq!(q.percentile(100.0), Some(100.0));
        assert_eq!(q.percentile(0.0), Some(1.0));
        assert_eq!(q.max(), Some(100.0));
        assert_eq!(q.share(|v| v > 90.0), Some(0.1));
    }

    #[test]
    fn small_and_empty_sets() {
        let q = Quantiles::new([5.0, f64::NAN, 1.0]);
        assert_eq!(q.len(), 2);
        assert_eq!(q.percentile(50.0), Some(1.0));
        assert_eq!(q.percentile(95.0), Some(5.0));
        assert_eq!(q.percentile(101.0), None);
        let empty = Quantiles::new([]);
        assert!(empty.is_empty());
        assert_eq!(empty.percentile(50.0), None);
        assert_eq!(empty.share(|_| true), None);
    }
}
