//! `/kubeconfig`, `/kubeconfig revoke` and `/kubeconfig list`: a lab user's own access to a
//! cluster (see [`crate::kube::access`]). Who may have which level, in which namespace and for
//! how long is decided here; the account, bindings and token are made on the cluster in a task
//! of their own (a slow API server holds up no other command), the kubeconfig goes to the user
//! privately, and the room is told where it went. Issues and revocations are audited (who,
//! scope, lifetime; never the token).

use std::time::Duration;

use crate::auth::{Principal, Role, RoomRef};
use crate::chat::{Attachment, ChatError, Incoming, PLATFORMS};
use crate::command::{Command, Name};
use crate::kube::access::{self, Access, GrantRecord, WHOLE_CLUSTER, account_name};
use crate::store::AuditOutcome;

use super::{Dispatcher, INTERNAL, in_time, rejected, write_audit};

impl Dispatcher {
    /// The cluster a command names, else the room's current one.
    pub(super) fn access_cluster(
        &self,
        room: &RoomRef,
        given: Option<&Name>,
    ) -> Result<String, String> {
        if let Some(n) = given {
            return Ok(n.to_string());
        }
        match self.current_cluster(room) {
            Ok(Some(c)) => Ok(c),
            Ok(None) => Err(
                "no cluster chosen: name one with cluster= or pick one with /cluster use NAME"
                    .into(),
            ),
            Err(e) => Err(self.internal_text(e)),
        }
    }

    /// `/kubeconfig [cluster=] [ns=] [ttl=] [access=]`.
    pub(super) fn kubeconfig(
        &self,
        msg: &Incoming,
        room: &RoomRef,
        role: Option<Role>,
        command: &Command,
    ) -> Option<String> {
        let Command::Kubeconfig {
            scope,
            ttl_secs,
            access,
        } = command
        else {
            return Some(INTERNAL.into());
        };
        let role = role.unwrap_or(Role::Viewer);
        let cluster = match self.access_cluster(room, scope.cluster.as_ref()) {
            Ok(c) => c,
            Err(e) => return Some(e),
        };
        let room_ns = self
            .policy
            .room(room)
            .map(|s| s.namespace.clone())
            .unwrap_or_default();
        let ns = scope.ns.as_ref().map_or(room_ns.clone(), |n| n.to_string());
        let level = access.unwrap_or(if role >= Role::Operator {
            Access::Edit
        } else {
            Access::View
        });
        let refusal = match level {
            Access::Admin if role < Role::Admin => Some(
                "access=admin (the whole cluster) is for admins; access=edit gives a namespace"
                    .to_string(),
            ),
            Access::Edit if role < Role::Operator => Some(
                "access=edit needs the operator role; as a viewer you may have access=view".into(),
            ),
            _ if role < Role::Admin && ns != room_ns && !self.room_owns(&cluster, room, &ns) => {
                Some(format!(
                    "you may have access to your room's namespace {room_ns} and those /ns create made for it (/ns list) only; admins may name any"
                ))
            }
            _ => None,
        };
        let settings = &self.config.access;
        let ttl = ttl_secs.unwrap_or(settings.default_ttl_secs);
        let refusal = refusal.or_else(|| {
            (ttl > settings.max_ttl_secs).then(|| {
                format!(
                    "ttl={} is longer than this lab allows ([access] max_ttl_secs: {})",
                    crate::command::duration_text(ttl),
                    crate::command::duration_text(settings.max_ttl_secs)
                )
            })
        });
        if let Some(reason) = refusal {
            return Some(self.reject(msg, command, reason));
        }
        let (layer, chat, store) = (self.kube.clone(), self.chat.clone(), self.store.clone());
        let (who, incoming, line) = (msg.principal(), msg.clone(), command.redacted());
        let limit = layer.request_timeout() * 6;
        self.reply_later(msg, async move {
            let ask = access::grant(&layer, &cluster, &who, &ns, level, Duration::from_secs(ttl));
            let issued = match in_time(&cluster, limit, "nothing was issued", ask).await {
                Ok(i) => i,
                Err(why) => return rejected(&*store, &incoming, line, why),
            };
            let scope = match level {
                Access::Admin => "the whole cluster".to_string(),
                _ => format!("namespace {ns}"),
            };
            let what = format!(
                "a kubeconfig for {cluster} ({scope}, {}), valid until {}",
                level.word(),
                issued.expires
            );
            let file = Attachment {
                name: format!("kubeconfig-{cluster}.yaml"),
                caption: what.clone(),
                body: issued.kubeconfig,
            };
            let text = format!("{what}; use it with kubectl --kubeconfig FILE or KUBECONFIG=FILE");
            match chat.send_private(&incoming.platform, &incoming.sender, &text, &file).await {
                Ok(place) => {
                    let record = GrantRecord {
                        principal: principal_text(&who),
                        access: level,
                        expires: issued.expires.clone(),
                        expires_ms: issued.expires_ms,
                    };
                    let where_ns = if level == Access::Admin {
                        WHOLE_CLUSTER
                    } else {
                        ns.as_str()
                    };
                    let kept = serde_json::to_string(&record)
                        .map_err(|e| e.to_string())
                        .and_then(|json| {
                            store
                                .put_grant(&cluster, &issued.account, where_ns, &json)
                                .map_err(|e| e.to_string())
                        });
                    if let Err(e) = kept {
                        tracing::error!(error = %e, "cannot record a kubeconfig issued");
                    }
                    write_audit(&*store, &incoming, line, AuditOutcome::Done);
                    format!("sent {what} to {place}")
                }
                Err(ChatError::NoPrivateChannel(how)) => {
                    rejected(&*store, &incoming, line, format!("nothing was sent: {how}"))
                }
                Err(e) => {
                    tracing::warn!(error = %e, "cannot deliver a kubeconfig");
                    let why = "the kubeconfig could not be delivered (details are in the bot's log); \
                               nothing was sent";
                    rejected(&*store, &incoming, line, why.into())
                }
            }
        });
        None
    }

    /// `/kubeconfig revoke [USER] [cluster=]`.
    pub(super) fn kubeconfig_revoke(
        &self,
        msg: &Incoming,
        room: &RoomRef,
        admin: bool,
        command: &Command,
    ) -> Option<String> {
        let Command::KubeconfigRevoke { user, cluster } = command else {
            return Some(INTERNAL.into());
        };
        let cluster = match self.access_cluster(room, cluster.as_ref()) {
            Ok(c) => c,
            Err(e) => return Some(e),
        };
        let me = msg.principal();
        let whose = user
            .as_deref()
            .map_or(me.clone(), |u| principal_of(&msg.platform, u));
        if whose != me && !admin {
            let why =
                "only admins may revoke another user's access; /kubeconfig revoke ends your own";
            return Some(self.reject(msg, command, why.into()));
        }
        let (layer, store) = (self.kube.clone(), self.store.clone());
        let (incoming, line) = (msg.clone(), command.redacted());
        let limit = layer.request_timeout() * 6;
        self.reply_later(msg, async move {
            let name = principal_text(&whose);
            let ask = access::revoke(&layer, &cluster, &whose);
            match in_time(&cluster, limit, "revoke again", ask).await {
                Ok(removed) => {
                    if let Err(e) = store.remove_grants(&cluster, &account_name(&whose)) {
                        tracing::error!(error = %e, "cannot forget the kubeconfigs revoked");
                    }
                    write_audit(&*store, &incoming, line, AuditOutcome::Done);
                    if removed == 0 {
                        format!("{name} holds no access to {cluster}")
                    } else {
                        format!(
                            "access of {name} to {cluster} revoked: their account and bindings are deleted, and every kubeconfig issued to them stopped working"
                        )
                    }
                }
                Err(why) => rejected(&*store, &incoming, line, why),
            }
        });
        None
    }

    /// `/kubeconfig list [cluster=]`.
    pub(super) fn kubeconfig_list(
        &self,
        msg: &Incoming,
        room: &RoomRef,
        given: Option<&Name>,
    ) -> Option<String> {
        let cluster = match self.access_cluster(room, given) {
            Ok(c) => c,
            Err(e) => return Some(e),
        };
        let (layer, store) = (self.kube.clone(), self.store.clone());
        let limit = layer.request_timeout() * 3;
        self.reply_later(msg, async move {
            let holders =
                match in_time(&cluster, limit, "", access::holders(&layer, &cluster)).await {
                    Ok(h) => h,
                    Err(why) => return why,
                };
            if holders.is_empty() {
                return format!("nobody holds a kubeconfig labkube issued for {cluster}");
            }
            let records = access::records(&*store);
            let until = |account: &str, ns: &str| {
                records
                    .iter()
                    .find(|(c, a, n, _)| *c == cluster && a == account && n == ns)
                    .map_or("expiry unknown".to_string(), |(_, _, _, r)| {
                        format!("last token valid until {}", r.expires)
                    })
            };
            let lines: Vec<String> = holders
                .iter()
                .map(|h| {
                    let ns = h.namespace.as_deref().unwrap_or(WHOLE_CLUSTER);
                    let scope = match &h.namespace {
                        Some(n) => format!("namespace {n}"),
                        None => "the whole cluster".into(),
                    };
                    format!(
                        "{}: {} in {scope}, {}",
                        h.principal,
                        h.access.word(),
                        until(&h.account, ns)
                    )
                })
                .collect();
            format!(
                "access to {cluster} ({}):\n{}",
                lines.len(),
                lines.join("\n")
            )
        });
        None
    }
}

/// `platform:user`, as `/kubeconfig list` writes a user.
pub(super) fn principal_text(p: &Principal) -> String {
    format!("{}:{}", p.platform, p.user)
}

/// The user `text` names: `platform:id` as `/kubeconfig list` writes them, or an id on
/// `platform` (Matrix ids have colons of their own: `@ada:lab.example`).
fn principal_of(platform: &str, text: &str) -> Principal {
    match text.split_once(':') {
        Some((p, user)) if PLATFORMS.contains(&p) => Principal {
            platform: p.into(),
            user: user.into(),
        },
        _ => Principal {
            platform: platform.into(),
            user: text.into(),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_user_is_named_with_or_without_their_platform() {
        let ada = principal_of("telegram", "matrix:@ada:lab.example");
        assert_eq!(
            (ada.platform.as_str(), ada.user.as_str()),
            ("matrix", "@ada:lab.example")
        );
        let ada = principal_of("matrix", "@ada:lab.example");
        assert_eq!(
            (ada.platform.as_str(), ada.user.as_str()),
            ("matrix", "@ada:lab.example")
        );
        let bob = principal_of("telegram", "1001");
        assert_eq!(principal_text(&bob), "telegram:1001");
    }
}
