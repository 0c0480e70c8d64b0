//! The Event Hubs emulator on a fixed port, for demos without an Azure account:
//! `cargo run -p siemflow-test-support --bin event-hubs-emulator`.
//!
//! It serves one namespace with the real emulator's key (`RootManageSharedAccessKey` /
//! `SAS_KEY_VALUE`) and hubs given as `--hub NAME:PARTITIONS` (default `defender:4`), and prints
//! each hub's connection string. Events sent to it are kept in memory until it stops.
//!
//! Options: `--port N` (default 5672), `--hub NAME:PARTITIONS` (repeatable).

use siemflow_test_support::event_hubs::{EventHubsEmulator, HubSpec};

fn main() {
    let mut port = 5672u16;
    let mut hubs = Vec::new();
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
    println!("Ctrl-C to stop.");
    loop {
        std::thread::park();
    }
}

fn usage() -> ! {
    eprintln!("usage: event-hubs-emulator [--port N] [--hub NAME:PARTITIONS]...");
    std::process::exit(2);
}
