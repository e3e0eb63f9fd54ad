//! Resource quantities a user gives for a namespace's quota: CPUs ([`Cpu`]: `2`, `0.5`,
//! `500m`) and memory sizes ([`Memory`]: `512Mi`, `8Gi`), in the subset of Kubernetes'
//! quantity syntax people write, within bounds that make sense for one lab namespace. The
//! validated text is passed to the API server as written (it reads the same syntax).

use super::Check;

/// The fewest and most CPUs a quota may give, in millicores: 100m and 1024.
pub const CPU_MILLIS: (u64, u64) = (100, 1024 * 1000);

/// The least and most memory a quota may give, bytes: 64Mi and 16Ti.
pub const MEMORY_BYTES: (u128, u128) = (64 << 20, 16 << 40);

/// A number of CPUs: a whole or decimal number (`2`, `0.5`, at most 3 decimals) or
/// millicores (`500m`).
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Cpu(String);

/// An amount of memory: a whole number with a binary (`Ki`, `Mi`, `Gi`, `Ti`) or decimal
/// (`k`, `M`, `G`, `T`) suffix, or plain bytes.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Memory(String);

super::text_newtype!(Cpu => Cpu, cpu; Memory => Memory, memory);

impl Cpu {
    /// The amount in millicores.
    pub fn millis(&self) -> u64 {
        // Validated by `cpu`, which computed the same value.
        cpu_millis(&self.0).unwrap_or_default()
    }
}

impl Memory {
    /// The amount in bytes.
    pub fn bytes(&self) -> u128 {
        // Validated by `memory`, which computed the same value.
        bytes(&self.0).unwrap_or_default()
    }
}

/// Millicores in `s`, or `None` when it is not of [`Cpu`]'s form.
fn cpu_millis(s: &str) -> Option<u64> {
    if let Some(m) = s.strip_suffix('m') {
        return digits(m)?.parse().ok();
    }
    let (whole, frac) = s.split_once('.').unwrap_or((s, ""));
    let whole: u64 = digits(whole)?.parse().ok()?;
    if s.contains('.') && (frac.is_empty() || frac.len() > 3) {
        return None;
    }
    let frac: u64 = if frac.is_empty() {
        0
    } else {
        format!("{:0<3}", digits(frac)?).parse().ok()?
    };
    whole.checked_mul(1000)?.checked_add(frac)
}

fn digits(s: &str) -> Option<&str> {
    (!s.is_empty() && s.len() <= 12 && s.bytes().all(|b| b.is_ascii_digit())).then_some(s)
}

/// Bytes in a quantity (`512Mi`, `8Gi`, `1G`, `1000`); `None` when malformed.
pub fn bytes(s: &str) -> Option<u128> {
    let split = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    let (num, unit) = s.split_at(split);
    let n: u128 = digits(num)?.parse().ok()?;
    let mult: u128 = match unit {
        "" => 1,
        "Ki" => 1 << 10,
        "Mi" => 1 << 20,
        "Gi" => 1 << 30,
        "Ti" => 1 << 40,
        "k" => 1_000,
        "M" => 1_000_000,
        "G" => 1_000_000_000,
        "T" => 1_000_000_000_000,
        _ => return None,
    };
    n.checked_mul(mult)
}

fn cpu(s: &str) -> Check<()> {
    let Some(m) = cpu_millis(s) else {
        return Err(None);
    };
    let (lo, hi) = CPU_MILLIS;
    if m < lo {
        return Err(Some(format!("{s} is less than {lo}m")));
    }
    if m > hi {
        return Err(Some(format!("{s} is more than {} CPUs", hi / 1000)));
    }
    Ok(())
}

fn memory(s: &str) -> Check<()> {
    let Some(b) = bytes(s) else {
        let unit = s.trim_start_matches(|c: char| c.is_ascii_digit());
        let binary = ["ki", "mi", "gi", "ti"].contains(&unit.to_ascii_lowercase().as_str());
        return Err(binary.then(|| "units are written Ki, Mi, Gi or Ti".into()));
    };
    let (lo, hi) = MEMORY_BYTES;
    if b < lo {
        return Err(Some(format!("{s} is less than 64Mi")));
    }
    if b > hi {
        return Err(Some(format!("{s} is more than 16Ti")));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpus_in_the_forms_people_write() {
        for (text, m) in [("2", 2000), ("0.5", 500), ("1.25", 1250), ("500m", 500)] {
            assert_eq!(Cpu::parse(text).map(|c| c.millis()), Ok(m), "{text}");
        }
        for bad in [
            "", "-1", "1.", ".5", "0.0001", "2 cpus", "1e3", "50m", "2000",
        ] {
            assert!(Cpu::parse(bad).is_err(), "{bad}");
        }
        let e = Cpu::parse("50m").unwrap_err().to_string();
        assert!(e.contains("less than 100m"), "{e}");
    }

    #[test]
    fn memory_sizes() {
        assert_eq!(Memory::parse("8Gi").map(|m| m.bytes()), Ok(8 << 30));
        assert_eq!(Memory::parse("512M").map(|m| m.bytes()), Ok(512_000_000));
        assert_eq!(Memory::parse("65536Ki").map(|m| m.bytes()), Ok(64 << 20));
        assert_eq!(Memory::parse("1Ti").map(|m| m.bytes()), Ok(1 << 40));
        for bad in ["", "8gi", "8GB", "1Mi", "17Ti", "-1Gi", "1.5Gi"] {
            assert!(Memory::parse(bad).is_err(), "{bad}");
        }
        for wrong_case in ["8mi", "8GI", "8ti", "65536ki"] {
            let e = Memory::parse(wrong_case).unwrap_err().to_string();
            assert!(e.contains("units are written Ki, Mi, Gi or Ti"), "{e}");
        }
    }
}
