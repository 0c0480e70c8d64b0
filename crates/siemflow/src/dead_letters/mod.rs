//! `siemflow dead-letters`: what the dead-letter files hold, and sending letters back after a fix.
//!
//! `list` counts the letters of every pipeline by component and reason, `show` prints them, and
//! `replay` sends them back into the pipeline they came from ([`replay`]).

mod replay;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use clap::{Args, Subcommand};
use siemflow_core::Pipeline;
use siemflow_core::dead_letter::{StoredLine, file_path, read_file};
use siemflow_core::registry::Registry;
use siemflow_core::telemetry::Telemetry;
use siemflow_core::topology::RunOptions;
use tokio_util::sync::CancellationToken;

use crate::PathArgs;

/// `siemflow dead-letters` subcommands.
#[derive(Debug, Subcommand)]
pub enum DeadLettersCommand {
    /// Count each pipeline's dead letters by component and reason.
    List(DataDirArgs),
    /// Print a pipeline's dead letters.
    Show(ShowArgs),
    /// Send a pipeline's dead letters back into it (after fixing what failed them): delivered
    /// letters are removed, letters dead-lettered again get their new reason, the rest stay.
    Replay(ReplayArgs),
}

/// Where the dead letters are.
#[derive(Debug, Args)]
pub struct DataDirArgs {
    /// The `--data-dir` of the instance that wrote them.
    #[arg(long, default_value = "./data", value_name = "DIR")]
    data_dir: PathBuf,
}

/// `siemflow dead-letters show` arguments.
#[derive(Debug, Args)]
pub struct ShowArgs {
    /// The pipeline id.
    pipeline: String,
    #[command(flatten)]
    dir: DataDirArgs,
    /// Only the letters of this component.
    #[arg(long, value_name = "ID")]
    component: Option<String>,
    /// At most this many letters.
    #[arg(long, value_name = "N")]
    limit: Option<usize>,
    /// Print the letters as stored (JSON lines), bodies in full.
    #[arg(long)]
    json: bool,
}

/// `siemflow dead-letters replay` arguments.
#[derive(Debug, Args)]
pub struct ReplayArgs {
    #[command(flatten)]
    pipelines: PathArgs,
    /// The pipeline whose letters to replay (may be left out when the files hold one pipeline).
    #[arg(long, value_name = "ID")]
    pipeline: Option<String>,
    /// Only the letters of these components (repeat the option for several).
    #[arg(long, value_name = "ID")]
    component: Vec<String>,
    #[command(flatten)]
    dir: DataDirArgs,
    /// How long the replay may take to finish delivering once every letter is sent.
    #[arg(long, default_value = "30s", value_parser = humantime::parse_duration, value_name = "DURATION")]
    drain_timeout: Duration,
}

/// Runs a `siemflow dead-letters` subcommand.
pub fn run(command: DeadLettersCommand, registry: &Registry) -> ExitCode {
    if let DeadLettersCommand::Replay(args) = &command {
        // Before any plugin is compiled (loading checks plugins), as `run` does.
        siemflow_wasm::engine::set_cache_dir(&args.dir.data_dir.join("plugin-cache"));
    }
    let result = match command {
        DeadLettersCommand::List(args) => list(&args.data_dir),
        DeadLettersCommand::Show(args) => show(&args),
        DeadLettersCommand::Replay(args) => {
            match crate::load::pipelines(&args.pipelines.paths, registry) {
                Ok(pipelines) => replay_letters(&args, pipelines),
                Err(errors) => {
                    crate::output::error(&errors);
                    return ExitCode::from(2);
                }
            }
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            crate::output::error(message);
            ExitCode::FAILURE
        }
    }
}

/// The pipelines with a dead-letter file (or a replay's), in name order.
fn pipelines_with_letters(data_dir: &Path) -> Result<Vec<String>, String> {
    let dir = data_dir.join("dead-letter");
    let entries = match std::fs::read_dir(&dir) {
        Ok(entries) => entries,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(error) => return Err(format!("cannot list {}: {error}", dir.display())),
    };
    let mut names: Vec<String> = entries
        .filter_map(Result::ok)
        .filter_map(|entry| {
            let name = entry.file_name().to_string_lossy().into_owned();
            let stem = name.strip_suffix(".jsonl")?;
            Some(stem.strip_suffix(".replaying").unwrap_or(stem).to_string())
        })
        .collect();
    names.sort();
    names.dedup();
    Ok(names)
}

/// A pipeline's letters: an interrupted replay's first, then the file's.
fn letters_of(data_dir: &Path, pipeline: &str) -> Result<Vec<StoredLine>, String> {
    let mut lines = Vec::new();
    for path in [
        replay::replaying_path(data_dir, pipeline),
        file_path(data_dir, pipeline),
    ] {
        lines.extend(
            read_file(&path).map_err(|error| format!("cannot read {}: {error}", path.display()))?,
        );
    }
    Ok(lines)
}

fn list(data_dir: &Path) -> Result<(), String> {
    let pipelines = pipelines_with_letters(data_dir)?;
    if pipelines.is_empty() {
        println!(
            "no dead letters in {}",
            data_dir.join("dead-letter").display()
        );
        return Ok(());
    }
    for pipeline in pipelines {
        let lines = letters_of(data_dir, &pipeline)?;
        let letters: Vec<_> = lines
            .iter()
            .filter_map(|l| l.letter.as_ref().ok())
            .collect();
        let replayable = letters.iter().filter(|l| l.whole_body().is_some()).count();
        let unreadable = lines.len() - letters.len();
        let mut line = format!(
            "{pipeline}: {} dead letter(s), {replayable} replayable",
            letters.len()
        );
        if unreadable > 0 {
            line.push_str(&format!(", {unreadable} unreadable line(s)"));
        }
        if replay::replaying_path(data_dir, &pipeline).exists() {
            line.push_str(" (a replay was interrupted; the next replay takes it up)");
        }
        println!("{line}");
        let mut counts: BTreeMap<(&str, &str), usize> = BTreeMap::new();
        for letter in &letters {
            let kind = siemflow_core::telemetry::reason_kind(&letter.reason);
            *counts.entry((&letter.component, kind)).or_default() += 1;
        }
        for ((component, kind), count) in counts {
            println!("  {component:<24} {count:>8}  {kind}");
        }
    }
    Ok(())
}

fn show(args: &ShowArgs) -> Result<(), String> {
    let lines = letters_of(&args.dir.data_dir, &args.pipeline)?;
    if lines.is_empty() {
        return Err(format!(
            "pipeline `{}` has no dead letters in {}",
            args.pipeline,
            args.dir.data_dir.join("dead-letter").display()
        ));
    }
    let chosen = lines
        .iter()
        .filter(|line| match (&line.letter, &args.component) {
            (_, None) => true,
            (Ok(letter), Some(component)) => &letter.component == component,
            (Err(_), Some(_)) => false,
        });
    for line in chosen.take(args.limit.unwrap_or(usize::MAX)) {
        if args.json {
            println!("{}", line.line);
            continue;
        }
        match &line.letter {
            Ok(letter) => {
                let body = letter
                    .body
                    .as_deref()
                    .map(|body| body.chars().take(200).collect::<String>())
                    .unwrap_or_else(|| "(not UTF-8: body_base64)".into());
                println!(
                    "{} {} {}: {}\n  {} bytes{}{}: {body}",
                    letter.time,
                    letter.component,
                    letter.event_type.as_deref().unwrap_or("-"),
                    letter.reason,
                    letter.size,
                    if letter.truncated { ", cut" } else { "" },
                    letter
                        .position
                        .as_deref()
                        .map(|p| format!(", at {p}"))
                        .unwrap_or_default(),
                );
            }
            Err(error) => println!("(unreadable line: {error})"),
        }
    }
    Ok(())
}

fn replay_letters(args: &ReplayArgs, pipelines: Vec<Pipeline>) -> Result<(), String> {
    let pipeline = match (&args.pipeline, pipelines.len()) {
        (Some(id), _) => pipelines
            .into_iter()
            .find(|p| &**p.id() == id)
            .ok_or_else(|| format!("no pipeline `{id}` in the files given"))?,
        (None, 1) => pipelines.into_iter().next().ok_or("no pipeline")?,
        (None, n) => {
            return Err(format!(
                "the files hold {n} pipelines: say which with --pipeline"
            ));
        }
    };
    let data_dir = &args.dir.data_dir;
    let id = pipeline.id().to_string();
    let lines = letters_of(data_dir, &id)?;
    for component in &args.component {
        if pipeline.component(component).is_none() {
            return Err(format!("pipeline `{id}` has no component `{component}`"));
        }
    }
    let Some(plan) = replay::plan(pipeline, data_dir, &lines, &args.component) else {
        println!(
            "{id}: no dead letter to replay ({} in the file)",
            lines.len()
        );
        return Ok(());
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|error| format!("cannot start the runtime: {error}"))?;
    let options = RunOptions {
        data_dir: data_dir.clone(),
        shutdown: CancellationToken::new(),
        drain_timeout: args.drain_timeout,
        telemetry: Telemetry::new(),
    };
    let outcome = runtime.block_on(siemflow_core::topology::run(&plan.pipeline, &options));
    let report = plan
        .report
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .clone();
    if let Err(error) = &outcome
        && report == replay::ReplayReport::default()
    {
        return Err(error.to_string());
    }
    println!(
        "{id}: replayed {} dead letter(s): {} delivered, {} dead-lettered again, {} not delivered (kept); {} not replayed (kept)",
        report.replayed, report.delivered, report.dead_lettered, report.failed, report.kept
    );
    for (why, count) in &report.not_replayable {
        println!("  not replayed: {count} ({why})");
    }
    outcome.map_err(|error| error.to_string())?;
    if report.failed > 0 {
        return Err(format!(
            "{} letter(s) were not delivered and stay in {}",
            report.failed,
            file_path(data_dir, &id).display()
        ));
    }
    Ok(())
}
