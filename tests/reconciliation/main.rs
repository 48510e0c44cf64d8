//! Reconciliation against the built-in simulator: passes, ties, clocks that disagree, changes
//! that send no webhook, heavy pages, partial webhook blocks, notes and tasks.

mod clock_skew;
mod lost_changes_and_heavy_pages;
mod notes;
mod partial_blocks;
mod passes;
mod ties;
mod users;
