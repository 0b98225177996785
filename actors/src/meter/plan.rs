//! A tenant's price plan and the arithmetic of billing: integer micro-units, rounding up.

/// How a tenant's calls are billed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MeterPlan {
    /// Price of one minute in micro-units; 0 means free.
    pub rate_per_minute_micros: i64,
    /// Calls are billed in steps of this many seconds (at least 1).
    pub increment_secs: u32,
    /// An answered call is billed at least this many seconds.
    pub min_billable_secs: u32,
}

impl MeterPlan {
    /// Whether calls cost nothing (never charged, no balance needed).
    pub fn is_free(&self) -> bool {
        self.rate_per_minute_micros <= 0
    }

    fn increment(&self) -> u64 {
        u64::from(self.increment_secs.max(1))
    }

    /// The price of `secs` seconds, rounded up to a whole micro-unit. Charging the difference
    /// of this between two totals keeps the sum exact whatever the rate.
    pub fn cost_of(&self, secs: u64) -> i64 {
        if self.is_free() {
            return 0;
        }
        let micros = i128::from(self.rate_per_minute_micros) * i128::from(secs);
        let cost = (micros + 59) / 60;
        i64::try_from(cost).unwrap_or(i64::MAX)
    }

    /// `secs` rounded up to a whole number of increments.
    pub fn round_up(&self, secs: u64) -> u64 {
        secs.div_ceil(self.increment()) * self.increment()
    }

    /// Seconds reserved by the first charge: one increment, or the minimum if larger.
    pub fn first_reservation_secs(&self) -> u64 {
        self.round_up(self.increment().max(u64::from(self.min_billable_secs)))
    }

    /// Seconds reserved by each later charge.
    pub fn increment_secs(&self) -> u64 {
        self.increment()
    }

    /// The seconds billed for `used_ms` of answered time: whole seconds rounded up, at least
    /// the minimum, rounded up to the increment; 0 when nothing was used.
    pub fn billable_secs(&self, used_ms: u64) -> u64 {
        if used_ms == 0 {
            return 0;
        }
        let secs = used_ms
            .div_ceil(1000)
            .max(u64::from(self.min_billable_secs));
        self.round_up(secs)
    }

    /// What the tenant must hold to be admitted: the first reservation.
    pub fn admission_micros(&self) -> i64 {
        self.cost_of(self.first_reservation_secs())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan(rate: i64, inc: u32, min: u32) -> MeterPlan {
        MeterPlan {
            rate_per_minute_micros: rate,
            increment_secs: inc,
            min_billable_secs: min,
        }
    }

    #[test]
    fn costs_round_up_and_add_up_exactly() {
        let p = plan(20_000, 1, 0); // 333.33… per second
        assert_eq!(p.cost_of(1), 334);
        assert_eq!(p.cost_of(3), 1_000);
        let sum: i64 = (0..60).map(|s| p.cost_of(s + 1) - p.cost_of(s)).sum();
        assert_eq!(sum, p.cost_of(60));
        assert_eq!(sum, 20_000);
        assert_eq!(plan(600_000, 1, 0).cost_of(6), 60_000);
        assert_eq!(plan(0, 1, 0).cost_of(1_000), 0);
    }

    #[test]
    fn billable_seconds() {
        let p = plan(600_000, 6, 0);
        assert_eq!(p.billable_secs(0), 0);
        assert_eq!(p.billable_secs(1), 6);
        assert_eq!(p.billable_secs(6_000), 6);
        assert_eq!(p.billable_secs(6_001), 12);
        let p = plan(600_000, 1, 30);
        assert_eq!(p.billable_secs(2_500), 30);
        assert_eq!(p.first_reservation_secs(), 30);
        assert_eq!(plan(1, 60, 0).first_reservation_secs(), 60);
        assert_eq!(plan(600_000, 6, 10).first_reservation_secs(), 12);
    }
}
