//! `siemflow mappings`: what the built-in Defender mappings do with a customer's data.
//!
//! - `coverage INPUT` renders records with the four built-in formats and reports, per table,
//!   column and format, whether each column was mapped to a key, kept in the catch-all, or
//!   dropped ([`coverage`]): the check to run when Microsoft adds tables or columns.

mod coverage;

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
    }
}
