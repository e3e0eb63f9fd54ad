//! Running jobs: the worker that claims queued jobs, runs their steps with bounded concurrency
//! and one job per target at a time, checkpoints every finished step, honours `/cancel` at step
//! boundaries and resumes interrupted jobs after a restart; and the executors that know the
//! steps of each job kind.

mod executor;
mod selftest;
mod worker;

pub use executor::{ExecError, Runner, StepCtx, plan};
pub use worker::{CancelOutcome, Worker, WorkerError, WorkerHandle};
