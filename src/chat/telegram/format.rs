//! The bot's plain text as Telegram HTML: `&`, `<` and `>` escaped; aligned lines (tables, host
//! lists, indented detail) in `<pre>` blocks so their columns survive a proportional font; and
//! Telegram's 4096-character limit kept, by splitting a long message into several or, where
//! only one message can change (an edit), cutting it with a pointer to `/job <id>`.

/// Telegram's limit on a message's text, in UTF-16 code units after entity parsing (tags do not
/// count, escapes count as the character they stand for).
pub const MAX_CHARS: usize = 4096;

/// The visible length of `text` as Telegram counts it.
fn units(text: &str) -> usize {
    text.chars().map(char::len_utf16).sum()
}

/// Escapes text for Telegram's HTML parse mode.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            _ => out.push(c),
        }
    }
    out
}

/// A line whose spacing carries meaning: indented, or with columns aligned by runs of spaces.
fn is_preformatted(line: &str) -> bool {
    line.starts_with([' ', '\t']) || line.contains("  ")
}

/// A table row: columns separated by runs of spaces after any indentation (a one-host job's
/// table, a one-job /jobs), unlike an indented description, which is one run of words.
fn is_table_row(line: &str) -> bool {
    line.trim_start().trim_end().contains("  ")
}

/// Renders plain lines as HTML: consecutive preformatted lines become one `<pre>` block when
/// there are two or more of them (a table) or one is a table row (a table of one row); a lone
/// indented line (a description under a usage line) stays text.
fn render(lines: &[&str]) -> String {
    let mut out = String::new();
    let mut i = 0;
    while i < lines.len() {
        let run = lines[i..].iter().take_while(|l| is_preformatted(l)).count();
        let pre = run >= 2 || (run == 1 && is_table_row(lines[i]));
        let j = if pre {
            i + run
        } else {
            // Text up to the next table.
            let mut j = i + 1;
            while j < lines.len()
                && !(is_preformatted(lines[j])
                    && (is_table_row(lines[j])
                        || lines.get(j + 1).is_some_and(|l| is_preformatted(l))))
            {
                j += 1;
            }
            j
        };
        if !out.is_empty() {
            out.push('\n');
        }
        let block = lines[i..j]
            .iter()
            .map(|l| escape(l))
            .collect::<Vec<_>>()
            .join("\n");
        if pre {
            out.push_str("<pre>");
            out.push_str(&block);
            out.push_str("</pre>");
        } else {
            out.push_str(&block);
        }
        i = j;
    }
    out
}

/// Cuts one line into pieces of at most `max` units (at character boundaries).
fn cut_line(line: &str, max: usize) -> Vec<&str> {
    let mut pieces = Vec::new();
    let (mut start, mut n) = (0, 0);
    for (i, c) in line.char_indices() {
        if n + c.len_utf16() > max {
            pieces.push(&line[start..i]);
            start = i;
            n = 0;
        }
        n += c.len_utf16();
    }
    pieces.push(&line[start..]);
    pieces
}

/// `text` as one or more HTML messages, each within [`MAX_CHARS`], split between lines (a line
/// longer than the limit is cut).
pub fn html_messages(text: &str) -> Vec<String> {
    let text = text.trim_end();
    if text.is_empty() {
        return vec![escape("(empty)")];
    }
    let mut chunks: Vec<Vec<&str>> = Vec::new();
    let mut current: Vec<&str> = Vec::new();
    let mut size = 0;
    for line in text.lines() {
        for piece in cut_line(line, MAX_CHARS) {
            let n = units(piece);
            // The newline before a line counts too.
            if !current.is_empty() && size + 1 + n > MAX_CHARS {
                chunks.push(std::mem::take(&mut current));
                size = 0;
            }
            size += n + usize::from(!current.is_empty());
            current.push(piece);
        }
    }
    chunks.push(current);
    chunks.iter().map(|lines| render(lines)).collect()
}

/// `text` as exactly one HTML message: cut, if it is too long, at a line with a note that
/// points to `/job <id>` when the text is about a job (`job #N`).
pub fn html_one(text: &str) -> String {
    let text = text.trim_end();
    if units(text) <= MAX_CHARS {
        return render(&text.lines().collect::<Vec<_>>());
    }
    let note = match job_number(text) {
        Some(id) => {
            format!("… cut at Telegram's {MAX_CHARS}-character limit; /job {id} shows it all")
        }
        None => format!("… cut at Telegram's {MAX_CHARS}-character limit"),
    };
    let budget = MAX_CHARS - units(&note) - 1;
    let mut kept: Vec<&str> = Vec::new();
    let mut size = 0;
    for line in text.lines() {
        for piece in cut_line(line, budget) {
            let add = units(piece) + usize::from(!kept.is_empty());
            if size + add > budget {
                kept.push(&note);
                return render(&kept);
            }
            size += add;
            kept.push(piece);
        }
    }
    kept.push(&note);
    render(&kept)
}

/// The job a text is about: the number after its first `job #`.
fn job_number(text: &str) -> Option<u64> {
    let rest = &text[text.find("job #")? + 5..];
    let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
    digits.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The visible text of rendered HTML: tags dropped, escapes decoded.
    fn visible(html: &str) -> String {
        let mut out = String::new();
        let mut in_tag = false;
        for c in html.chars() {
            match c {
                '<' => in_tag = true,
                '>' if in_tag => in_tag = false,
                _ if !in_tag => out.push(c),
                _ => {}
            }
        }
        out.replace("&lt;", "<")
            .replace("&gt;", ">")
            .replace("&amp;", "&")
    }

    #[test]
    fn escapes_markup_and_entities() {
        let html = html_one("a <b> & </pre> &amp;");
        assert_eq!(html, "a &lt;b&gt; &amp; &lt;/pre&gt; &amp;amp;");
        assert_eq!(visible(&html), "a <b> & </pre> &amp;");
    }

    #[test]
    fn aligned_lines_become_pre_blocks() {
        let text = "job #2 cluster create: step 7/14 running\n  10.0.0.11  control-plane running\n  10.0.0.12  worker        running\nnext: /ge catalog";
        let html = html_one(text);
        assert_eq!(
            html,
            "job #2 cluster create: step 7/14 running\n<pre>  10.0.0.11  control-plane running\n  10.0.0.12  worker        running</pre>\nnext: /ge catalog"
        );
        assert_eq!(visible(&html), text);
    }

    #[test]
    fn a_table_of_one_row_is_pre_too() {
        let text = "job #3 selftest: step 1/2 running\n  10.0.0.11  control-plane running";
        assert_eq!(
            html_one(text),
            "job #3 selftest: step 1/2 running\n<pre>  10.0.0.11  control-plane running</pre>"
        );
        let jobs = "1 active job(s):\n  #4  running step 1/3  by 1001  3 s ago  selftest";
        assert!(
            html_one(jobs)
                .ends_with("<pre>  #4  running step 1/3  by 1001  3 s ago  selftest</pre>")
        );
    }

    #[test]
    fn a_lone_indented_line_stays_text() {
        let text = "/cluster list\n    list the clusters\n/job ID\n    show a job";
        assert_eq!(html_one(text), text);
    }

    #[test]
    fn long_text_splits_between_lines_within_the_limit() {
        let line = "x".repeat(99);
        let text = vec![line.as_str(); 100].join("\n");
        let parts = html_messages(&text);
        assert_eq!(parts.len(), 3);
        for p in &parts {
            assert!(units(&visible(p)) <= MAX_CHARS, "{}", units(&visible(p)));
        }
        let joined: Vec<String> = parts.iter().map(|p| visible(p)).collect();
        assert_eq!(joined.join("\n"), text);
    }

    #[test]
    fn one_overlong_line_is_cut_into_pieces() {
        let text = "é".repeat(MAX_CHARS * 2 + 10);
        let parts = html_messages(&text);
        assert_eq!(parts.len(), 3);
        assert!(parts.iter().all(|p| units(p) <= MAX_CHARS));
        let emoji = "🙂".repeat(MAX_CHARS);
        assert!(html_messages(&emoji).iter().all(|p| units(p) <= MAX_CHARS));
    }

    #[test]
    fn an_edit_is_cut_with_a_pointer_to_the_job() {
        let mut text = String::from("job #17 cluster create lab-1: step 3/14 running\n");
        for i in 0..400 {
            text.push_str(&format!(
                "  10.0.{}.{}  worker  running 1.0 s\n",
                i / 200,
                i % 200
            ));
        }
        let html = html_one(&text);
        let shown = visible(&html);
        assert!(units(&shown) <= MAX_CHARS, "{}", units(&shown));
        assert!(shown.starts_with("job #17 cluster create"));
        assert!(shown.ends_with("/job 17 shows it all"), "{shown}");
        let plain = html_one(&"y".repeat(5000));
        assert!(visible(&plain).ends_with("character limit"));
        assert!(units(&visible(&plain)) <= MAX_CHARS);
    }

    #[test]
    fn empty_text_still_sends_something() {
        assert_eq!(html_messages("  \n"), vec!["(empty)".to_string()]);
    }
}
