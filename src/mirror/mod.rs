//! The one write path into the mirror tables.
//!
//! Webhook apply and reconciliation both call these functions with the source time of the
//! state they carry (an event's `date_time`, or the API's `udate`/`mdate`). Every write
//! compares that time with the version the row holds inside the same statement
//! (`ON CONFLICT … DO UPDATE … WHERE row.updated_at <= excluded.updated_at`), so older input
//! never overwrites newer state, whatever order it arrives in, and concurrent appliers cannot
//! interleave a read and a write. Equal times: the later arrival wins.

pub mod activities;
pub mod campaigns;
pub mod contacts;
pub mod crm;
pub mod deals;
pub mod dimensions;
pub mod notes;
pub mod tag_additions;
pub mod tags;
pub mod values;

/// The full-pass bookkeeping that contacts and deals share (both tables have `id`, `seen_run`,
/// `synced_at`, `updated_at` and `deleted_at`): seen marks, deletion candidates, live counts and
/// deletion marks. Expanded once per table so that each module exports the same functions.
macro_rules! deletion_tracking {
    ($table:ident, $rows:literal) => {
        #[doc = concat!("Records that a full run saw these ", $rows, " upstream.")]
        pub fn mark_seen(conn: &mut DbConn, ids: &[i64], run_id: i64) -> QueryResult<usize> {
            diesel::update($table::table.filter($table::id.eq_any(ids)))
                .set($table::seen_run.eq(run_id))
                .execute(conn)
        }

        #[doc = concat!("Live ", $rows, " that full run `run_id` did not see: the candidates for deletion. A row")]
        /// the mirror wrote after the run started (`run_started`, host clock) with a source time
        /// from after the pass began (`source_start`, ActiveCampaign's clock) may have been
        /// created upstream after the page that would have shown it, so it is left for the next
        /// full run. A row written then with older data (a late or replayed delivery) existed
        /// before the pass and stays a candidate.
        pub fn unseen(
            conn: &mut DbConn,
            run_id: i64,
            run_started: SourceTime,
            source_start: SourceTime,
        ) -> QueryResult<Vec<i64>> {
            $table::table
                .filter($table::deleted_at.is_null())
                .filter($table::seen_run.is_null().or($table::seen_run.ne(run_id)))
                .filter(
                    $table::synced_at
                        .lt(run_started)
                        .nullable()
                        .or($table::updated_at.lt(source_start)),
                )
                .select($table::id)
                .order($table::id)
                .load(conn)
        }

        #[doc = concat!("Those of these ", $rows, " that the mirror holds marked deleted.")]
        pub fn deleted_among(conn: &mut DbConn, ids: &[i64]) -> QueryResult<Vec<i64>> {
            let mut out = Vec::new();
            for chunk in ids.chunks($crate::db::CHUNK) {
                out.extend(
                    $table::table
                        .filter($table::id.eq_any(chunk))
                        .filter($table::deleted_at.is_not_null())
                        .select($table::id)
                        .load::<i64>(conn)?,
                );
            }
            Ok(out)
        }

        #[doc = concat!("Clears the deletion mark of ", $rows, " the API has just shown alive. The mark's version")]
        /// goes with it, so the state read with them is written whatever version the mark
        /// carried: a record the API shows is alive. Returns the rows revived.
        pub fn revive(conn: &mut DbConn, ids: &[i64]) -> QueryResult<usize> {
            let mut n = 0;
            for chunk in ids.chunks($crate::db::CHUNK) {
                n += diesel::update(
                    $table::table
                        .filter($table::id.eq_any(chunk))
                        .filter($table::deleted_at.is_not_null()),
                )
                .set(($table::deleted_at.eq(None::<SourceTime>), $table::updated_at.eq(None::<SourceTime>)))
                .execute(conn)?;
            }
            Ok(n)
        }

        #[doc = concat!("Live ", $rows, " in the mirror.")]
        pub fn count_live(conn: &mut DbConn) -> QueryResult<i64> {
            $table::table.filter($table::deleted_at.is_null()).count().get_result(conn)
        }

        #[doc = concat!("Marks ", $rows, " deleted upstream as of `at` (rows are never removed).")]
        pub fn mark_deleted(conn: &mut DbConn, ids: &[i64], at: SourceTime, now: SourceTime) -> QueryResult<usize> {
            let mut n = 0;
            for chunk in ids.chunks($crate::db::CHUNK) {
                let live = $table::table.filter($table::id.eq_any(chunk)).filter($table::deleted_at.is_null());
                // The deletion becomes the row's version unless the row holds a later source
                // time (a clock ahead of ours); a stale delivery then cannot bring it back.
                n += diesel::update(live.clone().filter($table::updated_at.is_null().or($table::updated_at.le(at))))
                    .set(($table::deleted_at.eq(at), $table::updated_at.eq(at), $table::synced_at.eq(now)))
                    .execute(conn)?;
                n += diesel::update(live)
                    .set(($table::deleted_at.eq(at), $table::synced_at.eq(now)))
                    .execute(conn)?;
            }
            Ok(n)
        }
    };
}
pub(crate) use deletion_tracking;

/// Of `items` given in arrival order, the newest per key (of equal times, the later given),
/// sorted by key: what writing them one at a time under the staleness rule would leave.
pub fn newest_per_key<T, K>(
    items: impl IntoIterator<Item = T>,
    key: impl Fn(&T) -> K,
    time: impl Fn(&T) -> crate::time::SourceTime,
) -> Vec<T>
where
    K: Ord + std::hash::Hash,
{
    let mut newest: std::collections::HashMap<K, T> = std::collections::HashMap::new();
    for item in items {
        match newest.get(&key(&item)) {
            Some(held) if time(held) > time(&item) => {}
            _ => {
                newest.insert(key(&item), item);
            }
        }
    }
    let mut out: Vec<T> = newest.into_values().collect();
    out.sort_unstable_by_key(|t| key(t));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_newest_per_key_wins_and_the_later_wins_a_tie() {
        let t = |s: i64| {
            chrono::DateTime::from_timestamp(s, 0)
                .expect("time")
                .naive_utc()
        };
        let items = [
            (2, "b-old", t(10)),
            (1, "a", t(5)),
            (2, "b-new", t(20)),
            (2, "b-stale", t(15)),
            (3, "c-first", t(7)),
            (3, "c-second", t(7)),
        ];
        let got = newest_per_key(items, |i| i.0, |i| i.2);
        let names: Vec<&str> = got.iter().map(|i| i.1).collect();
        assert_eq!(names, ["a", "b-new", "c-second"]);
    }
}
