//! labkube: a chat-ops bot that lends Kubernetes to lab users. A user types
//! `/cluster create 10.0.0.1 10.0.0.2 10.0.0.3` or `/ge install orion ns=demo` in a Matrix,
//! Telegram or console room; the bot checks who may do it, stores a durable job, runs it, and
//! reports progress back in the room.
//!
//! # Layout
//! - [`config`]: the typed TOML config; every problem reported at once.
//! - [`command`]: the one chat-neutral grammar, its help and its errors.
//! - [`auth`]: roles, rooms and cluster ownership; [`auth::authorize`] is pure.
//! - [`store`]: the sled database behind the [`store::JobStore`] trait.

pub mod auth;
pub mod command;
pub mod config;
pub mod store;
