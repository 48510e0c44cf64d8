//! Page size that adapts to how much the connection carries.
//!
//! A page of 100 contacts with their sideloads can weigh several MB on an account with
//! hundreds of custom fields and long textarea values; a proxy or a timeout then cuts it off,
//! and asking for the same page again fails the same way. [`PageSizer`] halves the size after
//! such a failure (down to 1), grows it back after a run of successes, and stays below a size
//! that failed until enough pages have gone through to try it again.

use super::paging::PAGE_SIZE;

/// Successful pages in a row before the size grows again.
pub const GROW_AFTER: u32 = 3;
/// Successful pages after which a size that failed may be tried again.
pub const FORGET_FAILURE_AFTER: u32 = 50;

/// The number of records to ask for on the next page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageSizer {
    size: usize,
    max: usize,
    /// The smallest size that failed recently: growth stops below it.
    failed_at: Option<usize>,
    streak: u32,
    since_failure: u32,
}

impl Default for PageSizer {
    fn default() -> Self {
        Self::new(PAGE_SIZE)
    }
}

impl PageSizer {
    /// Starts at `max` (at least 1) records per page.
    pub fn new(max: usize) -> Self {
        let max = max.max(1);
        Self {
            size: max,
            max,
            failed_at: None,
            streak: 0,
            since_failure: 0,
        }
    }

    /// Records to ask for now.
    pub fn size(&self) -> usize {
        self.size
    }

    /// A page of the current size timed out or came back cut off. Returns the new size, or
    /// `None` when the size is already 1 and cannot go lower.
    pub fn failed(&mut self) -> Option<usize> {
        self.streak = 0;
        self.since_failure = 0;
        self.failed_at = Some(self.failed_at.map_or(self.size, |f| f.min(self.size)));
        if self.size == 1 {
            return None;
        }
        self.size = (self.size / 2).max(1);
        Some(self.size)
    }

    /// A page of the current size came back whole.
    pub fn succeeded(&mut self) {
        self.streak += 1;
        self.since_failure = self.since_failure.saturating_add(1);
        if self.since_failure >= FORGET_FAILURE_AFTER {
            self.failed_at = None;
        }
        if self.streak < GROW_AFTER || self.size == self.max {
            return;
        }
        self.streak = 0;
        // Grow by half, never up to a size that failed recently.
        let ceiling = self
            .failed_at
            .map_or(self.max, |f| f.saturating_sub(1).max(1));
        self.size = (self.size + self.size.div_ceil(2))
            .min(ceiling)
            .min(self.max);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failures_halve_down_to_one_then_give_up() {
        let mut s = PageSizer::new(100);
        let sizes: Vec<Option<usize>> = (0..8).map(|_| s.failed()).collect();
        assert_eq!(
            sizes,
            vec![
                Some(50),
                Some(25),
                Some(12),
                Some(6),
                Some(3),
                Some(1),
                None,
                None
            ]
        );
        assert_eq!(s.size(), 1);
    }

    #[test]
    fn successes_grow_the_size_back_but_not_to_a_size_that_failed() {
        let mut s = PageSizer::new(100);
        s.failed();
        s.failed();
        assert_eq!(s.size(), 25);
        for _ in 0..30 {
            s.succeeded();
        }
        assert_eq!(s.size(), 49, "stays below the size that failed (50)");
    }

    #[test]
    fn a_failed_size_is_tried_again_after_many_good_pages() {
        let mut s = PageSizer::new(100);
        s.failed();
        for _ in 0..FORGET_FAILURE_AFTER + 2 * GROW_AFTER {
            s.succeeded();
        }
        assert_eq!(s.size(), 100);
    }

    #[test]
    fn growth_waits_for_a_run_of_successes() {
        let mut s = PageSizer::new(100);
        s.failed();
        s.failed();
        s.failed();
        assert_eq!(s.size(), 12);
        for _ in 0..GROW_AFTER - 1 {
            s.succeeded();
        }
        assert_eq!(s.size(), 12);
        s.succeeded();
        assert_eq!(s.size(), 18);
    }
}
