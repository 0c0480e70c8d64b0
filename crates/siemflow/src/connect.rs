//! `siemflow validate --connect`: every source and sink of valid pipelines reaches what it reads
//! from or delivers to (tokens, connections, TLS, permissions), without reading or sending an
//! event, and one line per component says how it went.
//!
//! The checks run at once, each within `--timeout`. Exit 0 when none failed, 1 otherwise.

use std::process::ExitCode;
use std::time::Duration;

use futures::future::join_all;
use siemflow_core::Pipeline;
use siemflow_core::compile::ComponentConfig;
use siemflow_core::component::Reach;
use siemflow_core::secret::redact;

/// How one component's check ended.
enum Outcome {
    Reached(String),
    Nothing,
    Failed(String),
}

/// Runs the checks of every source and sink and prints them per pipeline.
pub fn run(pipelines: &[Pipeline], timeout: Duration) -> ExitCode {
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("error: cannot start a runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    let outcomes = runtime.block_on(join_all(pipelines.iter().map(|pipeline| {
        join_all(
            pipeline
                .components
                .iter()
                .map(|component| check(&component.config, timeout)),
        )
    })));
    let (mut reached, mut nothing, mut failed) = (0usize, 0usize, 0usize);
    for (pipeline, outcomes) in pipelines.iter().zip(outcomes) {
        println!(
            "pipeline {} ({})",
            pipeline.id(),
            pipeline.file.path.display()
        );
        let width = pipeline
            .components
            .iter()
            .map(|c| c.decl.kind.as_str().len() + 2 + c.decl.id.len())
            .max()
            .unwrap_or(0);
        for (component, outcome) in pipeline.components.iter().zip(outcomes) {
            let Some(outcome) = outcome else { continue };
            let name = format!("{}s.{}", component.decl.kind.as_str(), component.decl.id);
            let (status, text) = match outcome {
                Outcome::Reached(text) => {
                    reached += 1;
                    ("ok  ", text)
                }
                Outcome::Nothing => {
                    nothing += 1;
                    ("-   ", "nothing outside the process to reach".to_string())
                }
                Outcome::Failed(text) => {
                    failed += 1;
                    ("FAIL", text)
                }
            };
            println!(
                "  {status}  {name:width$}  {}: {}",
                component.decl.type_name,
                redact(&text)
            );
        }
    }
    println!("{reached} reached, {failed} failed, {nothing} with nothing to reach");
    if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

/// A source's or sink's check within `timeout`; `None` for a transform.
async fn check(config: &ComponentConfig, timeout: Duration) -> Option<Outcome> {
    let reach = match config {
        ComponentConfig::Source(source) => source.reach(),
        ComponentConfig::Sink(sink) => sink.reach(),
        ComponentConfig::Transform(_) => return None,
    };
    Some(match tokio::time::timeout(timeout, reach).await {
        Ok(Ok(Reach::Reached(text))) => Outcome::Reached(text),
        Ok(Ok(Reach::NothingToReach)) => Outcome::Nothing,
        Ok(Err(error)) => Outcome::Failed(error),
        Err(_) => Outcome::Failed(format!(
            "no answer within {} (`--timeout`)",
            humantime::format_duration(timeout)
        )),
    })
}
