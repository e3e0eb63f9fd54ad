//! Running work on a job's hosts: [`fanout`] runs one piece of work on many hosts at once,
//! bounded, showing each host's state; [`script`] runs a step script of `commands/` there
//! (environment, sudo, retries, failure reports with secrets withheld).

mod fanout;
mod script;

pub use fanout::{Fanned, HostError, each};
pub(crate) use script::{Exec, on, run};
