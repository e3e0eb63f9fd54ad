//! A bot on the etcd store is one of several replicas, and only the leader may talk to the
//! chat platforms (Telegram allows one poller, Matrix one sync position) and run jobs. Each
//! replica campaigns when it starts ([`EtcdStore::campaign`]); a standby waits, quietly, until
//! the leader's lease ends, then does what a restarted bot does: resumes the running jobs from
//! their checkpoints (telling each room that labkube moved to this replica), and picks up the
//! chat streams where the store says the last leader left them.
//!
//! A leader that can no longer renew its lease exits at once ([`EXIT_DEPOSED`]) rather than
//! finishing its steps: another replica may already lead and run the same jobs. Its store
//! writes are refused by the fence anyway; exiting also stops its SSH sessions and its chat.
//! A supervisor (systemd, Kubernetes) starts it again, as a standby.

use std::sync::Arc;

use tokio_util::sync::CancellationToken;

use crate::config::Config;
use crate::store::{Election, EtcdStore};

/// The exit status of a replica that lost its leadership.
pub const EXIT_DEPOSED: i32 = 3;

/// Campaigns and waits until this replica leads; `None` when `shutdown` comes first.
pub(super) async fn take_lead(
    store: &Arc<EtcdStore>,
    config: &Config,
    shutdown: &CancellationToken,
) -> Option<Election> {
    let replica = config.store.replica_name();
    let mut election = store.campaign(&replica, config.store.lease());
    tracing::info!(replica, "standby: campaigning for leadership on etcd");
    tokio::select! {
        () = shutdown.cancelled() => None,
        led = election.leading() => match led {
            Ok(_) => {
                tracing::info!(replica, "leading: this replica now runs the chat adapters and the jobs");
                Some(election)
            }
            Err(why) => {
                tracing::error!(replica, why, "the campaign for leadership ended");
                None
            }
        },
    }
}

/// Exits the process when this replica stops leading (see the module documentation); hands
/// the election back when `done` is cancelled first (a clean shutdown, which then resigns).
pub(super) fn exit_when_deposed(
    mut election: Election,
    done: CancellationToken,
) -> tokio::task::JoinHandle<Election> {
    tokio::spawn(async move {
        let deposed = tokio::select! {
            why = election.lost() => Some(why),
            () = done.cancelled() => None,
        };
        if let Some(why) = deposed {
            tracing::error!(
                why,
                "this replica lost its leadership; exiting at once so that only the new leader acts"
            );
            // Not a return through the callers: they would give running steps the shutdown
            // grace, during which this replica would act beside the new leader.
            std::process::exit(EXIT_DEPOSED);
        }
        election
    })
}
