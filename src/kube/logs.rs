//! `/ge logs`: the tail of a release pod's logs, read through the API (`pods/log`), bounded in
//! lines and bytes, with every value of the namespace's labkube Secrets masked (the passwords
//! the bot generated among them): a pod that prints its credentials does not leak them to chat.

use k8s_openapi::api::core::v1::{Pod, Secret};
use kube::api::{Api, ListParams, LogParams};

use crate::chat::Attachment;
use crate::kube::catalogue::render::{LABEL_INSTANCE, LABEL_MANAGED_BY, MANAGER};
use crate::kube::error::KubeError;
use crate::kube::layer::KubeLayer;
use crate::kube::pod_problem;
use crate::kube::release::Release;

/// Bytes of log the API server sends at most (`limitBytes`).
pub const LOG_BYTES_MAX: i64 = 64 * 1024;
/// Characters of log one chat message shows (the rest, oldest first, is left out and counted).
const SHOWN_MAX: usize = 3_500;
/// Secret values shorter than this are not masked (they would mask ordinary words).
const MASK_MIN: usize = 6;

/// What `/ge logs` asks for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LogAsk {
    /// A pod of the release; `None`: a failing one, else the first.
    pub pod: Option<String>,
    /// A container of the pod; `None`: its first.
    pub container: Option<String>,
    /// Lines from the end.
    pub lines: u32,
    /// The container's previous run.
    pub previous: bool,
}

/// The tail of the logs of a pod of `release`, masked, ready for chat: what one message holds
/// and, when that is not all of it, the whole as a file.
pub async fn logs(
    layer: &KubeLayer,
    release: &Release,
    ask: &LogAsk,
) -> Result<(String, Option<Attachment>), KubeError> {
    let cluster = layer.cluster(&release.cluster).await?;
    let ns = &release.namespace;
    let pods: Api<Pod> = Api::namespaced(cluster.client.clone(), ns);
    let ours = ListParams::default().labels(&format!(
        "{LABEL_INSTANCE}={},{LABEL_MANAGED_BY}={MANAGER}",
        release.ge
    ));
    let mut listed = cluster
        .call("listing the GE's pods", pods.list(&ours))
        .await?
        .items;
    listed.sort_by(|a, b| a.metadata.name.cmp(&b.metadata.name));
    let where_ = format!("{} in {ns} on {}", release.ge, release.cluster);
    let names: Vec<String> = listed
        .iter()
        .filter_map(|p| p.metadata.name.clone())
        .collect();
    let pod = match &ask.pod {
        Some(want) => listed
            .iter()
            .find(|p| p.metadata.name.as_deref() == Some(want))
            .ok_or_else(|| {
                KubeError::Refused(format!(
                    "pod {want} is not a pod of {where_}; its pods: {}",
                    if names.is_empty() {
                        "none".into()
                    } else {
                        names.join(", ")
                    }
                ))
            })?,
        None => listed
            .iter()
            .find(|p| pod_problem(p).is_some())
            .or(listed.first())
            .ok_or_else(|| KubeError::Refused(format!("{where_} has no pods now")))?,
    };
    let pod_name = pod.metadata.name.clone().unwrap_or_default();
    let containers: Vec<String> = pod
        .spec
        .iter()
        .flat_map(|s| s.containers.iter().map(|c| c.name.clone()))
        .collect();
    let container = match &ask.container {
        Some(c) if containers.contains(c) => c.clone(),
        Some(c) => {
            return Err(KubeError::Refused(format!(
                "pod {pod_name} has no container {c}; its containers: {}",
                containers.join(", ")
            )));
        }
        None => containers.first().cloned().unwrap_or_default(),
    };
    let params = LogParams {
        container: Some(container.clone()),
        tail_lines: Some(i64::from(ask.lines)),
        limit_bytes: Some(LOG_BYTES_MAX),
        previous: ask.previous,
        ..LogParams::default()
    };
    let text = cluster
        .call("reading the pod's logs", pods.logs(&pod_name, &params))
        .await?;
    let masked = mask(&text, &secret_values(&cluster, ns).await?);
    let run = if ask.previous { ", previous run" } else { "" };
    let others = match names.len() {
        0 | 1 => String::new(),
        n => format!(" (1 of {n} pods; pod= picks another)"),
    };
    let head = format!("logs of {where_}, pod {pod_name}{others}, container {container}{run}");
    let file = format!(
        "{pod_name}.{container}{}.txt",
        if ask.previous { ".previous" } else { "" }
    );
    Ok(render(&head, &masked, ask.lines, &file))
}

/// Every value of the labkube Secrets in `ns`, longest first.
async fn secret_values(
    cluster: &crate::kube::client::Cluster,
    ns: &str,
) -> Result<Vec<String>, KubeError> {
    let api: Api<Secret> = Api::namespaced(cluster.client.clone(), ns);
    let ours = ListParams::default().labels(&format!("{LABEL_MANAGED_BY}={MANAGER}"));
    let secrets = cluster
        .call("reading the GE's Secrets to mask them", api.list(&ours))
        .await?;
    let mut values: Vec<String> = secrets
        .items
        .iter()
        .flat_map(|s| s.data.iter().flatten())
        .filter_map(|(_, v)| String::from_utf8(v.0.clone()).ok())
        .filter(|v| v.chars().count() >= MASK_MIN)
        .collect();
    values.sort_by_key(|v| std::cmp::Reverse(v.len()));
    values.dedup();
    Ok(values)
}

/// `text` with every occurrence of each of `secrets` (longest first) replaced by `***`.
pub fn mask(text: &str, secrets: &[String]) -> String {
    let mut out = text.to_string();
    for s in secrets {
        if out.contains(s.as_str()) {
            out = out.replace(s.as_str(), "***");
        }
    }
    out
}

/// The header, then as many of the last lines as one message holds; when that is not all of
/// them, the whole output as the file `file`.
fn render(head: &str, text: &str, asked: u32, file: &str) -> (String, Option<Attachment>) {
    let lines: Vec<&str> = text.lines().collect();
    if lines.is_empty() {
        return (format!("{head}: no output"), None);
    }
    let mut shown: Vec<&str> = Vec::new();
    let mut size = 0;
    for line in lines.iter().rev() {
        size += line.len() + 1;
        if size > SHOWN_MAX && !shown.is_empty() {
            break;
        }
        shown.push(line);
    }
    shown.reverse();
    if shown.len() == lines.len() {
        let text = format!(
            "{head}, the last {} line(s):\n{}",
            shown.len(),
            shown.join("\n")
        );
        return (text, None);
    }
    let total = lines.len();
    let text = format!(
        "{head}, the last {} of {total} lines here (lines={asked} asked); all {total} in the attached {file}:\n{}",
        shown.len(),
        shown.join("\n")
    );
    let whole = Attachment {
        name: file.to_string(),
        caption: format!("{head}, {total} lines"),
        body: lines.join("\n") + "\n",
    };
    (text, Some(whole))
}

#[cfg(test)]
mod tests {
    use super::{SHOWN_MAX, mask, render};

    #[test]
    fn secrets_are_masked_longest_first_and_a_long_tail_is_cut_from_the_top() {
        let secrets = vec!["s3cret-longer".to_string(), "s3cret".to_string()];
        assert_eq!(
            mask("a s3cret-longer b s3cret", &secrets),
            "a *** b ***",
            "the longer value first, so no part of it is left"
        );
        let text: String = (0..400)
            .map(|i| format!("line {i:04} {}\n", "x".repeat(20)))
            .collect();
        let (shown, file) = render("logs of orion", &text, 400, "orion-0.orion.txt");
        assert!(shown.len() <= SHOWN_MAX + 200, "{}", shown.len());
        assert!(
            shown.ends_with("line 0399 xxxxxxxxxxxxxxxxxxxx"),
            "the newest kept"
        );
        assert!(
            shown.contains(
                "the last 112 of 400 lines here (lines=400 asked); all 400 in the attached orion-0.orion.txt:\n"
            ),
            "{}",
            &shown[..160]
        );
        let file = file.expect("the whole output as a file");
        assert_eq!(file.name, "orion-0.orion.txt");
        assert_eq!(file.caption, "logs of orion, 400 lines");
        assert_eq!(file.body, text, "every line, in order");
        let (short, none) = render("logs of orion", "a\nb\n", 5, "f.txt");
        assert_eq!(short, "logs of orion, the last 2 line(s):\na\nb");
        assert_eq!(none, None, "no file when one message holds it all");
        assert_eq!(
            render("logs of orion", "", 5, "f.txt"),
            ("logs of orion: no output".to_string(), None)
        );
    }
}
