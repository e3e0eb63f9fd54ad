//! Making user text safe to echo: every character that is not printable ASCII is shown as an
//! escape (`\u{202e}`, `\n`), and echoes are truncated with `…`.
//!
//! Everything the grammar and the name rules put back in front of a user or into a log goes
//! through here, so a NUL, a newline or a right-to-left override in the input never reaches a
//! reply raw.

/// How many characters of one echoed token an error message shows.
pub(crate) const TOKEN_ECHO_LIMIT: usize = 40;

/// Appends `c` to `out`, escaped unless it is printable ASCII (space included).
/// `"` and `\` are escaped too, so an echo inside quotes is unambiguous.
pub(crate) fn push_escaped(out: &mut String, c: char) {
    match c {
        '"' => out.push_str("\\\""),
        '\\' => out.push_str("\\\\"),
        '\n' => out.push_str("\\n"),
        '\r' => out.push_str("\\r"),
        '\t' => out.push_str("\\t"),
        ' '..='~' => out.push(c),
        _ => out.extend(c.escape_unicode()),
    }
}

/// Escapes `raw` and truncates the result to `limit` characters, ending with `…` when
/// something was cut. Escape sequences are never cut in half.
pub(crate) fn escape_truncated(raw: &str, limit: usize) -> String {
    let mut out = String::new();
    let mut used = 0;
    let mut piece = String::new();
    let mut chars = raw.chars().peekable();
    while let Some(c) = chars.next() {
        piece.clear();
        push_escaped(&mut piece, c);
        // Keep room for the ellipsis unless this is the last character.
        let room = if chars.peek().is_some() {
            limit.saturating_sub(1)
        } else {
            limit
        };
        if used + piece.len() > room {
            out.push('…');
            return out;
        }
        used += piece.len();
        out.push_str(&piece);
    }
    out
}

/// A token as it appears in an error message: escaped and truncated to
/// [`TOKEN_ECHO_LIMIT`] characters (without quotes).
pub(crate) fn echo(raw: &str) -> String {
    escape_truncated(raw, TOKEN_ECHO_LIMIT)
}

/// `"token"`: the echo of a token between double quotes.
pub(crate) fn quoted(raw: &str) -> String {
    format!("\"{}\"", echo(raw))
}

/// What a character that is not printable ASCII is, for the reply that rejects it:
/// `U+0441 (a non-ASCII letter; it may look like a Latin one)`.
pub(crate) fn describe_char(c: char) -> String {
    let code = format!("U+{:04X}", u32::from(c));
    let what = match c {
        '\0' => "NUL",
        '\u{7f}' => "DEL",
        '\u{b}' => "a vertical tab",
        c if c.is_ascii_control() => "a control character",
        '\u{a0}' | '\u{202f}' => "a no-break space",
        '\u{200b}'..='\u{200d}' | '\u{2060}' | '\u{feff}' => "an invisible zero-width character",
        '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' | '\u{200e}' | '\u{200f}' => {
            "an invisible text-direction control"
        }
        '\u{ff01}'..='\u{ff5e}' => "a full-width character",
        '\u{2018}' | '\u{2019}' | '\u{201c}' | '\u{201d}' => "a typographic quote",
        '\u{2010}'..='\u{2015}' | '\u{2212}' => "a typographic dash",
        c if c.is_whitespace() => "a non-ASCII space",
        c if c.is_control() => "a control character",
        c if c.is_alphabetic() => "a non-ASCII letter; it may look like a Latin one",
        c if c.is_numeric() => "a non-ASCII digit",
        _ => "a non-ASCII character",
    };
    format!("{code} ({what})")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn printable_ascii_is_kept_and_quotes_are_escaped() {
        assert_eq!(echo("lab-1"), "lab-1");
        assert_eq!(echo("a\"b\\c"), "a\\\"b\\\\c");
    }

    #[test]
    fn controls_and_non_ascii_are_escaped() {
        assert_eq!(echo("a\0b"), "a\\u{0}b");
        assert_eq!(echo("x\ny"), "x\\ny");
        assert_eq!(echo("\u{202e}1"), "\\u{202e}1");
        assert_eq!(echo("сluster"), "\\u{441}luster");
    }

    #[test]
    fn truncation_keeps_escapes_whole_and_marks_the_cut() {
        let long = "a".repeat(100);
        let e = echo(&long);
        assert_eq!(e.chars().count(), TOKEN_ECHO_LIMIT);
        assert!(e.ends_with('…'));
        assert_eq!(echo(&"a".repeat(40)), "a".repeat(40));
        let nuls = "\0".repeat(20);
        let e = echo(&nuls);
        assert!(e.ends_with("\\u{0}…"), "{e}");
        assert!(e.chars().count() <= TOKEN_ECHO_LIMIT);
    }

    #[test]
    fn characters_are_described_by_code_point() {
        assert_eq!(
            describe_char('с'),
            "U+0441 (a non-ASCII letter; it may look like a Latin one)"
        );
        assert_eq!(describe_char('\0'), "U+0000 (NUL)");
        assert!(describe_char('\u{202e}').contains("text-direction"));
        assert!(describe_char('\u{a0}').contains("no-break space"));
        assert!(describe_char('ｃ').contains("full-width"));
    }
}
