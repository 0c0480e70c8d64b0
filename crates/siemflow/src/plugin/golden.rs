//! `siemflow plugin test`: a plugin in the sandbox, over golden files.
//!
//! The files are those of the SDK's `testing` module (`cargo test` of a plugin crate), read and
//! compared by the same code, so the native and the sandboxed runs agree on what they check.

use siemflow_plugin_sdk::testing::{self, DROPPED, FAILED};
use siemflow_wasm::abi::{self, Outcome};
use siemflow_wasm::instance::{Limits, PluginInstance};
use siemflow_wasm::transform::LimitsConfig;

use super::{Failure, TestArgs, compile};

pub fn test(args: &TestArgs) -> Result<(), Failure> {
    let wasm = if args.plugin.is_dir() {
        compile::build(&args.plugin, None, std::path::Path::new("./data"))?
    } else {
        args.plugin.clone()
    };
    let config: serde_json::Value = serde_json::from_str(&args.config)
        .map_err(|error| Failure::usage(format!("--config is not JSON: {error}")))?;
    let input = std::fs::read_to_string(&args.input).map_err(|error| {
        Failure::usage(format!("cannot read {}: {error}", args.input.display()))
    })?;
    let events = testing::input_events(&input)
        .map_err(|error| Failure::usage(format!("{}: {error}", args.input.display())))?;

    let plugin =
        siemflow_wasm::plugin::load(&wasm.display().to_string()).map_err(Failure::runtime)?;
    let defaults = LimitsConfig::default();
    let limits = Limits {
        memory: defaults.memory,
        time_per_batch: defaults.time_per_batch,
    };
    let mut instance = PluginInstance::new(&plugin, &config.to_string(), limits, "plugin-test")
        .map_err(Failure::runtime)?;
    let mut actual = Vec::new();
    for batch in events.chunks(args.batch_size.max(1)) {
        let inputs: Vec<abi::Event> = batch
            .iter()
            .map(|event| abi::Event {
                body: event.body().to_vec(),
                format: if event.is_json() {
                    abi::BodyFormat::Json
                } else {
                    abi::BodyFormat::Text
                },
                event_type: event.event_type().map(str::to_string),
                id: event.id().to_string(),
            })
            .collect();
        let outcomes = instance.process(&inputs).map_err(|failure| {
            Failure::runtime(format!("the plugin failed on a batch: {failure}"))
        })?;
        for outcome in outcomes {
            match outcome {
                Outcome::Outputs(outputs) if outputs.is_empty() => actual.push(DROPPED.to_string()),
                Outcome::Outputs(outputs) => actual.extend(
                    outputs
                        .into_iter()
                        .map(|output| String::from_utf8_lossy(&output.body).into_owned()),
                ),
                Outcome::Dropped => actual.push(DROPPED.to_string()),
                Outcome::Failed(reason) => actual.push(format!("{FAILED}{reason}")),
            }
        }
    }

    if args.update {
        let mut content = actual.join("\n");
        content.push('\n');
        std::fs::write(&args.expect, content).map_err(|error| {
            Failure::runtime(format!("cannot write {}: {error}", args.expect.display()))
        })?;
        println!("wrote {} lines to {}", actual.len(), args.expect.display());
        return Ok(());
    }
    let expected = std::fs::read_to_string(&args.expect).map_err(|error| {
        Failure::usage(format!("cannot read {}: {error}", args.expect.display()))
    })?;
    let expected: Vec<&str> = expected.lines().collect();
    match testing::diff(&expected, &actual) {
        None => {
            println!(
                "ok: {} events, {} lines match {}",
                events.len(),
                actual.len(),
                args.expect.display()
            );
            Ok(())
        }
        Some(report) => Err(Failure::runtime(format!(
            "the outputs of {} differ from {}:\n{report}",
            wasm.display(),
            args.expect.display()
        ))),
    }
}
