//! `siemflow run`: the runtime, signals and the metrics server around the [`Supervisor`].

use std::process::ExitCode;

use siemflow_core::Pipeline;
use siemflow_core::registry::Registry;
use siemflow_core::telemetry::Telemetry;
use siemflow_core::topology::RunOptions;
use tokio_util::sync::CancellationToken;

use crate::RunArgs;
use crate::metrics_server;
use crate::supervisor::Supervisor;
use crate::supervisor::status::Statuses;

/// Runs `pipelines` (or, when empty, what the files hold) under a [`Supervisor`].
pub fn run(pipelines: Vec<Pipeline>, registry: Registry, args: &RunArgs) -> ExitCode {
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("siemflow")
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("cannot start the runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(run_all(pipelines, registry, args))
}

async fn run_all(pipelines: Vec<Pipeline>, registry: Registry, args: &RunArgs) -> ExitCode {
    let shutdown = CancellationToken::new();
    let telemetry = Telemetry::new();
    telemetry.set_degraded_after(args.degraded_after);
    let statuses = Statuses::new(telemetry.clone());
    tokio::spawn(watch_signals(shutdown.clone()));
    if let Some(address) = args.metrics_addr {
        match metrics_server::start(address, telemetry.clone(), statuses.clone()).await {
            Ok(bound) => tracing::info!(address = %bound, "serving /metrics, /health and /ready"),
            Err(error) => {
                crate::output::error(format_args!("cannot serve metrics on {address}: {error}"));
                return ExitCode::FAILURE;
            }
        }
    }
    let options = RunOptions {
        data_dir: args.data_dir.clone(),
        shutdown,
        drain_timeout: args.drain_timeout,
        telemetry,
    };
    Supervisor::new(
        args.pipelines.paths.clone(),
        registry,
        options,
        args.watch,
        statuses,
    )
    .run(pipelines)
    .await
}

/// First SIGINT or SIGTERM: drain. Second: exit at once.
async fn watch_signals(shutdown: CancellationToken) {
    let mut terminate =
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(signal) => signal,
            Err(error) => {
                tracing::error!("cannot listen for SIGTERM: {error}");
                return;
            }
        };
    for round in 0..2 {
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = terminate.recv() => {}
        }
        if round == 0 {
            tracing::info!("stopping: draining in-flight events (signal again to exit at once)");
            shutdown.cancel();
        } else {
            tracing::warn!("second signal: exiting without draining");
            std::process::exit(130);
        }
    }
}
