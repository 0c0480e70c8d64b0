//! The Event Hubs emulator on a fixed port, for demos without an Azure account:
//! `cargo run -p siemflow-test-support --bin event-hubs-emulator`.
//!
//! It serves one namespace with the real emulator's key (`RootManageSharedAccessKey` /
//! `SAS_KEY_VALUE`) and hubs given as `--hub NAME:PARTITIONS` (default `defender:4`), and prints
//! each hub's connection string. Events sent to it are kept in memory until it stops.
//!
//! Options: `--port N` (default 5672), `--hub NAME:PARTITIONS` (repeatable), `--load FILE`
//! (repeatable): publish FILE to the first hub before serving, as one event when the whole file
//! is one JSON value (a Defender `{"records": [...]}` message), else one event per non-empty line.

use siemflow_test_support::event_hubs::{EventHubsEmulator, HubSpec};

fn main() {
    let mut port = 5672u16;
    let mut hubs = Vec::new();
    let mut loads = Vec::new();
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let value = args.next();
        match (arg.as_str(), value) {
            ("--port", Some(value)) => port = value.parse().unwrap_or_else(|_| usage()),
            ("--hub", Some(value)) => {
                let (name, partitions) = value.split_once(':').unwrap_or_else(|| usage());
                hubs.push(HubSpec::new(
                    name,
                    partitions.parse().unwrap_or_else(|_| usage()),
                ));
            }
            ("--load", Some(value)) => loads.push(value),
            _ => usage(),
        }
    }
    if hubs.is_empty() {
        hubs.push(HubSpec::new("defender", 4));
    }
    let emulator = EventHubsEmulator::start(&hubs, port);
    println!(
        "Event Hubs emulator on {} (AMQP, no TLS)",
        emulator.address()
    );
    for hub in &hubs {
        println!(
            "  {} ({} partitions): {}",
            hub.name,
            hub.partitions,
            emulator.connection_string(&hub.name)
        );
    }
    for path in &loads {
        match load(&emulator, &hubs[0].name, path) {
            Ok(count) => println!(
                "  published {count} event(s) from {path} to {}",
                hubs[0].name
            ),
            Err(error) => {
                eprintln!("event-hubs-emulator: {path}: {error}");
                std::process::exit(1);
            }
        }
    }
    println!("Ctrl-C to stop.");
    loop {
        std::thread::park();
    }
}

/// Publishes a file's events; returns how many.
fn load(emulator: &EventHubsEmulator, hub: &str, path: &str) -> Result<usize, String> {
    let bytes = std::fs::read(path).map_err(|error| error.to_string())?;
    let bodies: Vec<Vec<u8>> = if serde_json::from_slice::<serde_json::Value>(&bytes).is_ok() {
        vec![bytes]
    } else {
        bytes
            .split(|byte| *byte == b'\n')
            .map(|line| line.strip_suffix(b"\r").unwrap_or(line))
            .filter(|line| !line.iter().all(u8::is_ascii_whitespace))
            .map(<[u8]>::to_vec)
            .collect()
    };
    let count = bodies.len();
    for body in bodies {
        emulator.publish(hub, body)?;
    }
    Ok(count)
}

fn usage() -> ! {
    eprintln!("usage: event-hubs-emulator [--port N] [--hub NAME:PARTITIONS]... [--load FILE]...");
    std::process::exit(2);
}
