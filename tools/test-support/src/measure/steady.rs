//! How many rounds of a noisy measurement are enough: two runs that share the same minutes of the machine (the
//! even and the odd rounds of one interleaved series) must agree. Used by the cold-start rows of `make bench`
//! (sections 3 and 8), whose single rounds swing with the machine's load and with the CPU quota's 100 ms periods.

use std::time::Duration;

/// How many cold rounds are enough: rounds are added, `step` at a time, until the two interleaved halves of every
/// row (the even and the odd rounds: two runs sharing the same minutes of the machine) agree on the median cold
/// start within `tolerance`, and at least `min_rounds` were taken; at most `max_rounds`.
#[derive(Debug, Clone, Copy)]
pub struct Steadiness {
    pub min_rounds: usize,
    pub max_rounds: usize,
    pub step: usize,
    /// 0.10: the halves' medians within 10 % of each other.
    pub tolerance: f64,
}

impl Steadiness {
    /// Exactly `rounds` rounds, steady or not.
    pub fn fixed(rounds: usize) -> Self {
        Self { min_rounds: rounds, max_rounds: rounds, step: rounds.max(1), tolerance: f64::INFINITY }
    }

    /// Whether `rounds` taken are enough for every row's series (by round): at least `min_rounds`, and each
    /// row's [`halves_gap`] within `tolerance`. (`max_rounds` is the caller's loop bound.)
    pub fn reached<'a>(&self, rounds: usize, rows: impl IntoIterator<Item = &'a [Duration]>) -> bool {
        rounds >= self.min_rounds && rows.into_iter().all(|row| halves_gap(row) <= self.tolerance)
    }
}

/// How far apart the medians of the even and of the odd rounds are, relative to the smaller (0.05 = 5 %); zero
/// with fewer than two rounds.
pub fn halves_gap(by_round: &[Duration]) -> f64 {
    let half = |parity: usize| {
        let mut half: Vec<Duration> = by_round.iter().skip(parity).step_by(2).copied().collect();
        half.sort_unstable();
        half.get(half.len().saturating_sub(1) / 2).copied()
    };
    match (half(0), half(1)) {
        (Some(even), Some(odd)) if !even.is_zero() && !odd.is_zero() => {
            (even.as_secs_f64() - odd.as_secs_f64()).abs() / even.min(odd).as_secs_f64()
        }
        _ => 0.0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_halves_are_the_even_and_the_odd_rounds_compared_by_their_medians() {
        let ms = |values: &[u64]| values.iter().map(|&v| Duration::from_millis(v)).collect::<Vec<_>>();
        // Even rounds 10, 10, 10; odd rounds 11, 12, 11: medians 10 and 11, 10 % apart.
        assert!((halves_gap(&ms(&[10, 11, 10, 12, 10, 11])) - 0.10).abs() < 1e-9);
        // One slow round in a half moves its median less than its mean.
        assert_eq!(halves_gap(&ms(&[10, 10, 10, 10, 90, 10])), 0.0);
        assert_eq!(halves_gap(&ms(&[20, 10])), 1.0, "relative to the smaller");
        assert_eq!(halves_gap(&ms(&[10])), 0.0);
        assert_eq!(halves_gap(&[]), 0.0);
    }

    #[test]
    fn enough_rounds_means_at_least_the_least_and_every_row_within_tolerance() {
        let ms = |values: &[u64]| values.iter().map(|&v| Duration::from_millis(v)).collect::<Vec<_>>();
        let steady = Steadiness { min_rounds: 4, max_rounds: 60, step: 2, tolerance: 0.10 };
        let (even, split) = (ms(&[10, 10, 10, 10]), ms(&[10, 20, 10, 20]));
        assert!(steady.reached(4, [even.as_slice(), even.as_slice()]));
        assert!(!steady.reached(2, [even.as_slice()]), "fewer than min_rounds");
        assert!(!steady.reached(4, [even.as_slice(), split.as_slice()]), "one row apart is enough to go on");
    }

    #[test]
    fn fixed_rounds_never_wait_for_steadiness() {
        let fixed = Steadiness::fixed(5);
        assert_eq!((fixed.min_rounds, fixed.max_rounds), (5, 5));
        assert!(1e9 <= fixed.tolerance);
    }
}
