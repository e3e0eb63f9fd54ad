//! `/kubeconfig`: a lab user's own access to a cluster. Each chat user gets a ServiceAccount of
//! their own on the cluster (in [`ACCESS_NAMESPACE`]), bound to the built-in `view` or `edit`
//! ClusterRole in the namespaces granted (or to `cluster-admin`), and a short-lived token for
//! it from the TokenRequest API. The kubeconfig handed out carries the cluster's CA, its API
//! endpoint and that token: never the bot's own credentials. Deleting the account ends every
//! token it was issued (tokens are bound to the account's uid).

mod account;
mod expiry;
mod grant;
mod render;

pub use account::{ACCESS_NAMESPACE, Access, account_name};
pub use expiry::{Expiry, GrantRecord, WHOLE_CLUSTER, records};
pub use grant::{Holder, Issued, grant, holders, revoke};
pub use render::kubeconfig;
