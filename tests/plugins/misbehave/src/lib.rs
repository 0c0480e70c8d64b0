//! A test plugin that misbehaves on purpose, chosen by `config.mode`:
//!
//! - `spin`: loops forever on an event whose `n` is `config.at` (others pass through);
//! - `allocate`: allocates without end on that event (a memory bomb);
//! - `panic`: panics on that event (a trap);
//! - `snoop`: tries to read a file and the environment, and reports what it got.

use siemflow_plugin_sdk::{Event, Failure, Outcome, Plugin, export_plugin};

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct Config {
    mode: Mode,
    #[serde(default)]
    at: u64,
    #[serde(default)]
    path: String,
}

#[derive(serde::Deserialize, Clone, Copy)]
#[serde(rename_all = "snake_case")]
enum Mode {
    Spin,
    Allocate,
    Panic,
    Snoop,
}

struct Misbehave {
    config: Config,
    hoard: Vec<Vec<u8>>,
}

impl Plugin for Misbehave {
    type Config = Config;

    fn new(config: Config) -> Result<Self, Failure> {
        Ok(Misbehave {
            config,
            hoard: Vec::new(),
        })
    }

    fn process(&mut self, event: &Event) -> Result<Outcome, Failure> {
        let n = event
            .json()
            .ok()
            .and_then(|v| v["n"].as_u64())
            .unwrap_or(u64::MAX);
        if n != self.config.at && !matches!(self.config.mode, Mode::Snoop) {
            return Ok(Outcome::text(format!("ok|{n}")));
        }
        match self.config.mode {
            Mode::Spin => {
                let mut x = n;
                loop {
                    x = std::hint::black_box(x.wrapping_mul(6364136223846793005).wrapping_add(1));
                }
            }
            Mode::Allocate => loop {
                let mut block = vec![0u8; 1 << 20];
                block[0] = 1;
                self.hoard.push(std::hint::black_box(block));
            },
            Mode::Panic => panic!("deliberate panic on event {n}"),
            Mode::Snoop => {
                let file = match std::fs::read_to_string(&self.config.path) {
                    Ok(content) => format!("READ {} bytes", content.len()),
                    Err(error) => format!("error: {error}"),
                };
                let env = match std::env::var("HOME") {
                    Ok(value) => format!("HOME={value}"),
                    Err(error) => format!("error: {error}"),
                };
                let vars = std::env::vars().count();
                Ok(Outcome::text(format!(
                    "file: {file}; env: {env}; vars: {vars}"
                )))
            }
        }
    }
}

export_plugin!(Misbehave);
