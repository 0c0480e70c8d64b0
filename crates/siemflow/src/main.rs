//! The `siemflow` command: run, validate and test pipelines; write, build and test plugins.
//!
//! Exit codes: 0 success, 1 runtime failure, 2 invalid configuration or usage.

mod connect;
mod dead_letters;
mod load;
mod mappings;
mod metrics_server;
mod output;
mod plugin;
mod run;
mod supervisor;
mod tap;
mod test;
mod top;

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};

use output::{LogFormat, init_logging};

/// Moves Microsoft Defender security data into SIEMs.
#[derive(Debug, Parser)]
#[command(name = "siemflow", version = env!("SIEMFLOW_VERSION"), about, propagate_version = true)]
struct Cli {
    #[command(subcommand)]
    command: Command,
    /// Log line format (logs go to standard error; filter with SIEMFLOW_LOG, e.g. `debug`).
    #[arg(long, global = true, value_enum, default_value_t = LogFormat::Text)]
    log_format: LogFormat,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run every pipeline found in the given files and directories.
    Run(RunArgs),
    /// Check pipelines without connecting anywhere; print every error as file:line:column.
    /// With `--connect`, then reach every source's and sink's service.
    Validate(ValidateArgs),
    /// Run the `tests:` cases declared in pipeline files, without any network.
    Test(PathArgs),
    /// Write, build and test WebAssembly transform plugins.
    #[command(subcommand)]
    Plugin(plugin::PluginCommand),
    /// Watch a running instance: per pipeline and component, rates, errors, buffers and lag,
    /// read from its `--metrics-addr`.
    Top(top::TopArgs),
    /// Print the live events leaving a component (or a pipeline's sources) of a running
    /// instance, as JSON lines, from its `--metrics-addr`.
    Tap(tap::TapArgs),
    /// Print a shell completion script: `siemflow completions bash > /etc/bash_completion.d/siemflow`.
    Completions(CompletionsArgs),
    /// Inspect the built-in Defender mappings: what they do with your records.
    #[command(subcommand)]
    Mappings(mappings::MappingsCommand),
    /// List, show and replay the dead letters of a data directory.
    #[command(subcommand)]
    DeadLetters(dead_letters::DeadLettersCommand),
}

#[derive(Debug, Args)]
struct CompletionsArgs {
    /// The shell.
    #[arg(value_enum)]
    shell: clap_complete::Shell,
}

#[derive(Debug, Args)]
pub(crate) struct PathArgs {
    /// Pipeline files, or directories of `*.yaml` / `*.yml` pipeline files.
    #[arg(required = true, value_name = "FILE_OR_DIR")]
    paths: Vec<PathBuf>,
}

#[derive(Debug, Args)]
struct ValidateArgs {
    #[command(flatten)]
    pipelines: PathArgs,
    /// Then reach what each source reads from and each sink delivers to: fetch tokens, open
    /// connections, negotiate TLS, try permissions, without reading or sending an event; one
    /// line per component, exit 1 if any failed.
    #[arg(long)]
    connect: bool,
    /// How long each component's `--connect` check may take.
    #[arg(long, default_value = "20s", value_parser = humantime::parse_duration, value_name = "DURATION", requires = "connect")]
    timeout: Duration,
}

#[derive(Debug, Args)]
struct RunArgs {
    #[command(flatten)]
    pipelines: PathArgs,
    /// Where checkpoints, dead letters and locks are kept.
    #[arg(long, default_value = "./data", value_name = "DIR")]
    data_dir: PathBuf,
    /// Serve Prometheus metrics on `/metrics`, liveness on `/health` and live events on `/tap`
    /// (for `siemflow tap`), e.g. `127.0.0.1:9598`.
    #[arg(long, value_name = "ADDR")]
    metrics_addr: Option<std::net::SocketAddr>,
    /// How long a graceful stop may take before remaining work is abandoned (not acknowledged).
    #[arg(long, default_value = "30s", value_parser = humantime::parse_duration, value_name = "DURATION")]
    drain_timeout: Duration,
    /// How long a sink may fail to deliver (an error, then no delivery) before its pipeline is
    /// shown as degraded in `/health`, `/metrics` (`siemflow_component_degraded`) and `top`.
    #[arg(long, default_value = "30s", value_parser = humantime::parse_duration, value_name = "DURATION")]
    degraded_after: Duration,
    /// Run as a service: apply pipeline file changes, additions and removals as they happen, start
    /// invalid or failing pipelines again after a backoff while the others run, and keep running
    /// until a signal. SIGHUP reads the files again with or without it.
    #[arg(long)]
    watch: bool,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging(cli.log_format);
    let registry = siemflow_components::registry();
    match cli.command {
        Command::Validate(args) => match load::pipelines(&args.pipelines.paths, &registry) {
            Ok(pipelines) => {
                println!("{} pipeline(s) valid", pipelines.len());
                if args.connect {
                    return connect::run(&pipelines, args.timeout);
                }
                ExitCode::SUCCESS
            }
            Err(errors) => {
                output::error(&errors);
                eprintln!("{} error(s)", errors.0.len());
                ExitCode::from(2)
            }
        },
        Command::Test(args) => match load::pipelines(&args.paths, &registry) {
            Ok(pipelines) => test::run(pipelines),
            Err(errors) => {
                output::error(&errors);
                ExitCode::from(2)
            }
        },
        Command::Plugin(command) => plugin::run(command),
        Command::Top(args) => top::run(&args),
        Command::Tap(args) => tap::run(&args),
        Command::Mappings(command) => mappings::run(command),
        Command::DeadLetters(command) => dead_letters::run(command, &registry),
        Command::Completions(args) => {
            clap_complete::generate(
                args.shell,
                &mut <Cli as clap::CommandFactory>::command(),
                "siemflow",
                &mut std::io::stdout(),
            );
            ExitCode::SUCCESS
        }
        Command::Run(args) => {
            // Before any plugin is compiled (loading checks plugins): compiled code is cached.
            siemflow_wasm::engine::set_cache_dir(&args.data_dir.join("plugin-cache"));
            if args.watch {
                // Files are read by the supervisor: an invalid one is reported, the others run.
                return run::run(Vec::new(), registry, &args);
            }
            match load::pipelines(&args.pipelines.paths, &registry) {
                Ok(pipelines) => run::run(pipelines, registry, &args),
                Err(errors) => {
                    output::error(&errors);
                    ExitCode::from(2)
                }
            }
        }
    }
}
