//! Embedded migrations, one folder per backend.

use anyhow::Context;
use diesel::RunQueryDsl;
use diesel_migrations::{embed_migrations, EmbeddedMigrations, MigrationHarness};

use super::DbConn;

const SQLITE: EmbeddedMigrations = embed_migrations!("migrations/sqlite");
const POSTGRES: EmbeddedMigrations = embed_migrations!("migrations/postgres");

/// Advisory-lock key that serialises migrations across replicas starting together.
const MIGRATION_LOCK_KEY: i64 = 0x6163_6d69_6701;

/// Applies every pending migration; returns the versions applied (empty when up to date).
pub fn run(conn: &mut DbConn) -> anyhow::Result<Vec<String>> {
    let applied = match conn {
        DbConn::Sqlite(c) => c
            .run_pending_migrations(SQLITE)
            .map(|v| v.iter().map(ToString::to_string).collect()),
        DbConn::Pg(c) => {
            diesel::sql_query(format!("SELECT pg_advisory_lock({MIGRATION_LOCK_KEY})"))
                .execute(c)
                .context("Failed to take the migration lock")?;
            let result = c
                .run_pending_migrations(POSTGRES)
                .map(|v| v.iter().map(ToString::to_string).collect());
            diesel::sql_query(format!("SELECT pg_advisory_unlock({MIGRATION_LOCK_KEY})"))
                .execute(c)
                .context("Failed to release the migration lock")?;
            result
        }
    };
    applied.map_err(|e| anyhow::anyhow!("Failed to migrate the database: {e}"))
}

/// True when the schema is behind this binary (some migration has not run).
pub fn has_pending(conn: &mut DbConn) -> anyhow::Result<bool> {
    let pending = match conn {
        DbConn::Sqlite(c) => c.has_pending_migration(SQLITE),
        DbConn::Pg(c) => c.has_pending_migration(POSTGRES),
    };
    pending.map_err(|e| anyhow::anyhow!("Failed to read the schema version: {e}"))
}
