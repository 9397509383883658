//! A finding's life: whether it is still live, since when, and who owns it.

use serde::Serialize;

use crate::Commit;

/// Seconds in a day.
const DAY: i64 = 86_400;

/// Whole days from `from` to `to` (seconds since the epoch), 0 if `to` is earlier. Commit dates
/// are whatever a commit claims (any `i64`), so the difference saturates rather than overflow.
pub(crate) fn days_between(from: i64, to: i64) -> i64 {
    to.saturating_sub(from).max(0) / DAY
}

/// Where a secret stands.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// HEAD, a ref's tip, or the working tree still holds it.
    #[default]
    Active,
    /// No ref's tip holds it any more.
    Removed,
    /// Removed, and the same rule at one of its paths later holds a different value: a sign
    /// that it was rotated.
    Replaced,
    /// Only blobs that no ref reaches hold it: it is still in the object database (and on every
    /// server the pack was pushed to).
    Unreachable,
}

impl Status {
    /// The status as written in reports.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Active => "active",
            Status::Removed => "removed",
            Status::Replaced => "replaced",
            Status::Unreachable => "unreachable",
        }
    }
}

/// When a secret came and went. For a working-tree scan only `status` (active) is known.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Lifecycle {
    /// Active, removed, replaced or unreachable.
    pub status: Status,
    /// The earliest commit (by committer date) whose tree holds it.
    pub first_seen: Option<Commit>,
    /// The newest commit (by committer date) whose tree holds it.
    pub last_seen: Option<Commit>,
    /// The first commit on the default branch whose tree no longer holds it (else the first
    /// that dropped it); `None` while present.
    pub removed_in: Option<Commit>,
    /// Whether HEAD holds it (the working tree, for a working-tree scan).
    pub present_at_head: bool,
    /// The refs (full names) whose tip holds it.
    pub refs: Vec<String>,
    /// Days from `first_seen` to `removed_in`, or, while present, to the newest commit of the
    /// scanned refs (or `--as-of`); `None` without history.
    pub exposure_days: Option<i64>,
    /// Exposed for longer than the rule's `rotation.max_age_days`.
    pub overdue: bool,
}

impl Lifecycle {
    /// Judges exposure and overdue as of `as_of` (seconds since the epoch; `None` without a
    /// history to date it), against the rule's rotation period.
    pub fn assess(&mut self, as_of: Option<i64>, max_age_days: u32) {
        let Some(first) = &self.first_seen else {
            return;
        };
        let end = match (&self.removed_in, self.status) {
            (Some(removed), Status::Removed | Status::Replaced) => Some(removed.date),
            _ => as_of,
        };
        if let Some(end) = end {
            let days = days_between(first.date, end);
            self.exposure_days = Some(days);
            self.overdue = days > i64::from(max_age_days);
        }
    }
}

/// Who answers for a secret.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Owner {
    /// The CODEOWNERS owners of its paths, in order of first mention.
    pub codeowners: Vec<String>,
    /// The author (`Name <email>`) of the commit that introduced it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub introduced_by: Option<String>,
    /// The date (seconds since the epoch) of that author's newest commit in the scanned history.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub introducer_last_commit: Option<i64>,
    /// For a secret still at HEAD: the author of the last commit that touched its line.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_touched_by: Option<String>,
}

impl Owner {
    /// The one name to show first: a CODEOWNERS owner, else who last touched the line, else
    /// who introduced it.
    pub fn primary(&self) -> Option<&str> {
        self.codeowners
            .first()
            .or(self.last_touched_by.as_ref())
            .or(self.introduced_by.as_ref())
            .map(String::as_str)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn commit(date: i64) -> Commit {
        Commit {
            id: "c".repeat(40),
            author: "A <a@example.org>".to_string(),
            date,
            summary: String::new(),
        }
    }

    #[test]
    fn exposure_runs_to_removal_or_to_as_of_while_active() {
        let mut removed = Lifecycle {
            status: Status::Removed,
            first_seen: Some(commit(0)),
            removed_in: Some(commit(10 * DAY + 5)),
            ..Lifecycle::default()
        };
        removed.assess(Some(400 * DAY), 30);
        assert_eq!(removed.exposure_days, Some(10));
        assert!(!removed.overdue);

        let mut active = Lifecycle {
            status: Status::Active,
            first_seen: Some(commit(0)),
            ..Lifecycle::default()
        };
        active.assess(Some(31 * DAY), 30);
        assert_eq!(active.exposure_days, Some(31));
        assert!(active.overdue);

        let mut working_tree = Lifecycle::default();
        working_tree.assess(Some(31 * DAY), 30);
        assert_eq!(working_tree.exposure_days, None);
    }

    /// Found by the `report_writers` fuzz target: a commit may claim any date, and the
    /// difference of two extreme ones overflowed (a panic in debug builds, a wrapped,
    /// negative-turned-zero or wrong count in release).
    #[test]
    fn exposure_of_extreme_commit_dates_saturates() {
        let mut active = Lifecycle {
            status: Status::Active,
            first_seen: Some(commit(i64::MIN)),
            ..Lifecycle::default()
        };
        active.assess(Some(i64::MAX), 30);
        assert_eq!(active.exposure_days, Some(i64::MAX / DAY));
        assert!(active.overdue);

        let mut removed = Lifecycle {
            status: Status::Removed,
            first_seen: Some(commit(i64::MAX)),
            removed_in: Some(commit(i64::MIN)),
            ..Lifecycle::default()
        };
        removed.assess(None, 30);
        assert_eq!(removed.exposure_days, Some(0));
        assert!(!removed.overdue);
    }
}
