//! Whose account is whose: the ServiceAccount name of a chat user, and the access levels.

use sha2::{Digest, Sha256};

use crate::auth::Principal;

/// The namespace the bot keeps the users' ServiceAccounts in.
pub const ACCESS_NAMESPACE: &str = "labkube-access";
/// Characters of the user's id kept in the account's name (the rest of the 63 is the platform
/// and a hash that keeps two ids that read alike apart).
const SLUG_MAX: usize = 30;

/// How much a kubeconfig may do.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Access {
    /// Read the namespace's workloads (the built-in `view` ClusterRole: no Secrets).
    View,
    /// Change them too (`edit`: no RBAC, no quotas).
    Edit,
    /// Everything on the cluster (`cluster-admin`; labkube admins only).
    Admin,
}

impl Access {
    /// Every level, as `/kubeconfig access=` takes them.
    pub const ALL: [Access; 3] = [Access::View, Access::Edit, Access::Admin];
    /// Their words, in the same order.
    pub const WORDS: &'static [&'static str] = &["view", "edit", "admin"];

    /// The word for it (`view`).
    pub fn word(self) -> &'static str {
        match self {
            Access::View => "view",
            Access::Edit => "edit",
            Access::Admin => "admin",
        }
    }

    /// The built-in ClusterRole it binds.
    pub fn cluster_role(self) -> &'static str {
        match self {
            Access::View => "view",
            Access::Edit => "edit",
            Access::Admin => "cluster-admin",
        }
    }

    /// The level named `word`.
    pub fn parse(word: &str) -> Option<Access> {
        Access::ALL.into_iter().find(|a| a.word() == word)
    }
}

/// The ServiceAccount name of `who`: `<platform>-<what of their id is a DNS label>-<hash>`,
/// a DNS label of at most 63 characters, the same for the same user on every cluster.
pub fn account_name(who: &Principal) -> String {
    let mut slug = String::new();
    for c in who.user.chars().flat_map(char::to_lowercase) {
        if c.is_ascii_lowercase() || c.is_ascii_digit() {
            slug.push(c);
        } else if !slug.ends_with('-') && !slug.is_empty() {
            slug.push('-');
        }
        if slug.len() >= SLUG_MAX {
            break;
        }
    }
    let slug = slug.trim_matches('-');
    let digest = Sha256::digest(format!("{}:{}", who.platform, who.user).as_bytes());
    let hash: String = digest.iter().take(4).map(|b| format!("{b:02x}")).collect();
    let platform: String = who
        .platform
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .map(|c| c.to_ascii_lowercase())
        .take(12)
        .collect();
    if slug.is_empty() {
        format!("{platform}-{hash}")
    } else {
        format!("{platform}-{slug}-{hash}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn who(platform: &str, user: &str) -> Principal {
        Principal {
            platform: platform.into(),
            user: user.into(),
        }
    }

    #[test]
    fn account_names_are_dns_labels_and_tell_users_apart() {
        let a = account_name(&who("matrix", "@Alice:lab.example"));
        assert!(a.starts_with("matrix-alice-lab-example-"), "{a}");
        let b = account_name(&who("matrix", "@alice:lab-example"));
        assert_ne!(a, b, "ids that read alike stay apart");
        let long = account_name(&who("telegram", &"9".repeat(200)));
        let odd = account_name(&who("console", "@@@"));
        for n in [&a, &b, &long, &odd] {
            assert!(crate::names::Name::parse(n).is_ok(), "{n}");
        }
        assert_eq!(a, account_name(&who("matrix", "@Alice:lab.example")));
        assert_eq!(Access::parse("edit"), Some(Access::Edit));
        assert_eq!(Access::Admin.cluster_role(), "cluster-admin");
        assert_eq!(Access::parse("root"), None);
        assert_eq!(
            Access::ALL.map(Access::word),
            Access::WORDS,
            "the words /kubeconfig takes"
        );
    }
}
