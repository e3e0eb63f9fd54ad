//! A long `/ge logs` in the console (the real binary): a terminal has no message size, so the
//! tail comes as in other rooms and the whole file is printed after it, between rules naming
//! it.

use std::time::Duration;

use labkube_testkit::console_lab::ConsoleLab;
use labkube_testkit::support::Bot;

const LIMIT: Duration = Duration::from_secs(60);

#[test]
fn the_console_prints_a_long_log_whole_after_its_tail() {
    let lab = ConsoleLab::start(Duration::from_millis(200), "");
    let mut bot = Bot::console(&lab.config, &lab.data);
    bot.say("/ge install orion");
    bot.expect("job #1 ge install orion in lab-1/demo succeeded", LIMIT);
    let (_, name, container) = lab
        .fake
        .pod_named(Some("demo"), "orion-")
        .expect("an orion pod");
    let (name, container) = (name.as_str(), container.as_str());
    for i in 0..300 {
        lab.fake
            .print("demo", name, container, &format!("request {i:04} answered"));
    }
    bot.say("/ge logs orion lines=300");
    let file = format!("{name}.{container}.txt");
    bot.expect(&format!("all 300 in the attached {file}:"), LIMIT);
    bot.expect(
        &format!("----- {file} (logs of orion in demo on lab-1, pod {name}, container {container}, 300 lines) -----"),
        LIMIT,
    );
    let until = std::time::Instant::now() + LIMIT;
    let mut printed = Vec::new();
    while let Some(line) = bot.next_line(until) {
        if line == format!("----- end of {file} -----") {
            break;
        }
        printed.push(line);
    }
    let want: Vec<String> = (0..300)
        .map(|i| format!("request {i:04} answered"))
        .collect();
    assert_eq!(printed, want, "every line, between the rules");
    bot.finish(LIMIT);
    lab.rt.block_on(lab.fake.stop());
}
