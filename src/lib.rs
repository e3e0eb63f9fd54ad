//! labkube: a chat-ops bot that lends Kubernetes to lab users. A user types
//! `/cluster create 10.0.0.1 10.0.0.2 10.0.0.3` or `/ge install orion ns=demo` in a Matrix,
//! Telegram or console room; the bot checks who may do it, stores a durable job, runs it, and
//! reports progress back in the room.
//!
//! # Layout
//! - [`command`]: the one chat-neutral grammar, its help and its errors.
//! - [`store`]: the sled database behind the [`store::JobStore`] trait.

pub mod command;
pub mod store;
