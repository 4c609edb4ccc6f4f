//! The date rules of trials, renewals and grace periods. Times are Unix seconds, days are
//! UTC calendar days; nothing here reads a clock: `now` is always given.

use chrono::{DateTime, NaiveDate, NaiveTime, Utc};

/// Seconds in a day.
pub const DAY: i64 = 86_400;

/// The UTC calendar day of Unix time `secs` (1 January 1970 for a time out of range).
pub fn day_of(secs: i64) -> NaiveDate {
    DateTime::<Utc>::from_timestamp(secs, 0).unwrap_or_default().date_naive()
}

/// The Unix second at which UTC day `day` starts.
pub fn start_of_day(day: NaiveDate) -> i64 {
    day.and_time(NaiveTime::MIN).and_utc().timestamp()
}

/// Whole days from `today` to `date` (negative when past).
pub fn days_between(today: NaiveDate, date: NaiveDate) -> i64 {
    (date - today).num_days()
}

/// Until when an entitlement that ends at `end` stays usable, with a warning: `grace_days`
/// later (a negative grace counts as none).
pub fn grace_ends_at(end: i64, grace_days: i64) -> i64 {
    end.saturating_add(grace_days.max(0).saturating_mul(DAY))
}

/// When a trial of `days` days that starts at `starts_at` ends: counted from `now` when
/// the start is past, so that a trial granted late is not the shorter for it.
pub fn trial_ends_at(starts_at: i64, days: i64, now: i64) -> i64 {
    starts_at.max(now).saturating_add(days.saturating_mul(DAY))
}

/// The new end of a trial that ends on day `trial_ends_on`, extended by `days`: counted
/// from the start of that day, or from `now` when it has passed.
pub fn extended_trial_end(trial_ends_on: NaiveDate, days: i64, now: i64) -> i64 {
    start_of_day(trial_ends_on).max(now).saturating_add(days.saturating_mul(DAY))
}

/// An entitlement's end date once its trial's end moves from `old_trial_end` to
/// `new_trial_end`: the end moves with the trial when it was the trial's end; any other
/// end (or none) stays.
pub fn end_after_trial_move(ends_at: Option<i64>, old_trial_end: Option<i64>, new_trial_end: i64) -> Option<i64> {
    if ends_at.is_some() && ends_at == old_trial_end {
        Some(new_trial_end)
    } else {
        ends_at
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_795_435_200; // 2026-11-23 12:00 UTC

    fn date(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap_or_default()
    }

    #[test]
    fn days_between_counts_whole_days_and_goes_negative_in_the_past() {
        let (a, b) = (date("2026-11-23"), date("2027-01-07"));
        assert_eq!(days_between(a, b), 45);
        assert_eq!(days_between(b, a), -45);
    }

    #[test]
    fn a_unix_time_falls_on_its_utc_day_which_starts_at_midnight() {
        assert_eq!(day_of(NOW), date("2026-11-23"));
        assert_eq!(day_of(NOW - 12 * 3600), date("2026-11-23"));
        assert_eq!(day_of(NOW - 12 * 3600 - 1), date("2026-11-22"));
        assert_eq!(start_of_day(date("2026-11-23")), NOW - 12 * 3600);
    }

    #[test]
    fn the_grace_period_runs_its_days_after_the_end_and_a_negative_one_is_none() {
        assert_eq!(grace_ends_at(NOW, 7), NOW + 7 * DAY);
        assert_eq!(grace_ends_at(NOW, 0), NOW);
        assert_eq!(grace_ends_at(NOW, -3), NOW);
    }

    #[test]
    fn a_trial_granted_with_a_past_start_runs_its_days_from_now() {
        assert_eq!(trial_ends_at(NOW + DAY, 14, NOW), NOW + 15 * DAY);
        assert_eq!(trial_ends_at(NOW - 5 * DAY, 14, NOW), NOW + 14 * DAY);
    }

    #[test]
    fn a_trial_is_extended_from_its_end_day_or_from_now_when_that_has_passed() {
        let midnight = NOW - 12 * 3600;
        assert_eq!(extended_trial_end(date("2026-11-30"), 10, NOW), midnight + 17 * DAY);
        assert_eq!(extended_trial_end(date("2026-11-20"), 10, NOW), NOW + 10 * DAY);
    }

    #[test]
    fn the_end_moves_with_the_trial_only_when_it_was_the_trials_end() {
        assert_eq!(end_after_trial_move(Some(NOW), Some(NOW), NOW + DAY), Some(NOW + DAY));
        assert_eq!(end_after_trial_move(Some(NOW + 30 * DAY), Some(NOW), NOW + DAY), Some(NOW + 30 * DAY));
        assert_eq!(end_after_trial_move(None, Some(NOW), NOW + DAY), None);
        assert_eq!(end_after_trial_move(None, None, NOW + DAY), None);
    }
}
