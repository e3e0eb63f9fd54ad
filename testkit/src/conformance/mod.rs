//! The chat conformance suite: every chat adapter must pass these scenarios, written once
//! against [`Platform`] (the homeserver or API, the bot process) and [`TestUser`] (a person in
//! the bot's room). Each platform's test module supplies the two and calls the scenarios.

use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;

pub mod matrix_user;
pub mod tg_user;

/// How long any single expectation may take.
pub const WAIT: Duration = Duration::from_secs(30);

/// A message the bot posted, as a person sees it now.
#[derive(Clone, Debug)]
pub struct BotMessage {
    /// Platform message id.
    pub id: String,
    /// Current text (edits applied).
    pub text: String,
    /// The text as first posted.
    pub original: String,
    /// How many times it was edited.
    pub edits: usize,
    /// The message it replies to, if any.
    pub reply_to: Option<String>,
}

/// A person in the bot's room.
#[async_trait]
pub trait TestUser: Send + Sync {
    /// Sends `text`; returns its message id.
    async fn send(&self, text: &str) -> String;
    /// Edits the user's message `id` to say `text`.
    async fn edit(&self, id: &str, text: &str);
    /// Everything the bot posted in the room so far, oldest first.
    async fn bot_messages(&self) -> Vec<BotMessage>;
}

/// A chat platform with the bot on it.
#[async_trait]
pub trait Platform: Send {
    /// The command prefix people type on this platform.
    fn prefix(&self) -> &'static str;
    /// Text `/help` must carry on this platform, if any.
    fn help_note(&self) -> Option<&'static str>;
    /// An admin of the bot in its room.
    fn operator(&self) -> Arc<dyn TestUser>;
    /// A member of the room the config does not know.
    fn stranger(&self) -> Arc<dyn TestUser>;
    /// Starts the bot process (again).
    async fn start_bot(&mut self);
    /// SIGKILLs the bot process.
    async fn kill_bot(&mut self);
    /// Stops the platform's server and starts it again (the bot keeps running).
    async fn restart_server(&mut self);
    /// The stranger invites the bot into a new room; `true` if the bot joined it.
    async fn stranger_invites_bot(&self) -> bool;
}

/// Waits until `user` sees a bot message for which `pred` holds; returns it.
pub async fn wait_for(
    user: &dyn TestUser,
    what: &str,
    pred: impl Fn(&BotMessage) -> bool,
) -> BotMessage {
    let deadline = Instant::now() + WAIT;
    loop {
        let msgs = user.bot_messages().await;
        if let Some(m) = msgs.iter().find(|m| pred(m)) {
            return m.clone();
        }
        assert!(
            Instant::now() < deadline,
            "no bot message {what} within {WAIT:?}; the bot said:\n{}",
            show(&msgs)
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn show(msgs: &[BotMessage]) -> String {
    msgs.iter()
        .map(|m| {
            format!(
                "- [{} edits, reply to {:?}] {}",
                m.edits, m.reply_to, m.text
            )
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// The bot's replies to the command `id`: for a job, its acknowledgement (edited with progress
/// since) and its outcome, once each.
async fn replies(user: &dyn TestUser, id: &str) -> Vec<BotMessage> {
    let msgs = user.bot_messages().await;
    msgs.into_iter()
        .filter(|m| m.reply_to.as_deref() == Some(id))
        .collect()
}

/// Sends the command `cmd` (without prefix) as `user` and waits for the bot's first reply to
/// it; returns the command's id and the reply.
async fn ask(p: &dyn Platform, user: &dyn TestUser, cmd: &str) -> (String, BotMessage) {
    let id = user.send(&format!("{}{cmd}", p.prefix())).await;
    let what = format!("answering {cmd:?}");
    let m = wait_for(user, &what, |m| m.reply_to.as_deref() == Some(&id)).await;
    (id, m)
}

/// A job the operator started with `cmd`: the command's id, the acknowledgement, the job number.
struct Started {
    id: String,
    ack: BotMessage,
    n: String,
}

async fn start_job(p: &dyn Platform, op: &dyn TestUser, cmd: &str) -> Started {
    let (id, ack) = ask(p, op, cmd).await;
    assert!(
        ack.original.contains("queued job #"),
        "not acknowledged: {ack:?}"
    );
    let rest = ack.original.split("queued job #").nth(1).unwrap_or("");
    let n = rest.chars().take_while(char::is_ascii_digit).collect();
    Started { id, ack, n }
}

impl Started {
    /// Waits for the job's outcome message.
    async fn outcome(&self, op: &dyn TestUser) -> BotMessage {
        let head = format!("job #{} ", self.n);
        wait_for(op, "with the job's outcome", |m| {
            m.text.contains(&head) && m.text.contains("succeeded in")
        })
        .await
    }

    /// Waits until the acknowledgement shows `text`.
    async fn shows(&self, op: &dyn TestUser, text: &str) -> BotMessage {
        let what = format!("editing the acknowledgement to show {text:?}");
        wait_for(op, &what, |m| m.id == self.ack.id && m.text.contains(text)).await
    }
}

/// `/help` answers, as a reply, with the platform's note.
pub async fn help(p: &dyn Platform) {
    let (_, m) = ask(p, &*p.operator(), "help").await;
    assert!(m.text.contains("selftest"), "{}", m.text);
    if let Some(note) = p.help_note() {
        assert!(m.text.contains(note), "help lacks {note:?}: {}", m.text);
    }
}

/// A mistyped command gets one usage reply.
pub async fn bad_command(p: &dyn Platform) {
    let (_, m) = ask(p, &*p.operator(), "clustr list").await;
    let ok = m.text.contains("unknown command") && m.text.contains("cluster");
    assert!(ok, "{}", m.text);
}

/// A user the config does not know gets nothing in the lab's room: no job, no refusal, not even
/// an answer to a malformed command. The operator's command sent after theirs is answered, and
/// the room's messages are handled in order, so by then theirs were passed over.
pub async fn stranger_ignored(p: &dyn Platform) {
    let stranger = p.stranger();
    let job = stranger
        .send(&format!("{}selftest steps=1 ms=10", p.prefix()))
        .await;
    let bad = stranger.send(&format!("{}nonsense", p.prefix())).await;
    ask(p, &*p.operator(), "whoami").await;
    for id in [job, bad] {
        let r = replies(&*stranger, &id).await;
        assert!(r.is_empty(), "the stranger was answered: {}", show(&r));
    }
}

/// A job's acknowledgement replies to the command and is edited with progress; the outcome is
/// a new message, also a reply.
pub async fn job_progress_and_outcome(p: &dyn Platform) {
    let op = p.operator();
    let job = start_job(p, &*op, "selftest steps=4 ms=400").await;
    let done = job.outcome(&*op).await;
    assert_ne!(done.id, job.ack.id, "the outcome is a new message");
    assert_eq!(done.reply_to.as_deref(), Some(job.id.as_str()));
    let ack = job.shows(&*op, "4/4").await;
    assert!(
        ack.edits >= 2,
        "progress edits the acknowledgement: {ack:?}"
    );
}

/// An edited command does not run again (where the platform delivers edits, the editor is told
/// so, at most once: the reply that says "edits are not run").
pub async fn edited_command_not_rerun(p: &dyn Platform) {
    let op = p.operator();
    let job = start_job(p, &*op, "selftest steps=1 ms=10").await;
    job.outcome(&*op).await;
    op.edit(&job.id, &format!("{}selftest steps=2 ms=10", p.prefix()))
        .await;
    // Something after the edit, so its answer shows the edit was read and passed over.
    ask(p, &*op, "whoami").await;
    let r = replies(&*op, &job.id).await;
    let (told, r): (Vec<BotMessage>, Vec<BotMessage>) = r
        .into_iter()
        .partition(|m| m.text.starts_with("edits are not run"));
    assert_eq!(r.len(), 2, "{}", show(&r));
    assert!(told.len() <= 1, "{}", show(&told));
    let msgs = op.bot_messages().await;
    let rerun = msgs.iter().any(|m| m.text.contains("selftest (2 steps)"));
    assert!(!rerun, "{}", show(&msgs));
}

/// The bot is SIGKILLed mid-job and started again: the job resumes in the message it had
/// (no new, unthreaded one), finishes once, and the command is not run a second time.
pub async fn bot_killed_mid_job(p: &mut dyn Platform) {
    let op = p.operator();
    let job = start_job(p, &*op, "selftest steps=6 ms=600").await;
    job.shows(&*op, "step 2/6").await;
    p.kill_bot().await;
    p.start_bot().await;
    let head = format!("job #{} ", job.n);
    wait_for(&*op, "resuming the job in its message", |m| {
        m.id == job.ack.id && m.text.contains("resumed after a restart")
    })
    .await;
    let done = job.outcome(&*op).await;
    let r = replies(&*op, &job.id).await;
    assert_eq!(r.len(), 2, "the command ran twice:\n{}", show(&r));
    let msgs = op.bot_messages().await;
    let outcomes = msgs
        .iter()
        .filter(|m| m.text.contains(&head) && m.text.contains("succeeded in"));
    assert_eq!(outcomes.count(), 1, "{}", show(&msgs));
    // The job's messages are its acknowledgement, edited to the end, and its outcome.
    let about: Vec<&BotMessage> = msgs.iter().filter(|m| m.text.contains(&head)).collect();
    assert!(
        about.iter().all(|m| m.id == job.ack.id || m.id == done.id),
        "a message besides the job's own:\n{}",
        show(&msgs)
    );
    wait_for(&*op, "the final edit of the job's message", |m| {
        m.id == job.ack.id && m.text.contains("6/6")
    })
    .await;
}

/// The platform's server restarts mid-job: the bot carries on, the job's message is still
/// edited, the outcome arrives, and the bot answers afterwards.
pub async fn server_restarted_mid_job(p: &mut dyn Platform) {
    let op = p.operator();
    let job = start_job(p, &*op, "selftest steps=8 ms=500").await;
    p.restart_server().await;
    job.outcome(&*op).await;
    job.shows(&*op, "8/8").await;
    ask(p, &*op, "whoami").await;
    let r = replies(&*op, &job.id).await;
    assert_eq!(r.len(), 2, "{}", show(&r));
}

/// The bot does not join a stranger's room.
pub async fn stranger_invite_declined(p: &dyn Platform) {
    assert!(
        !p.stranger_invites_bot().await,
        "the bot joined a stranger's room"
    );
}
