//! Webhook deliveries: decode, store durably, apply to the mirror.

pub mod decode;
