//! Reconciliation against the built-in simulator: passes, ties, clocks that disagree, changes
//! that send no webhook, heavy pages, partial webhook blocks, notes and tasks, the dimension
//! tables.

mod campaigns;
mod clock_skew;
mod crm;
mod dimensions;
mod lost_changes_and_heavy_pages;
mod notes;
mod partial_blocks;
mod passes;
mod ties;
