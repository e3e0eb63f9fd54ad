//! Running jobs: the worker that claims queued jobs, runs their steps with bounded concurrency
//! and one job per target at a time, checkpoints every finished step, honours `/cancel` at step
//! boundaries and resumes interrupted jobs after a restart; and the executors that know the
//! steps of each job kind.

mod executor;
mod job_run;
mod outcome;
mod retry;
mod selftest;
mod stopped;
mod worker;

pub use executor::{ExecError, Runner, StepCtx, plan};
pub use retry::{Backoff, STORE_BACKOFF};
pub use stopped::{PANICKED, STORE_FAILED};
pub use worker::{CancelOutcome, Worker, WorkerError, WorkerHandle};
