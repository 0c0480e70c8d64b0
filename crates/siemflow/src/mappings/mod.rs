//! `siemflow mappings`: what the built-in Defender mappings do with a customer's data.
//!
//! - `coverage INPUT` renders records with the four built-in formats and reports, per table,
//!   column and format, whether each column was mapped to a key, kept in the catch-all, or
//!   dropped ([`coverage`]): the check to run when Microsoft adds tables or columns;
//! - `splunk-addon OUT_DIR` writes the Splunk add-on that tags the Splunk plugin's events into
//!   their CIM datasets ([`splunk_addon`]).

mod coverage;
mod splunk_addon;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Subcommand};

/// The `mappings` subcommands.
#[derive(Debug, Subcommand)]
pub enum MappingsCommand {
    /// Render records (streaming records, Event Hubs messages or Storage blobs, alerts,
    /// incidents, Graph pages) with the CEF, LEEF, Splunk and OCSF mappings and print, per table
    /// and format, which columns were mapped, put in the catch-all, or dropped.
    Coverage(CoverageArgs),
    /// Write the Splunk add-on (props, event types, tags) that puts the `defender-splunk`
    /// events in their CIM data models; install it on the search heads.
    SplunkAddon(SplunkAddonArgs),
}

/// `mappings splunk-addon`.
#[derive(Debug, Args)]
pub struct SplunkAddonArgs {
    /// The app directory to write; its name is the app's id (e.g. ./TA-siemflow-defender).
    #[arg(value_name = "OUT_DIR")]
    pub out_dir: PathBuf,
}

/// `mappings coverage`.
#[derive(Debug, Args)]
pub struct CoverageArgs {
    /// Files of records: JSON lines, or one JSON document (a record, an array, a `records`
    /// envelope or a Graph page with `value`).
    #[arg(required = true, value_name = "INPUT")]
    pub inputs: Vec<PathBuf>,
}

/// Runs a `mappings` subcommand.
pub fn run(command: MappingsCommand) -> ExitCode {
    match command {
        MappingsCommand::Coverage(args) => coverage::run(&args),
        MappingsCommand::SplunkAddon(args) => splunk_addon::run(&args),
    }
}
