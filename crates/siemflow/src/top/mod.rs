//! `siemflow top`: a terminal view of every pipeline's components, their rates, errors,
//! buffers and lag, read from a running instance's `/metrics` endpoint.
//!
//! It reads what any Prometheus scraper reads, so it works against a remote instance too and
//! needs nothing but `--metrics-addr` on the instance.

pub(crate) mod scrape;
mod view;

use std::process::ExitCode;
use std::time::Duration;

use clap::Args;

use scrape::Scraper;
use view::Table;

/// `siemflow top` arguments.
#[derive(Debug, Args)]
pub struct TopArgs {
    /// The instance's `--metrics-addr`, e.g. `127.0.0.1:9598`, or a full `/metrics` URL.
    #[arg(long, default_value = "127.0.0.1:9598", value_name = "ADDR_OR_URL")]
    metrics: String,
    /// Time between two readings; rates are over it.
    #[arg(long, default_value = "2s", value_parser = humantime::parse_duration, value_name = "DURATION")]
    interval: Duration,
    /// Print one table (two readings an interval apart) and exit, for scripts.
    #[arg(long)]
    once: bool,
}

/// Runs `siemflow top`: exit code 1 when the endpoint cannot be read.
pub fn run(args: &TopArgs) -> ExitCode {
    crate::output::run_client(watch(args))
}

async fn watch(args: &TopArgs) -> Result<(), String> {
    let scraper = Scraper::new(&args.metrics)?;
    let terminal = std::io::IsTerminal::is_terminal(&std::io::stdout());
    let mut before = scraper.read().await?;
    loop {
        tokio::select! {
            () = tokio::time::sleep(args.interval) => {}
            _ = tokio::signal::ctrl_c() => return Ok(()),
        }
        let now = match scraper.read().await {
            Ok(now) => now,
            Err(error) if !args.once => {
                // A restarting instance comes back; keep the last table up and say why.
                eprintln!("{error}");
                continue;
            }
            Err(error) => return Err(error),
        };
        let table = Table::between(&before, &now);
        if terminal && !args.once {
            // Clear the screen and go home, like top(1).
            print!("\x1b[2J\x1b[H");
        }
        println!(
            "siemflow top: {} every {}",
            scraper.url(),
            humantime::format_duration(args.interval)
        );
        print!("{table}");
        if args.once {
            return Ok(());
        }
        before = now;
    }
}
