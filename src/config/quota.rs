//! A namespace's quota: what its pods may request together (`/ns create`'s `cpu=`, `memory=`,
//! `pods=`, and a room's defaults in `[[rooms]] quota`).

use serde::{Deserialize, Serialize};

use crate::names::{Cpu, Memory};

/// What a namespace's pods may request together; each part absent: no limit on it.
#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq, Eq)]
pub struct NamespaceQuota {
    /// CPUs (`requests.cpu`), such as `"4"` or `"500m"`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpu: Option<Cpu>,
    /// Memory (`requests.memory`), such as `"8Gi"`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memory: Option<Memory>,
    /// Pods (`pods`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pods: Option<u64>,
}

impl NamespaceQuota {
    /// Whether it limits nothing.
    pub fn is_empty(&self) -> bool {
        self.cpu.is_none() && self.memory.is_none() && self.pods.is_none()
    }

    /// Each part of `self`, else of `defaults`.
    pub fn or(self, defaults: &NamespaceQuota) -> NamespaceQuota {
        NamespaceQuota {
            cpu: self.cpu.or_else(|| defaults.cpu.clone()),
            memory: self.memory.or_else(|| defaults.memory.clone()),
            pods: self.pods.or(defaults.pods),
        }
    }

    /// The ResourceQuota's `spec.hard`: resource name → quantity.
    pub fn hard(&self) -> Vec<(&'static str, String)> {
        let mut out = Vec::new();
        if let Some(c) = &self.cpu {
            out.push(("requests.cpu", c.to_string()));
        }
        if let Some(m) = &self.memory {
            out.push(("requests.memory", m.to_string()));
        }
        if let Some(p) = self.pods {
            out.push(("pods", p.to_string()));
        }
        out
    }
}

impl std::fmt::Display for NamespaceQuota {
    /// `cpu 4, memory 8Gi, 40 pods`, or `no quota`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut parts = Vec::new();
        if let Some(c) = &self.cpu {
            parts.push(format!("cpu {c}"));
        }
        if let Some(m) = &self.memory {
            parts.push(format!("memory {m}"));
        }
        if let Some(p) = self.pods {
            parts.push(format!("{p} pods"));
        }
        if parts.is_empty() {
            f.write_str("no quota")
        } else {
            f.write_str(&parts.join(", "))
        }
    }
}
