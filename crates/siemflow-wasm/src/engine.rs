//! The process-wide wasmtime engine: compilation settings, epoch ticks and the code cache.

use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use wasmtime::{Cache, CacheConfig, Config, Engine};

/// How often the epoch advances. A plugin's time limit is enforced to within two ticks, so a
/// call is stopped between its limit and its limit plus 2 ms. (A thread waking every millisecond
/// costs well under 1% of a core; wasmtime's documentation suggests the same granularity.)
pub const EPOCH_TICK: Duration = Duration::from_millis(1);

static ENGINE: OnceLock<Result<Engine, String>> = OnceLock::new();
static CACHE_DIR: Mutex<Option<PathBuf>> = Mutex::new(None);

/// Sets where compiled plugins are cached (`DATA_DIR/plugin-cache`). Takes effect only before the
/// engine is first used; without it nothing is cached (what `siemflow validate` wants).
pub fn set_cache_dir(directory: &Path) {
    let mut slot = CACHE_DIR
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    *slot = Some(directory.to_path_buf());
}

/// The engine, created on first use.
pub fn engine() -> Result<&'static Engine, String> {
    ENGINE.get_or_init(create).as_ref().map_err(Clone::clone)
}

fn create() -> Result<Engine, String> {
    let mut config = Config::new();
    config.wasm_component_model(true);
    config.epoch_interruption(true);
    if std::env::var_os("SIEMFLOW_PLUGIN_PERFMAP").is_some() {
        // Names plugin code in `perf` profiles (/tmp/perf-PID.map); see docs/plugins.md.
        config.profiler(wasmtime::ProfilingStrategy::PerfMap);
    }
    let cache_dir = CACHE_DIR
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .clone();
    if let Some(directory) = cache_dir {
        let directory = std::path::absolute(&directory).map_err(|error| {
            format!(
                "cannot use the plugin cache {}: {error}",
                directory.display()
            )
        })?;
        std::fs::create_dir_all(&directory).map_err(|error| {
            format!(
                "cannot create the plugin cache {}: {error}",
                directory.display()
            )
        })?;
        let mut cache = CacheConfig::new();
        cache.with_directory(&directory);
        let cache = Cache::new(cache).map_err(|error| {
            format!(
                "cannot use the plugin cache {}: {error}",
                directory.display()
            )
        })?;
        config.cache(Some(cache));
    }
    let engine = Engine::new(&config).map_err(|error| format!("cannot start wasmtime: {error}"))?;
    start_ticker(&engine);
    Ok(engine)
}

/// Advances the epoch once per elapsed tick for as long as the engine lives. Ticks are counted
/// from the clock, not from sleeps (which overshoot), so the epoch keeps to real time.
fn start_ticker(engine: &Engine) {
    let weak = engine.weak();
    let spawned = std::thread::Builder::new()
        .name("siemflow-wasm-epoch".into())
        .spawn(move || {
            let started = Instant::now();
            let mut ticks: u128 = 0;
            while let Some(engine) = weak.upgrade() {
                let due = started.elapsed().as_nanos() / EPOCH_TICK.as_nanos().max(1);
                while ticks < due {
                    engine.increment_epoch();
                    ticks += 1;
                }
                drop(engine);
                std::thread::sleep(EPOCH_TICK);
            }
        });
    if let Err(error) = spawned {
        tracing::error!(
            "cannot start the plugin time-limit thread: {error}; plugins could run forever"
        );
    }
}

/// Epoch ticks that cover `limit`, plus one for the tick already under way.
pub fn ticks_for(limit: Duration) -> u64 {
    let tick = EPOCH_TICK.as_nanos().max(1);
    (limit.as_nanos().div_ceil(tick) as u64).max(1) + 1
}
