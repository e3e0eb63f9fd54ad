//! Resource quantities (`500m`, `1.5`, `256Mi`, `1e3`) as apimachinery's `resource.Quantity`
//! holds, adds, compares and prints them (`staging/src/k8s.io/apimachinery/pkg/api/resource/
//! quantity.go`): exact to the nano unit, with the format of the suffix it was written with, and
//! printed in canonical form (`CanonicalizeBytes`: `1000m` is `1`, `1536Mi` stays `1536Mi`,
//! `1024` bytes written as `1Ki` is `1Ki`, `0.5` is `500m`).

use std::cmp::Ordering;
use std::fmt;

/// The format a quantity keeps (its suffix family).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Format {
    /// `m`, `k`, `M`, `G`... or no suffix.
    DecimalSi,
    /// `Ki`, `Mi`, `Gi`...
    BinarySi,
    /// `1e3`.
    DecimalExponent,
}

/// A quantity: its value in nano units and its format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Quantity {
    nanos: i128,
    format: Format,
}

const NANO: i128 = 1_000_000_000;

const BINARY: [(&str, u32); 6] = [
    ("Ki", 1),
    ("Mi", 2),
    ("Gi", 3),
    ("Ti", 4),
    ("Pi", 5),
    ("Ei", 6),
];

const DECIMAL: [(&str, i32); 10] = [
    ("n", -9),
    ("u", -6),
    ("m", -3),
    ("", 0),
    ("k", 3),
    ("M", 6),
    ("G", 9),
    ("T", 12),
    ("P", 15),
    ("E", 18),
];

impl Quantity {
    /// Zero, as a new `resource.Quantity{Format: DecimalSI}`.
    pub fn zero() -> Quantity {
        Quantity {
            nanos: 0,
            format: Format::DecimalSi,
        }
    }

    /// A whole number of units (`resource.NewQuantity(n, DecimalSI)`).
    pub fn units(n: i64) -> Quantity {
        Quantity {
            nanos: i128::from(n) * NANO,
            format: Format::DecimalSi,
        }
    }

    /// Parses a quantity as `resource.ParseQuantity` accepts it; `None` when it does not.
    /// Digits beyond the nano unit are rounded up, as the real parser does.
    pub fn parse(s: &str) -> Option<Quantity> {
        let s = s.trim();
        let (negative, body) = match s.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, s.strip_prefix('+').unwrap_or(s)),
        };
        let end = body
            .find(|c: char| !c.is_ascii_digit() && c != '.')
            .unwrap_or(body.len());
        let (number, suffix) = body.split_at(end);
        let (int, frac) = number.split_once('.').unwrap_or((number, ""));
        if (int.is_empty() && frac.is_empty()) || frac.contains('.') {
            return None;
        }
        let mantissa: i128 = format!("{int}{frac}").parse().ok()?;
        let mut exp10 = -(frac.len() as i32);
        let format;
        let mut binary = 0;
        if let Some((_, n)) = BINARY.iter().find(|(b, _)| *b == suffix) {
            format = Format::BinarySi;
            binary = *n;
        } else if let Some((_, e)) = DECIMAL.iter().find(|(d, _)| *d == suffix) {
            format = Format::DecimalSi;
            exp10 += e;
        } else {
            let e: i32 = suffix
                .strip_prefix('e')
                .or_else(|| suffix.strip_prefix('E'))?
                .parse()
                .ok()?;
            format = Format::DecimalExponent;
            exp10 += e;
        }
        // Value in nanos: mantissa × 10^exp10 × 1024^binary × 10^9, rounded up.
        let mut num = mantissa.checked_mul(1024_i128.checked_pow(binary)?)?;
        let mut den: i128 = 1;
        let shift = exp10 + 9;
        if shift >= 0 {
            num = num.checked_mul(10_i128.checked_pow(shift as u32)?)?;
        } else {
            den = 10_i128.checked_pow((-shift) as u32)?;
        }
        let nanos = (num + den - 1) / den;
        Some(Quantity {
            nanos: if negative { -nanos } else { nanos },
            format,
        })
    }

    /// Whether the value is zero.
    pub fn is_zero(&self) -> bool {
        self.nanos == 0
    }

    /// The value in units (cores, bytes), as a float.
    pub fn as_f64(&self) -> f64 {
        self.nanos as f64 / NANO as f64
    }

    /// `q.Add(other)`: the sum keeps this quantity's format unless this one is zero.
    pub fn add(&self, other: &Quantity) -> Quantity {
        Quantity {
            nanos: self.nanos + other.nanos,
            format: if self.is_zero() {
                other.format
            } else {
                self.format
            },
        }
    }

    /// The larger of the two (`maxResourceList`: the other only when strictly greater).
    pub fn max(self, other: Quantity) -> Quantity {
        if other.nanos > self.nanos {
            other
        } else {
            self
        }
    }
}

impl PartialOrd for Quantity {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.nanos.cmp(&other.nanos))
    }
}

/// Removes factors of `base` from `n`: what is left and how many were removed.
fn remove_factors(mut n: i128, base: i128) -> (i128, i32) {
    let mut times = 0;
    while n != 0 && n % base == 0 {
        n /= base;
        times += 1;
    }
    (n, times)
}

impl fmt::Display for Quantity {
    /// `Quantity.String()`: the canonical form.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.nanos == 0 {
            return f.write_str("0");
        }
        let whole = self.nanos % NANO == 0;
        let small = self.nanos.abs() < 1024 * NANO;
        if self.format == Format::BinarySi && whole && !small {
            let (amount, exp) = remove_factors(self.nanos / NANO, 1024);
            let (amount, exp) = if exp > 6 {
                (amount * 1024_i128.pow((exp - 6) as u32), 6)
            } else {
                (amount, exp)
            };
            let suffix = BINARY
                .iter()
                .find(|(_, n)| *n as i32 == exp)
                .map_or("", |(s, _)| *s);
            return write!(f, "{amount}{suffix}");
        }
        // Decimal: the mantissa without trailing zeros, its exponent moved down to a multiple of 3.
        let (mut amount, times) = remove_factors(self.nanos, 10);
        let mut exp = times - 9;
        match exp % 3 {
            1 | -2 => {
                amount *= 10;
                exp -= 1;
            }
            2 | -1 => {
                amount *= 100;
                exp -= 2;
            }
            _ => {}
        }
        let suffix = match self.format {
            Format::DecimalExponent if exp == 0 => String::new(),
            Format::DecimalExponent => format!("e{exp}"),
            _ => match DECIMAL.iter().find(|(_, e)| *e == exp) {
                Some((s, _)) => (*s).to_string(),
                None => format!("e{exp}"),
            },
        };
        write!(f, "{amount}{suffix}")
    }
}

#[cfg(test)]
mod tests {
    use super::Quantity;

    fn canon(s: &str) -> String {
        Quantity::parse(s)
            .map(|q| q.to_string())
            .unwrap_or_default()
    }

    #[test]
    fn quantity_canonical_forms_match_apimachinery() {
        for (given, printed) in [
            ("500m", "500m"),
            ("0.5", "500m"),
            ("1000m", "1"),
            ("1500m", "1500m"),
            ("2", "2"),
            ("1000", "1k"),
            ("10000", "10k"),
            ("256Mi", "256Mi"),
            ("1536Mi", "1536Mi"),
            ("1.5Gi", "1536Mi"),
            ("1Gi", "1Gi"),
            ("1024Mi", "1Gi"),
            ("512", "512"),
            ("128974848", "128974848"),
            ("100M", "100M"),
            ("1e3", "1e3"),
            ("0", "0"),
            ("0Mi", "0"),
            ("0.1", "100m"),
        ] {
            assert_eq!(canon(given), printed, "{given}");
        }
        assert!(Quantity::parse("abc").is_none());
        assert!(Quantity::parse("1Xi").is_none());
    }

    #[test]
    fn quantity_sums_keep_the_first_nonzero_format() {
        let q = |s: &str| Quantity::parse(s).unwrap_or_else(Quantity::zero);
        assert_eq!(Quantity::zero().add(&q("256Mi")).to_string(), "256Mi");
        assert_eq!(q("256Mi").add(&q("256Mi")).to_string(), "512Mi");
        assert_eq!(q("500m").add(&q("500m")).to_string(), "1");
        assert_eq!(q("250m").add(&q("1")).to_string(), "1250m");
        assert!(q("1") > q("999m"));
        assert!(q("1Gi") > q("1G"));
    }
}
