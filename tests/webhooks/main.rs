//! Webhooks from the socket to the mirror: intake, the apply worker, hostile traffic,
//! retention. Every test runs on the backend under test (SQLite, or PostgreSQL when
//! `ACMIRROR_TEST_DATABASE_URL` is set).

mod accounts;
mod activities;
mod apply_batch;
mod exhaustion;
mod hardening;
mod memberships;
mod receive;
mod retention;
