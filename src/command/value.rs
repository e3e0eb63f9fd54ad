//! The kinds of argument value and their validators.
//!
//! Every validator accepts a strict subset of printable ASCII that contains no shell
//! metacharacter (`;|&$`'"<>(){}*?~!#%^[]\` and space are never accepted), so nothing the
//! parser returns needs quoting to be harmless. Names, tags, versions, networks and user
//! names are checked by their rules in [`crate::names`]; the rest is checked here.

use std::net::IpAddr;

use crate::names::{
    Cidr, Cpu, K8sMinor, Memory, Name, NameError, Rule, Special, UserName, Version, host_addr,
};

/// A validator's complaint: `Some(reason)` when it can say more than "expected FORM".
pub(crate) type Reason = Option<String>;

/// The kind of one argument value; decides its validator and its accepted-form text.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    /// A host address (IPv4 or IPv6).
    Ip,
    /// A DNS-1123 label.
    Label,
    /// An image tag.
    Tag,
    /// A Kubernetes minor version.
    K8sMinor,
    /// A pod network CIDR.
    Cidr,
    /// A POSIX user name.
    User,
    /// A number of CPUs.
    Cpu,
    /// An amount of memory.
    Memory,
    /// A whole number in `min..=max`.
    Int { min: u64, max: u64 },
    /// A control-plane count ([`crate::names::quorum`]).
    ControlPlanes,
    /// A job number, `42` or `#42`.
    JobId,
    /// A confirmation code; a secret, masked in audits.
    Code,
    /// Exactly this word.
    Keyword(&'static str),
    /// One of these words.
    OneOf(&'static [&'static str]),
    /// A command word asked about in `/help`.
    Topic,
    /// A duration such as `30m`, `2h` or `1d`, in seconds within the bounds.
    Duration {
        /// Shortest, s.
        min_secs: u64,
        /// Longest, s.
        max_secs: u64,
    },
    /// What `/silence` keeps quiet: a GE name, `node/NAME` or `cluster`.
    SilenceTarget,
    /// A word of free text (a reason): any token the lexer lets through, at most 64 bytes.
    Word,
}

/// A validated value, before a builder puts it into a [`super::Command`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Value {
    /// From [`Kind::Ip`].
    Ip(IpAddr),
    /// From [`Kind::Label`].
    Name(Name),
    /// From [`Kind::Tag`].
    Version(Version),
    /// From [`Kind::K8sMinor`].
    K8sMinor(K8sMinor),
    /// From [`Kind::Cidr`].
    Cidr(Cidr),
    /// From [`Kind::User`].
    User(UserName),
    /// From [`Kind::Cpu`].
    Cpu(Cpu),
    /// From [`Kind::Memory`].
    Memory(Memory),
    /// From [`Kind::Int`] and [`Kind::JobId`].
    Int(u64),
    /// From [`Kind::Code`], [`Kind::Keyword`], [`Kind::Topic`] (lowercase) and [`Kind::Word`].
    Text(String),
    /// From [`Kind::SilenceTarget`].
    Target(crate::command::types::SilenceTarget),
}

impl std::fmt::Display for Value {
    /// The canonical text of the value, as it re-parses.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Value::Ip(v) => v.fmt(f),
            Value::Name(v) => v.fmt(f),
            Value::Version(v) => v.fmt(f),
            Value::K8sMinor(v) => v.fmt(f),
            Value::Cidr(v) => v.fmt(f),
            Value::User(v) => v.fmt(f),
            Value::Cpu(v) => v.fmt(f),
            Value::Memory(v) => v.fmt(f),
            Value::Int(v) => v.fmt(f),
            Value::Text(v) => v.fmt(f),
            Value::Target(v) => v.fmt(f),
        }
    }
}

impl Kind {
    /// The accepted form, as shown after "expected" and in `/help`.
    pub(crate) fn form(self) -> String {
        match self {
            Kind::Ip => "an IPv4 or IPv6 address such as 10.0.0.1 or fd00::1 \
                         (no leading zeros, brackets or %zone)"
                .into(),
            Kind::Label => Rule::Label.form().into(),
            Kind::Tag => Rule::Tag.form().into(),
            Kind::K8sMinor => Rule::K8sMinor.form().into(),
            Kind::Cidr => Rule::Cidr.form().into(),
            Kind::User => Rule::User.form().into(),
            Kind::Cpu => Rule::Cpu.form().into(),
            Kind::Memory => Rule::Memory.form().into(),
            Kind::Int { min, max } => format!("a whole number from {min} to {max}"),
            Kind::ControlPlanes => crate::names::quorum::FORM.into(),
            Kind::JobId => "a job number such as 42 or #42".into(),
            Kind::Code => "4 to 16 lowercase letters and digits, as the bot gave them".into(),
            Kind::Keyword(word) => format!("the word {word} (the only accepted value)"),
            Kind::OneOf(words) => format!("one of: {}", words.join(", ")),
            Kind::Topic => "a command word such as cluster or ge".into(),
            Kind::Duration { min_secs, max_secs } => format!(
                "a duration such as 30m, 2h or 1d, from {} to {}",
                duration_text(min_secs),
                duration_text(max_secs)
            ),
            Kind::SilenceTarget => {
                "a GE name such as orion, node/NAME such as node/worker-2, or cluster".into()
            }
            Kind::Word => "a word of at most 64 characters".into(),
        }
    }

    /// Whether values of this kind are secrets, masked as `***` in audits and logs.
    pub(crate) fn is_secret(self) -> bool {
        self == Kind::Code
    }

    /// Validates `text` (already known to be printable ASCII without spaces).
    pub(crate) fn validate(self, text: &str) -> Result<Value, Reason> {
        match self {
            Kind::Ip => ip(text).map(Value::Ip),
            Kind::Label => Name::parse(text).map(Value::Name).map_err(reason),
            Kind::Tag => Version::parse(text).map(Value::Version).map_err(reason),
            Kind::K8sMinor => K8sMinor::parse(text).map(Value::K8sMinor).map_err(reason),
            Kind::Cidr => Cidr::parse(text).map(Value::Cidr).map_err(reason),
            Kind::User => UserName::parse(text).map(Value::User).map_err(reason),
            Kind::Cpu => Cpu::parse(text).map(Value::Cpu).map_err(reason),
            Kind::Memory => Memory::parse(text).map(Value::Memory).map_err(reason),
            Kind::Int { min, max } => int(text, min, max).map(Value::Int),
            Kind::ControlPlanes => crate::names::quorum::check(number(text)?)
                .map(Value::Int)
                .map_err(Some),
            Kind::JobId => job_id(text).map(Value::Int),
            Kind::Code => code(text).map(|()| Value::Text(text.to_owned())),
            Kind::Keyword(word) if text == word => Ok(Value::Text(word.to_owned())),
            Kind::Keyword(_) => Err(None),
            Kind::OneOf(words) => words
                .iter()
                .find(|w| **w == text)
                .map(|w| Value::Text((*w).to_owned()))
                .ok_or(None),
            Kind::Topic => topic(text).map(Value::Text),
            Kind::Duration { min_secs, max_secs } => {
                duration(text, min_secs, max_secs).map(Value::Int)
            }
            Kind::SilenceTarget => silence_target(text).map(Value::Target),
            Kind::Word if text.len() <= 64 => Ok(Value::Text(text.to_owned())),
            Kind::Word => Err(Some("it is longer than 64 characters".into())),
        }
    }
}

fn is_digits(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())
}

/// A name rule's refusal as a validator's complaint (the rule's form is [`Kind::form`]).
fn reason(e: NameError) -> Reason {
    e.reason().map(str::to_owned)
}

/// A host address: what [`Kind::Ip`] accepts.
pub(crate) fn ip(s: &str) -> Result<IpAddr, Reason> {
    if s.contains('%') {
        return Err(Some("zone ids (the %... part) are not accepted".into()));
    }
    if s.starts_with('[') || s.ends_with(']') {
        return Err(Some("write the address without brackets".into()));
    }
    if s.contains('/') {
        return Err(Some("that is a network; give a single host address".into()));
    }
    let Ok(addr) = s.parse::<IpAddr>() else {
        if let Some((host, port)) = s.rsplit_once(':')
            && host.parse::<std::net::Ipv4Addr>().is_ok()
            && is_digits(port)
        {
            return Err(Some(
                "give the SSH port as port=, not after the address".into(),
            ));
        }
        let dotted = s.split('.').collect::<Vec<_>>();
        if dotted.len() == 4 && dotted.iter().all(|p| is_digits(p)) {
            if dotted.iter().any(|p| p.len() > 1 && p.starts_with('0')) {
                return Err(Some(
                    "leading zeros are not accepted (they may mean octal)".into(),
                ));
            }
            return Err(Some("each of the four numbers must be 0-255".into()));
        }
        return Err(None);
    };
    if let Some(kind) = Special::of(addr)
        && kind.never_a_host()
    {
        return Err(Some(format!("{addr} is {}, not a host", kind.noun())));
    }
    // One address, one form: a mapped `::ffff:10.0.0.1` is 10.0.0.1 for pins and checks.
    Ok(host_addr(addr))
}

/// A decimal number without sign, at most 20 digits (leading zeros are harmless).
fn number(s: &str) -> Result<u64, Reason> {
    if !is_digits(s) {
        return Err(None);
    }
    let digits = s.trim_start_matches('0');
    if digits.len() > 20 {
        return Err(Some("it is far too large".into()));
    }
    if digits.is_empty() {
        return Ok(0);
    }
    digits
        .parse::<u64>()
        .map_err(|_| Some("it is far too large".into()))
}

/// A whole number in `min..=max`: what [`Kind::Int`] accepts.
pub(crate) fn int(s: &str, min: u64, max: u64) -> Result<u64, Reason> {
    let n = number(s)?;
    if n < min {
        return Err(Some(format!("{n} is less than {min}")));
    }
    if n > max {
        return Err(Some(format!("{n} is more than {max}")));
    }
    Ok(n)
}

/// A job number, `42` or `#42`: what [`Kind::JobId`] accepts.
pub(crate) fn job_id(s: &str) -> Result<u64, Reason> {
    let n = number(s.strip_prefix('#').unwrap_or(s))?;
    if n == 0 {
        return Err(Some("job numbers start at 1".into()));
    }
    Ok(n)
}

/// A confirmation code: what [`Kind::Code`] accepts.
pub(crate) fn code(s: &str) -> Result<(), Reason> {
    let ok = |b: u8| b.is_ascii_lowercase() || b.is_ascii_digit();
    if (4..=16).contains(&s.len()) && s.bytes().all(ok) {
        return Ok(());
    }
    if s.bytes().any(|b| b.is_ascii_uppercase()) {
        return Err(Some("codes are lowercase".into()));
    }
    Err(None)
}

/// A command word in `/help`: an optional `/` or `!`, then letters and `-`. Lowercased.
fn topic(s: &str) -> Result<String, Reason> {
    let word = s.strip_prefix(['/', '!']).unwrap_or(s);
    if word.is_empty()
        || word.len() > 40
        || !word.bytes().all(|b| b.is_ascii_alphabetic() || b == b'-')
    {
        return Err(None);
    }
    Ok(word.to_ascii_lowercase())
}

/// A duration as `humantime` reads it (`30m`, `2h`, `1d`, `1h30m`), in whole seconds within
/// `min..=max`: what [`Kind::Duration`] accepts.
pub(crate) fn duration(s: &str, min: u64, max: u64) -> Result<u64, Reason> {
    let d = humantime::parse_duration(s).map_err(|_| None)?;
    let secs = d.as_secs();
    if secs < min {
        return Err(Some(format!("{s} is shorter than {}", duration_text(min))));
    }
    if secs > max {
        return Err(Some(format!("{s} is longer than {}", duration_text(max))));
    }
    Ok(secs)
}

/// `90m`, `2h`, `1d`: the shortest exact form of `secs` that [`duration`] reads back.
pub fn duration_text(secs: u64) -> String {
    for (unit, size) in [("d", 86_400), ("h", 3_600), ("m", 60)] {
        if secs >= size && secs.is_multiple_of(size) {
            return format!("{}{unit}", secs / size);
        }
    }
    format!("{secs}s")
}

/// What [`Kind::SilenceTarget`] accepts. A node's name is a DNS subdomain: labels by the label
/// rule joined by dots, at most 253 characters.
fn silence_target(s: &str) -> Result<crate::command::types::SilenceTarget, Reason> {
    use crate::command::types::SilenceTarget;
    if s == "cluster" {
        return Ok(SilenceTarget::Cluster);
    }
    if let Some(node) = s.strip_prefix("node/") {
        if node.is_empty() || node.len() > 253 {
            return Err(Some("a node name has 1 to 253 characters".into()));
        }
        for label in node.split('.') {
            Name::parse(label).map_err(|e| {
                let why = e.reason().map_or_else(|| Rule::Label.form(), Into::into);
                Some(format!("a node name is labels joined by dots, each {why}"))
            })?;
        }
        return Ok(SilenceTarget::Node(node.to_owned()));
    }
    Name::parse(s).map(SilenceTarget::Ge).map_err(reason)
}
