//! Start-up checks on the backend under test.

use acmirror::db::startup::{message_language_warning, messages_in_english};
use acmirror_sim::harness::{with_conn, TestDb};
use diesel::RunQueryDsl;

#[tokio::test]
async fn the_message_language_check_reads_the_server_setting() {
    let db = TestDb::fresh();
    let pool = db.open().await;
    let (warning, setting) = with_conn(&pool, |c| {
        let warning = message_language_warning(c).expect("the check runs");
        let setting = match c {
            acmirror::db::DbConn::Pg(pg) => {
                #[derive(diesel::QueryableByName)]
                struct Setting {
                    #[diesel(sql_type = diesel::sql_types::Text)]
                    lc_messages: String,
                }
                let s: Setting = diesel::sql_query("SHOW lc_messages")
                    .get_result(pg)
                    .expect("SHOW");
                Some(s.lc_messages)
            }
            acmirror::db::DbConn::Sqlite(_) => None,
        };
        (warning, setting)
    })
    .await;
    match setting {
        // SQLite's messages are fixed English texts: nothing to warn about.
        None => assert_eq!(warning, None),
        Some(lc) => {
            assert_eq!(warning.is_some(), !messages_in_english(&lc), "{lc}");
            if let Some(w) = warning {
                assert!(w.contains(&lc) && w.contains("lc_messages = 'C'"), "{w}");
            }
        }
    }
}
