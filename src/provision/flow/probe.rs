//! The steps that look before anything changes: connect, detect the OS, gather facts, and
//! the preflight over every host's facts at once.

use super::ClusterRun;
use crate::provision::error::ProvisionError;
use crate::provision::exec::{self, HostError};
use crate::provision::facts::Facts;
use crate::provision::flow::preflight::{self, Checked};
use crate::provision::host::strip_host;
use crate::provision::os::OsInfo;
use crate::provision::scripts::HostScript;
use crate::store::now_ms;

impl ClusterRun {
    pub(super) async fn connect_all(&mut self) -> Result<(), ProvisionError> {
        self.check_claims()?;
        let todo: Vec<(usize, String)> = self
            .all()
            .into_iter()
            .filter(|(i, _)| self.hosts[*i].conn.is_none())
            .collect();
        let connector = self.connector.clone();
        let hosts = &self.hosts;
        let r = exec::each(&self.io, &todo, self.engine.settings.parallel_hosts, |i| {
            let connector = connector.clone();
            async move {
                let h = &hosts[i];
                let c = connector.connect(&h.target).await.map_err(|e| HostError {
                    host: h.target.to_string(),
                    reason: strip_host(&e.to_string(), &h.target),
                })?;
                let note = c
                    .first_contact
                    .as_ref()
                    .map(|fp| format!("new host key {fp}"));
                Ok(((c.exec, c.first_contact), note))
            }
        })
        .await?;
        for (i, (conn, first)) in Self::check(r)? {
            if let Some(fp) = first {
                let host = self.hosts[i].target.to_string();
                self.io
                    .notice(format!(
                        "{host}: first contact; its SSH host key {fp} is now pinned"
                    ))
                    .await?;
            }
            self.hosts[i].conn = Some(conn);
        }
        Ok(())
    }

    pub(super) async fn detect_all(&mut self) -> Result<(), ProvisionError> {
        let r = self
            .run_on(&self.all(), HostScript::OsRelease, |_, out| {
                let os = OsInfo::parse(&out.stdout);
                os.family().map_err(|e| e.to_string())?;
                let note = format!("{} {}", os.id, os.version_id);
                Ok((os, Some(note)))
            })
            .await?;
        for (i, os) in Self::check(r)? {
            self.hosts[i].os = Some(os);
        }
        Ok(())
    }

    pub(super) async fn facts_all(&mut self) -> Result<(), ProvisionError> {
        let r = self
            .run_on(&self.all(), HostScript::Facts, |_, out| {
                let mut f = Facts::parse(&out.stdout)?;
                let now_s = i64::try_from(now_ms() / 1000).unwrap_or(i64::MAX);
                f.clock_skew_s = f.time_s.map(|t| t - now_s);
                let note = format!("{}, {} CPU, {} MB", f.hostname, f.cpus, f.mem_mb);
                Ok((f, Some(note)))
            })
            .await?;
        for (i, f) in Self::check(r)? {
            self.hosts[i].facts = Some(f);
        }
        Ok(())
    }

    pub(super) fn preflight(&mut self) -> Result<(), ProvisionError> {
        let checked: Vec<Checked<'_>> = self
            .hosts
            .iter()
            .filter_map(|h| {
                h.facts.as_ref().map(|facts| Checked {
                    host: h.target.to_string(),
                    addr: h.target.addr,
                    control_plane: h.control_plane,
                    facts,
                    os: h.os.as_ref(),
                })
            })
            .collect();
        let mut problems = self.foreign_cluster_problems();
        problems.extend(preflight::check(&checked, &self.pod_cidr));
        // A create probed its virtual IP in the step before; a node add checks that its new
        // control planes can carry the cluster's (the address is in use: it is not moved).
        if self.adding {
            problems.extend(self.endpoint_problems().0);
        }
        if problems.is_empty() {
            return if self.dry_run {
                Ok(())
            } else {
                self.register_creating()
            };
        }
        if self.dry_run {
            self.preflight_problems.extend(problems);
            return Ok(());
        }
        Err(ProvisionError::Preflight(problems))
    }
}
