//! The bot's text as Matrix message content: an `m.notice` with a plain `body` and an HTML
//! `formatted_body`. Everything is escaped; a multi-line message keeps its first line as text
//! and puts the rest (per-host tables, rollout tables, help listings, plans) in a `<pre>` block
//! so columns line up in every client.
//!
//! Who is notified follows the spec's default push rules (Matrix 1.7+, as Synapse runs them):
//! `.m.rule.suppress_notices` silences every `m.notice` before any mention rule, so the live
//! progress message and its edits (edits are notices too) stay quiet; a reply that must reach
//! its person is an `m.text` whose `m.mentions` names them (`.m.rule.is_user_mention`). Every
//! message carries `m.mentions`, empty when it mentions nobody, so the legacy rules that match
//! a display name in the body never fire on it.

use serde_json::{Value, json};

/// `m.notice` content for `text`, mentioning nobody.
pub(super) fn notice(text: &str) -> Value {
    let text = &with_bang(text);
    json!({
        "msgtype": "m.notice",
        "body": text,
        "format": "org.matrix.custom.html",
        "formatted_body": html(text),
        "m.mentions": {},
    })
}

/// `text` as a message that notifies the room's members (an alert): an `m.text`, which the
/// default underride rule `.m.rule.message` notifies, mentioning nobody.
pub(super) fn alert(text: &str) -> Value {
    let mut content = notice(text);
    content["msgtype"] = json!("m.text");
    content
}

/// `text` as a reply to the event `to`: a quiet notice, or, with `notify`, an `m.text` that
/// mentions that user (a Matrix user id; anything else mentions nobody).
pub(super) fn reply(text: &str, to: &str, notify: Option<&str>) -> Value {
    let mut content = notice(text);
    if let Some(user) = notify {
        content["msgtype"] = json!("m.text");
        if is_user_id(user) {
            content["m.mentions"] = json!({ "user_ids": [user] });
        }
    }
    content["m.relates_to"] = json!({ "m.in_reply_to": { "event_id": to } });
    content
}

/// `text` as an `m.text` that notifies `user` (a message in a room of its own, not a reply).
pub(super) fn mention(text: &str, user: &str) -> Value {
    let mut content = alert(text);
    if is_user_id(user) {
        content["m.mentions"] = json!({ "user_ids": [user] });
    }
    content
}

/// `@localpart:server`, the shape of a Matrix user id.
fn is_user_id(user: &str) -> bool {
    user.strip_prefix('@')
        .and_then(|rest| rest.split_once(':'))
        .is_some_and(|(local, server)| !local.is_empty() && !server.is_empty())
}

/// An edit (`m.replace`) of the event `original` so that it shows `text`.
pub(super) fn replace(text: &str, original: &str) -> Value {
    let text = &with_bang(text);
    let new = notice(text);
    json!({
        "msgtype": "m.notice",
        "body": format!("* {text}"),
        "format": "org.matrix.custom.html",
        "formatted_body": format!("* {}", html(text)),
        "m.new_content": new,
        "m.mentions": {},
        "m.relates_to": { "rel_type": "m.replace", "event_id": original },
    })
}

/// `text` with every command it names written with `!` (`/job 1` becomes `!job 1`): Element and
/// most clients take a leading `/` as their own command, so a hint typed as the bot wrote it
/// must start with `!` on Matrix. A `/` starts a command name only at the start of the text or
/// after a space, an opening bracket or quote, and only before a command's first word that
/// ends there (`/etc/hosts`, `https://x/ge` and `/jobs2` stay as they are).
pub(super) fn with_bang(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    let mut prev: Option<char> = None;
    while let Some(at) = rest.find('/') {
        let (before, from) = rest.split_at(at);
        out.push_str(before);
        let prev_char = before.chars().next_back().or(prev);
        let after = &from[1..];
        let word_len = after
            .find(|c: char| !c.is_ascii_lowercase())
            .unwrap_or(after.len());
        let (word, tail) = after.split_at(word_len);
        let starts = prev_char.is_none_or(|c| c.is_whitespace() || "([{\"'`".contains(c));
        let ends = tail
            .chars()
            .next()
            .is_none_or(|c| !(c.is_ascii_alphanumeric() || c == '/' || c == '-' || c == '_'));
        if starts && ends && !word.is_empty() && crate::command::is_command_word(word) {
            out.push('!');
        } else {
            out.push('/');
        }
        prev = Some('/');
        rest = after;
    }
    out.push_str(rest);
    out
}

/// The HTML form of `text`.
pub(super) fn html(text: &str) -> String {
    let text = text.trim_end_matches('\n');
    match text.split_once('\n') {
        None => escape(text),
        Some((first, rest)) => format!("{}<pre><code>{}</code></pre>", escape(first), escape(rest)),
    }
}

/// Escapes the five HTML-special characters.
pub(super) fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 16);
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn everything_is_escaped() {
        let h = html("<b>x</b> & \"y\" 'z'\n  <script>alert(1)</script>");
        assert!(!h.contains("<b>") && !h.contains("<script>"), "{h}");
        assert!(h.starts_with("&lt;b&gt;x&lt;/b&gt; &amp; &quot;y&quot; &#39;z&#39;"));
        assert!(h.contains("<pre><code>  &lt;script&gt;"), "{h}");
    }

    #[test]
    fn one_line_is_plain_and_tables_are_pre() {
        assert_eq!(html("queued job #1"), "queued job #1");
        let t = "job #2: step 1/3\n  10.0.0.1  control-plane running\n  10.0.0.2  worker  done\n";
        assert_eq!(
            html(t),
            "job #2: step 1/3<pre><code>  10.0.0.1  control-plane running\n  10.0.0.2  worker  done</code></pre>"
        );
    }

    #[test]
    fn command_hints_are_written_with_a_bang() {
        for (text, want) in [
            (
                "queued job #1: selftest (/job 1 for details, /cancel 1 to stop it)",
                "queued job #1: selftest (!job 1 for details, !cancel 1 to stop it)",
            ),
            ("did you mean /ge install?", "did you mean !ge install?"),
            ("/help", "!help"),
            ("type \"/cluster use lab-1\"", "type \"!cluster use lab-1\""),
            (
                "see /etc/hosts and https://x/ge",
                "see /etc/hosts and https://x/ge",
            ),
            ("unknown command /frobnicate", "unknown command /frobnicate"),
            ("a /jobs2 and /ge-x", "a /jobs2 and /ge-x"),
            ("10.244.0.0/16 /jobs", "10.244.0.0/16 !jobs"),
        ] {
            assert_eq!(with_bang(text), want, "{text}");
        }
        assert_eq!(notice("/job 2")["body"], "!job 2");
        assert_eq!(replace("/job 2", "$x")["m.new_content"]["body"], "!job 2");
        assert_eq!(replace("/job 2", "$x")["body"], "* !job 2");
    }

    #[test]
    fn content_shapes() {
        let n = notice("a\nb");
        assert_eq!(n["msgtype"], "m.notice");
        assert_eq!(n["body"], "a\nb");
        assert_eq!(n["m.mentions"], serde_json::json!({}));
        let r = reply("ok", "$cmd", None);
        assert_eq!(r["m.relates_to"]["m.in_reply_to"]["event_id"], "$cmd");
        assert_eq!(r["msgtype"], "m.notice");
        let r = reply("done", "$cmd", Some("@alice:lab.example"));
        assert_eq!(r["msgtype"], "m.text");
        assert_eq!(
            r["m.mentions"],
            serde_json::json!({ "user_ids": ["@alice:lab.example"] })
        );
        assert_eq!(r["m.relates_to"]["m.in_reply_to"]["event_id"], "$cmd");
        for not_a_user in ["alice", "@alice", "@:lab", "@alice:"] {
            let r = reply("done", "$cmd", Some(not_a_user));
            assert_eq!(r["m.mentions"], serde_json::json!({}), "{not_a_user}");
        }
        let e = replace("new", "$ack");
        assert_eq!(e["msgtype"], "m.notice", "edits stay quiet");
        assert_eq!(e["m.mentions"], serde_json::json!({}));
        assert_eq!(e["m.relates_to"]["rel_type"], "m.replace");
        assert_eq!(e["m.relates_to"]["event_id"], "$ack");
        assert_eq!(e["m.new_content"]["body"], "new");
        assert_eq!(e["body"], "* new");
    }
}
