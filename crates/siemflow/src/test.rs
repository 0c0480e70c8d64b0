//! `siemflow test`: runs the `tests:` cases and prints a report.

use std::process::ExitCode;

use siemflow_core::Pipeline;
use siemflow_core::unit_test::run_tests;

pub fn run(pipelines: Vec<Pipeline>) -> ExitCode {
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("cannot start the runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    let (mut passed, mut failed) = (0usize, 0usize);
    for pipeline in &pipelines {
        for outcome in runtime.block_on(run_tests(pipeline)) {
            if outcome.passed() {
                passed += 1;
                println!("test {} / {} ... ok", pipeline.id(), outcome.name);
                continue;
            }
            failed += 1;
            println!("test {} / {} ... FAILED", pipeline.id(), outcome.name);
            for failure in &outcome.failures {
                println!("    {failure}");
            }
            println!("    outputs ({}):", outcome.outputs.len());
            for output in outcome.outputs.iter().take(10) {
                println!("      {}", shorten(output));
            }
            for letter in &outcome.dead_letters {
                println!("    dead letter: {}", shorten(letter));
            }
        }
    }
    println!("{passed} passed, {failed} failed");
    if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

fn shorten(text: &str) -> String {
    const MAX: usize = 300;
    match text.char_indices().nth(MAX) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text.to_string(),
    }
}
