//! `siemflow plugin`: the plugin author's tools.
//!
//! - `new NAME` scaffolds a crate ([`scaffold`]) that builds and passes its golden test as made;
//! - `build DIR` compiles a crate to a component and precompiles it into the cache ([`compile`]);
//! - `test DIR_OR_WASM` runs a plugin in the sandbox over golden files ([`golden`]).

mod compile;
mod golden;
mod scaffold;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Subcommand};

/// The `plugin` subcommands.
#[derive(Debug, Subcommand)]
pub enum PluginCommand {
    /// Create a plugin crate: an example mapping, sample events and a golden-file test.
    New(NewArgs),
    /// Build a plugin crate to a WebAssembly component (NAME.wasm in the crate) and precompile it.
    Build(BuildArgs),
    /// Run a plugin (a crate, built first, or a .wasm) over sample events and compare the outputs
    /// with a golden file.
    Test(TestArgs),
}

/// `plugin new`.
#[derive(Debug, Args)]
pub struct NewArgs {
    /// The crate name (letters, digits, `-`, `_`); also the directory created.
    pub name: String,
    /// The directory to create (default: ./NAME).
    #[arg(long, value_name = "DIR")]
    pub dir: Option<PathBuf>,
    /// The siemflow-plugin-sdk crate to depend on (default: the one this siemflow was built
    /// from, or $SIEMFLOW_PLUGIN_SDK).
    #[arg(long, value_name = "DIR")]
    pub sdk: Option<PathBuf>,
}

/// `plugin build`.
#[derive(Debug, Args)]
pub struct BuildArgs {
    /// The plugin crate (the directory holding its Cargo.toml).
    #[arg(default_value = ".", value_name = "DIR")]
    pub dir: PathBuf,
    /// Where to write the component (default: DIR/CRATE_NAME.wasm).
    #[arg(long, short, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// The data directory whose plugin cache receives the compiled code, as `run` uses it.
    #[arg(long, default_value = "./data", value_name = "DIR")]
    pub data_dir: PathBuf,
}

/// `plugin test`.
#[derive(Debug, Args)]
pub struct TestArgs {
    /// A plugin crate (built first) or a .wasm component.
    #[arg(value_name = "DIR_OR_WASM")]
    pub plugin: PathBuf,
    /// Input events: JSON lines; a `{"records": [...]}` line is split into its records.
    #[arg(long, value_name = "FILE")]
    pub input: PathBuf,
    /// Expected outputs: one line per outcome (the output, `!dropped` or `!failed REASON`).
    #[arg(long, value_name = "FILE")]
    pub expect: PathBuf,
    /// The plugin's config as JSON (what `config:` holds in a pipeline).
    #[arg(long, default_value = "{}", value_name = "JSON")]
    pub config: String,
    /// Write the plugin's outputs to the expected file instead of comparing.
    #[arg(long)]
    pub update: bool,
    /// Events per call, as a source batch would hold them.
    #[arg(long, default_value_t = 64, value_name = "N")]
    pub batch_size: usize,
}

/// Runs a `plugin` subcommand.
pub fn run(command: PluginCommand) -> ExitCode {
    let result = match command {
        PluginCommand::New(args) => scaffold::create(&args),
        PluginCommand::Build(args) => {
            compile::build(&args.dir, args.output.as_deref(), &args.data_dir).map(drop)
        }
        PluginCommand::Test(args) => golden::test(&args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => {
            eprintln!("error: {}", failure.message);
            ExitCode::from(failure.code)
        }
    }
}

/// Why a plugin command failed, and its exit code (1 runtime, 2 usage).
#[derive(Debug)]
pub struct Failure {
    message: String,
    code: u8,
}

impl Failure {
    fn usage(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            code: 2,
        }
    }

    fn runtime(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            code: 1,
        }
    }
}
