//! # sonde-alerts: alert rules, their evaluation, and handlers
//!
//! Owns `sonde server`'s alerting, independent of the storage engine and
//! of HTTP: [`rule`] (rules on any metric query with a threshold held
//! `for` a while, a host silent for N seconds, a check critical;
//! silences; validation), [`eval`] (readings per group and the state
//! machine pending -> firing -> resolved, as plain functions of `now`),
//! [`handler`] and [`deliver`] (Sensu-style handlers: pipe, webhook with
//! a Slack variant, tcp; filters, occurrences and refresh; bounded
//! queues off the evaluation path), and [`Alerts`], the engine that
//! keeps rules, handlers and silences in the store as `alert_config`
//! events (so they survive a restart), evaluates every rule at a given
//! time, writes each transition as an `alert` event and passes alerts,
//! check results and keepalive changes to the handlers.
//!
//! Does **not** own: the REST API and the evaluation timer (sonde-server),
//! any storage engine, what a rule's `actions` do (sonde-server acts on
//! `capture`).
#![warn(missing_docs)]

pub mod deliver;
mod engine;
pub mod eval;
pub mod handler;
pub mod rule;

pub use engine::{Alerts, EvalReport, Writer, CONFIG_KIND};
pub use eval::{Active, Phase};
pub use handler::{Filters, Handler, HandlerKind, WebhookFormat};
pub use rule::{Cmp, Condition, Rule, Silence};

/// An alerting error.
#[derive(Debug, thiserror::Error)]
pub enum AlertError {
    /// A rule, handler or silence that cannot be used (an HTTP 400).
    #[error("{0}")]
    Invalid(String),
    /// No such rule, handler, silence or alert (a 404).
    #[error("{0}")]
    NotFound(String),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] sonde_store::StoreError),
}
