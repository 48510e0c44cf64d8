//! Webhook deliveries: decode, store durably, apply to the mirror.

pub mod apply;
pub mod decode;
pub mod event;
pub mod fallback;
pub mod history;
pub mod kind;
pub mod perstag;
pub mod retention;
pub mod spool;
pub mod status;
pub mod store;
pub mod worker;
