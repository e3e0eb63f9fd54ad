//! The syntax rules for the names and versions a user or an operator gives, each written once:
//! DNS labels and subdomains, image tags and repositories, Kubernetes minor versions, pod
//! networks, POSIX user names, resource quantities ([`Cpu`], [`Memory`]) and host addresses
//! ([`host_addr`], [`Special`]), and how many control planes a cluster may have ([`quorum`]).
//!
//! Each rule is a validated newtype ([`Name`], [`Subdomain`], [`Version`], [`ImageRepo`],
//! [`K8sMinor`], [`Cidr`], [`UserName`]) built only by its `parse` (also [`std::str::FromStr`]
//! and a validating `Deserialize`), so a value of the type always holds text the rule accepts.
//! A refusal is a [`NameError`] carrying the human reason the chat replies show; [`Rule::form`]
//! is the accepted form they show after "expected".
//!
//! A leaf: nothing else from the crate is used here, so the grammar (`command`), the config
//! and the Kubernetes layer can all depend on it. `escape` (making user text safe to echo)
//! lives here because refusals echo the text they refuse.

pub(crate) mod escape;

mod addr;
mod cidr;
pub mod endpoint;
mod image;
mod k8s;
mod label;
pub mod quantity;
pub mod quorum;
mod user;

#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_addr;

pub use addr::{Special, host as host_addr};
pub use cidr::{Cidr, dual_stack, ipv6_network};
pub use image::{ImageRepo, Version};
pub use k8s::{
    DEFAULT_MINOR, K8sMinor, Minor, SUPPORTED as SUPPORTED_MINORS, minor_number, minor_of_version,
    next_minor, upgrade_step,
};
pub use label::{Name, Subdomain, is_param_name};
pub use quantity::{Cpu, Memory};
pub use user::UserName;

/// Which syntax rule a text was checked against.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Rule {
    /// A DNS-1123 label: [`Name`].
    Label,
    /// A DNS-1123 subdomain: [`Subdomain`].
    Subdomain,
    /// An image tag: [`Version`].
    Tag,
    /// An image repository: [`ImageRepo`].
    Repo,
    /// A Kubernetes minor version: [`K8sMinor`].
    K8sMinor,
    /// A pod network: [`Cidr`].
    Cidr,
    /// A POSIX user name: [`UserName`].
    User,
    /// A number of CPUs: [`Cpu`].
    Cpu,
    /// An amount of memory: [`Memory`].
    Memory,
}

impl Rule {
    /// The accepted form, as shown after "expected" and in `/help`.
    pub fn form(self) -> std::borrow::Cow<'static, str> {
        std::borrow::Cow::Borrowed(match self {
            Rule::Label => {
                "a DNS label: 1-63 lowercase letters, digits or '-', starting and ending with a \
                 letter or digit"
            }
            Rule::Subdomain => {
                "a DNS subdomain: up to 253 characters of DNS labels joined by '.', such as \
                 orion-config"
            }
            Rule::Tag => {
                "an image tag: up to 128 letters, digits, '_', '.' or '-', not starting with '.' \
                 or '-', such as 4.1.0"
            }
            Rule::Repo => {
                "an image repository: an optional registry host, then lowercase path components \
                 separated by '/', such as quay.io/fiware/orion-ld"
            }
            Rule::K8sMinor => {
                return std::borrow::Cow::Owned(format!(
                    "a Kubernetes minor version upstream still supports: {}",
                    k8s::supported_list()
                ));
            }
            Rule::Cidr => {
                "an IPv4 network with a prefix of /8 to /24 or an IPv6 network with a prefix of \
                 /48 to /64, host bits zero, such as 10.244.0.0/16; for dual stack both, IPv4 \
                 first: 10.244.0.0/16,fd00:10:244::/56"
            }
            Rule::User => {
                "a user name: up to 32 lowercase letters, digits, '_' or '-', starting with a \
                 letter or '_', such as ubuntu"
            }
            Rule::Cpu => "a number of CPUs such as 2, 0.5 or 500m, from 100m to 1024",
            Rule::Memory => "a size such as 512Mi, 8Gi or 1Ti, from 64Mi to 16Ti",
        })
    }
}

/// A text refused by a [`Rule`]. The message echoes the text escaped and truncated
/// (`escape::quoted`), gives the reason when there is more to say than the form, and ends
/// with the accepted form.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum NameError {
    /// Refused for a reason worth saying (`it is empty`, `names are lowercase: lab`).
    #[error("{}: {reason}; expected {}", escape::quoted(text), rule.form())]
    Refused {
        /// The rule.
        rule: Rule,
        /// The refused text, raw.
        text: String,
        /// Why, in the words the chat replies use.
        reason: String,
    },
    /// Not of the form at all; the form says it all.
    #[error("{} is not {}", escape::quoted(text), rule.form())]
    Malformed {
        /// The rule.
        rule: Rule,
        /// The refused text, raw.
        text: String,
    },
}

impl NameError {
    /// The reason, when the refusal has one beyond "not of the form".
    pub fn reason(&self) -> Option<&str> {
        match self {
            NameError::Refused { reason, .. } => Some(reason),
            NameError::Malformed { .. } => None,
        }
    }

    /// The rule that refused.
    pub fn rule(&self) -> Rule {
        match self {
            NameError::Refused { rule, .. } | NameError::Malformed { rule, .. } => *rule,
        }
    }
}

/// What a rule's check says before the text is attached: `Some(reason)` or `None` (malformed).
type Check<T> = Result<T, Option<String>>;

/// Attaches `rule` and `text` to a check's refusal.
fn refuse<T>(rule: Rule, text: &str, check: Check<T>) -> Result<T, NameError> {
    check.map_err(|reason| match reason {
        Some(reason) => NameError::Refused {
            rule,
            text: text.to_owned(),
            reason,
        },
        None => NameError::Malformed {
            rule,
            text: text.to_owned(),
        },
    })
}

fn is_digits(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())
}

/// Says which character of `s` is the first one `ok` refuses (escaped for echoing); every
/// character that is not ASCII is refused.
fn first_bad(s: &str, ok: impl Fn(u8) -> bool) -> Option<String> {
    let c = s
        .chars()
        .find(|&c| !u8::try_from(c).is_ok_and(|b| b.is_ascii() && ok(b)))?;
    let mut shown = String::new();
    escape::push_escaped(&mut shown, c);
    Some(format!("'{shown}' is not allowed"))
}

/// Refuses the first character of `s` that is neither `ok` nor an uppercase letter, then any
/// uppercase letter, showing the lowercase spelling (`{what} are lowercase: lab-1`).
fn lowercase(s: &str, what: &str, ok: impl Fn(u8) -> bool) -> Check<()> {
    if let Some(reason) = first_bad(s, |b| ok(b) || b.is_ascii_uppercase()) {
        return Err(Some(reason));
    }
    if s.bytes().any(|b| b.is_ascii_uppercase()) {
        return Err(Some(format!(
            "{what} are lowercase: {}",
            s.to_ascii_lowercase()
        )));
    }
    Ok(())
}

/// Refuses `s` when it is empty or longer than `limit`, in the words every rule uses.
fn length(s: &str, limit: usize) -> Check<()> {
    if s.is_empty() {
        return Err(Some("it is empty".into()));
    }
    if s.len() > limit {
        return Err(Some(format!(
            "it is {} characters long; the limit is {limit}",
            s.len()
        )));
    }
    Ok(())
}

/// The shared surface of a validated text newtype: `as_str`, `Display`, `FromStr`, `AsRef`,
/// and serde as a plain string that deserialises only through `parse`, so a stored or
/// configured value can never hold what the rule refuses. With `=> Rule, check`, also the
/// `parse` that keeps the text as given when `check` (a `Check<()>`) accepts it.
macro_rules! text_newtype {
    ($($t:ident => $rule:ident, $check:path);*) => {$(
        impl $t {
            #[doc = concat!(
                "Validates the text by [`Rule::", stringify!($rule),
                "`](crate::names::Rule::", stringify!($rule), ")."
            )]
            pub fn parse(text: &str) -> Result<Self, $crate::names::NameError> {
                let rule = $crate::names::Rule::$rule;
                $crate::names::refuse(rule, text, $check(text)).map(|()| Self(text.to_owned()))
            }
        }
        $crate::names::text_newtype!($t);
    )*};
    ($($t:ident),*) => {$(
        impl $t {
            /// The validated text.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }
        impl std::fmt::Display for $t {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(&self.0)
            }
        }
        impl AsRef<str> for $t {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }
        impl std::str::FromStr for $t {
            type Err = $crate::names::NameError;
            fn from_str(text: &str) -> Result<Self, Self::Err> {
                Self::parse(text)
            }
        }
        impl serde::Serialize for $t {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(&self.0)
            }
        }
        impl<'de> serde::Deserialize<'de> for $t {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let text = String::deserialize(d)?;
                Self::parse(&text).map_err(serde::de::Error::custom)
            }
        }
    )*};
}
use text_newtype;
