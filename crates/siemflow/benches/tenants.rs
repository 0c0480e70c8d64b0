//! Many tenants in one process: resident memory when idle, and whether one tenant whose SIEM
//! stops accepting slows the others.
//!
//! Each tenant is a pipeline file in one directory run by one `siemflow run --watch` (the
//! release binary): a `file` source following its input, the `builtin:defender-cef` plugin and
//! a `file` sink. The inputs are Defender streaming records from `samples/defender/`.
//!
//! 1. **Memory**: one tenant alone, then all of them, idle (empty inputs) after every pipeline
//!    is running: the process's resident memory (`VmRSS`), and per tenant the difference
//!    divided by the tenants added.
//! 2. **Isolation**: every tenant is fed at the same fixed rate. Tenant 0's sink writes to a named
//!    pipe whose reader stops reading for a while (a SIEM that stops accepting: the pipe fills,
//!    writes block, its pipeline backs up to its source) and then reads again. Each tenant's
//!    delivery rate (`siemflow_component_sent_events` of its sink) is measured over a window
//!    before the stall and one during it, in the same run; afterwards tenant 0 must deliver
//!    everything it was given, once.
//!
//! ```text
//! cargo bench -p siemflow --bench tenants
//! ```
//!
//! `SIEMFLOW_BENCH_TENANTS` (default 50), `SIEMFLOW_BENCH_RATE` (events per second per tenant,
//! default 200) and `SIEMFLOW_BENCH_WINDOW` (seconds per measured window, default 15). Results
//! go in docs/performance.md.

#![allow(
    clippy::unwrap_used,
    reason = "a benchmark that meets an unexpected error should stop with it"
)]

use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

const SAMPLES: [&str; 2] = ["streaming-eventhub-message.jsonl", "streaming-extra.jsonl"];
const BROKEN: usize = 0;

fn main() {
    let tenants: usize = env_number("SIEMFLOW_BENCH_TENANTS", 50);
    let rate: usize = env_number("SIEMFLOW_BENCH_RATE", 200);
    let window = Duration::from_secs(env_number("SIEMFLOW_BENCH_WINDOW", 15) as u64);
    let records = sample_records();
    let dir = tempfile::tempdir().unwrap();

    let one = idle_memory(&dir.path().join("one"), 1);
    let all = idle_memory(&dir.path().join("all"), tenants);
    println!("memory, idle, every pipeline running (VmRSS):");
    println!("  1 tenant: {:.1} MiB", mib(one));
    println!("  {tenants} tenants: {:.1} MiB", mib(all));
    println!(
        "  per tenant beyond the first: {:.2} MiB",
        mib(all.saturating_sub(one)) / (tenants.max(2) - 1) as f64
    );

    isolation(&dir.path().join("load"), tenants, rate, window, &records);
}

/// Resident memory of `tenants` idle pipelines, once all of them run.
fn idle_memory(root: &Path, tenants: usize) -> u64 {
    for tenant in 0..tenants {
        write_tenant(
            root,
            tenant,
            &root.join(format!("out/{}.cef", name(tenant))),
        );
    }
    let instance = Instance::start(root, tenants);
    instance.wait_ready(tenants);
    std::thread::sleep(Duration::from_secs(5));
    let rss = instance.resident_bytes();
    instance.stop();
    rss
}

fn isolation(root: &Path, tenants: usize, rate: usize, window: Duration, records: &[Vec<u8>]) {
    let pipe = root.join("out/broken.pipe");
    std::fs::create_dir_all(pipe.parent().unwrap()).unwrap();
    let made = Command::new("mkfifo").arg(&pipe).status().unwrap();
    assert!(made.success(), "mkfifo {}", pipe.display());
    for tenant in 0..tenants {
        let output = if tenant == BROKEN {
            pipe.clone()
        } else {
            root.join(format!("out/{}.cef", name(tenant)))
        };
        write_tenant(root, tenant, &output);
    }
    let reader = PipeReader::start(pipe);
    let instance = Instance::start(root, tenants);
    instance.wait_ready(tenants);
    let feeder = Feeder::start(root, tenants, rate, records.to_vec());
    let seconds = window.as_secs_f64();
    println!(
        "isolation: {tenants} tenants fed {rate} events/s each ({} events/s in all), windows of {seconds} s",
        rate * tenants
    );

    std::thread::sleep(Duration::from_secs(5));
    let (before, cpu_before) = instance.measure(window);
    reader.reachable.store(false, Ordering::SeqCst);
    std::thread::sleep(Duration::from_secs(3));
    let (during, cpu_during) = instance.measure(window);
    let stalled_reads = reader.lines.load(Ordering::SeqCst);
    reader.reachable.store(true, Ordering::SeqCst);
    let returned = Instant::now();
    let given_at_return = feeder.written[BROKEN].load(Ordering::SeqCst);
    while reader.lines.load(Ordering::SeqCst) < given_at_return {
        assert!(
            returned.elapsed() < Duration::from_secs(300),
            "tenant 0 did not catch up within 5 minutes of its SIEM returning"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let caught_up = returned.elapsed();
    let (after, _) = instance.measure(window);
    let written = feeder.stop();
    let settled = Instant::now();
    while reader.lines.load(Ordering::SeqCst) < written[BROKEN]
        && settled.elapsed() < Duration::from_secs(120)
    {
        std::thread::sleep(Duration::from_millis(50));
    }
    let drained =
        |totals: &[f64]| (0..tenants).all(|t| t == BROKEN || totals[t] as u64 >= written[t]);
    while !drained(&instance.sent()) && settled.elapsed() < Duration::from_secs(120) {
        std::thread::sleep(Duration::from_millis(200));
    }
    let delivered_broken = reader.lines.load(Ordering::SeqCst);
    let totals = instance.sent();
    let restarts = instance.get("/health").matches("\"restarts\": 0").count();
    instance.stop();

    let ratios: Vec<f64> = (0..tenants)
        .filter(|t| *t != BROKEN)
        .map(|t| during[t] / before[t])
        .collect();
    let mut sorted = ratios.clone();
    sorted.sort_by(f64::total_cmp);
    let others = |rates: &[f64]| -> f64 {
        rates
            .iter()
            .enumerate()
            .filter(|(t, _)| *t != BROKEN)
            .map(|(_, r)| r)
            .sum::<f64>()
    };
    println!(
        "  the other {} tenants, events/s delivered: before {:.0}, during the stall {:.0}, after {:.0}",
        tenants - 1,
        others(&before),
        others(&during),
        others(&after)
    );
    println!(
        "  per tenant, during/before: lowest {:.3}, median {:.3}, highest {:.3}; below 0.95: {}",
        sorted[0],
        sorted[sorted.len() / 2],
        sorted[sorted.len() - 1],
        sorted.iter().filter(|r| **r < 0.95).count()
    );
    println!(
        "  process CPU: {:.0}% before, {:.0}% during (of one core)",
        cpu_before * 100.0,
        cpu_during * 100.0
    );
    println!(
        "  tenant 0: {:.0} events/s before, {:.0} during (its reader read {stalled_reads} lines in all by the end of the stall), {:.0} after",
        before[BROKEN], during[BROKEN], after[BROKEN]
    );
    println!(
        "  tenant 0 caught up with the {given_at_return} events given to it {:.1} s after its reader returned",
        caught_up.as_secs_f64()
    );
    println!(
        "  tenant 0 delivered {delivered_broken} of {} events given (sink counted {})",
        written[BROKEN], totals[BROKEN]
    );
    let lost_or_repeated: Vec<usize> = (0..tenants)
        .filter(|t| *t != BROKEN && totals[*t] as u64 != written[*t])
        .collect();
    println!(
        "  pipelines never restarted: {restarts} of {tenants}; tenants whose sink count differs from what they were given: {lost_or_repeated:?}"
    );
}

fn name(tenant: usize) -> String {
    format!("tenant-{tenant:02}")
}

fn write_tenant(root: &Path, tenant: usize, output: &Path) {
    let input = root.join(format!("in/{}.json", name(tenant)));
    std::fs::create_dir_all(input.parent().unwrap()).unwrap();
    std::fs::create_dir_all(root.join("tenants")).unwrap();
    std::fs::File::create(&input).unwrap();
    let yaml = format!(
        "id: {}\nsources:\n  in: {{ type: file, path: {}, follow: true, poll_interval: 100ms }}\ntransforms:\n  cef: {{ type: wasm, inputs: [in], plugin: \"builtin:defender-cef\" }}\nsinks:\n  out: {{ type: file, inputs: [cef], path: {} }}\n",
        name(tenant),
        input.display(),
        output.display()
    );
    std::fs::write(root.join(format!("tenants/{}.yaml", name(tenant))), yaml).unwrap();
}

/// The Defender streaming records of the samples, one JSON line each.
fn sample_records() -> Vec<Vec<u8>> {
    let samples = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../samples/defender");
    let mut records = Vec::new();
    for name in SAMPLES {
        let text = std::fs::read_to_string(samples.join(name)).unwrap();
        for event in siemflow_plugin_sdk::testing::input_events(&text).unwrap() {
            let mut line = event.body().to_vec();
            line.push(b'\n');
            records.push(line);
        }
    }
    records
}

/// One `siemflow run --watch` over `root/tenants`.
struct Instance {
    child: Child,
    metrics: SocketAddr,
    tenants: usize,
}

impl Instance {
    fn start(root: &Path, tenants: usize) -> Self {
        let metrics = {
            let listener = TcpListener::bind("127.0.0.1:0").unwrap();
            listener.local_addr().unwrap()
        };
        let child = Command::new(env!("CARGO_BIN_EXE_siemflow"))
            .current_dir(root)
            .args(["run", "tenants", "--watch", "--data-dir", "data"])
            .args(["--metrics-addr", &metrics.to_string()])
            .env("SIEMFLOW_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(root.join("siemflow.log")).unwrap())
            .spawn()
            .unwrap();
        Self {
            child,
            metrics,
            tenants,
        }
    }

    fn get(&self, path: &str) -> String {
        let Ok(mut stream) = TcpStream::connect(self.metrics) else {
            return String::new();
        };
        let _ = stream.set_read_timeout(Some(Duration::from_secs(30)));
        let request = format!("GET {path} HTTP/1.0\r\nHost: siemflow\r\n\r\n");
        if stream.write_all(request.as_bytes()).is_err() {
            return String::new();
        }
        let mut response = String::new();
        let _ = stream.read_to_string(&mut response);
        response
    }

    fn wait_ready(&self, tenants: usize) {
        let started = Instant::now();
        while !(status_ok(&self.get("/ready"))
            && self.get("/health").matches("\"running\"").count() >= tenants)
        {
            assert!(
                started.elapsed() < Duration::from_secs(300),
                "{tenants} pipelines not running within 5 minutes"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    fn resident_bytes(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).unwrap();
        let line = status.lines().find(|l| l.starts_with("VmRSS:")).unwrap();
        let kib: u64 = line.split_whitespace().nth(1).unwrap().parse().unwrap();
        kib * 1024
    }

    /// CPU time used so far, user and system.
    fn cpu_seconds(&self) -> f64 {
        let stat = std::fs::read_to_string(format!("/proc/{}/stat", self.child.id())).unwrap();
        // After the command name in parentheses: utime and stime are fields 14 and 15.
        let fields: Vec<&str> = stat
            .rsplit_once(')')
            .unwrap()
            .1
            .split_whitespace()
            .collect();
        let ticks: f64 = fields[11].parse::<f64>().unwrap() + fields[12].parse::<f64>().unwrap();
        ticks / 100.0
    }

    /// Events each tenant's sink has delivered so far.
    fn sent(&self) -> Vec<f64> {
        let tenants = self.tenants;
        let response = self.get("/metrics");
        let body = response.split_once("\r\n\r\n").map_or("", |(_, body)| body);
        let scrape =
            prometheus_parse::Scrape::parse(body.lines().map(|l| Ok(l.to_string()))).unwrap();
        let mut sent = HashMap::new();
        for sample in scrape.samples {
            if sample.metric == "siemflow_component_sent_events_total"
                && sample.labels.get("component_id") == Some("out")
                && let (Some(pipeline), prometheus_parse::Value::Untyped(value)) =
                    (sample.labels.get("pipeline"), sample.value)
            {
                sent.insert(pipeline.to_string(), value);
            }
        }
        (0..tenants)
            .map(|t| sent.get(&name(t)).copied().unwrap_or(0.0))
            .collect()
    }

    /// Each tenant's delivery rate over `window`, and the process's CPU use (cores) over it.
    fn measure(&self, window: Duration) -> (Vec<f64>, f64) {
        let (first, cpu, started) = (self.sent(), self.cpu_seconds(), Instant::now());
        std::thread::sleep(window);
        let (last, cpu_after) = (self.sent(), self.cpu_seconds());
        let seconds = started.elapsed().as_secs_f64();
        let rates = first
            .iter()
            .zip(&last)
            .map(|(a, b)| (b - a) / seconds)
            .collect();
        (rates, (cpu_after - cpu) / seconds)
    }

    fn stop(mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let _ = self.child.wait();
    }
}

/// Appends records to every tenant's input at a fixed rate.
struct Feeder {
    written: Arc<Vec<AtomicU64>>,
    stop: Arc<AtomicBool>,
    thread: std::thread::JoinHandle<()>,
}

impl Feeder {
    fn start(root: &Path, tenants: usize, rate: usize, records: Vec<Vec<u8>>) -> Self {
        let written: Arc<Vec<AtomicU64>> =
            Arc::new((0..tenants).map(|_| AtomicU64::new(0)).collect());
        let stop = Arc::new(AtomicBool::new(false));
        let mut files: Vec<std::fs::File> = (0..tenants)
            .map(|t| {
                std::fs::OpenOptions::new()
                    .append(true)
                    .open(root.join(format!("in/{}.json", name(t))))
                    .unwrap()
            })
            .collect();
        let thread = std::thread::spawn({
            let (written, stop) = (written.clone(), stop.clone());
            move || {
                let started = Instant::now();
                let mut next = 0usize;
                while !stop.load(Ordering::SeqCst) {
                    // Keep every input at `rate * elapsed` records, in 100 ms steps.
                    let due = (started.elapsed().as_secs_f64() * rate as f64) as u64;
                    for (file, count) in files.iter_mut().zip(written.iter()) {
                        let mut chunk = Vec::new();
                        let have = count.load(Ordering::SeqCst);
                        for _ in have..due {
                            chunk.extend_from_slice(&records[next % records.len()]);
                            next += 1;
                        }
                        file.write_all(&chunk).unwrap();
                        count.store(due.max(have), Ordering::SeqCst);
                    }
                    std::thread::sleep(Duration::from_millis(100));
                }
            }
        });
        Self {
            written,
            stop,
            thread,
        }
    }

    fn stop(self) -> Vec<u64> {
        self.stop.store(true, Ordering::SeqCst);
        self.thread.join().unwrap();
        self.written
            .iter()
            .map(|c| c.load(Ordering::SeqCst))
            .collect()
    }
}

/// Reads tenant 0's named pipe, counting lines, except while it is told the SIEM is away.
struct PipeReader {
    reachable: Arc<AtomicBool>,
    lines: Arc<AtomicU64>,
}

impl PipeReader {
    fn start(path: PathBuf) -> Self {
        let reachable = Arc::new(AtomicBool::new(true));
        let lines = Arc::new(AtomicU64::new(0));
        std::thread::spawn({
            let (reachable, lines) = (reachable.clone(), lines.clone());
            move || {
                // Opening blocks until the sink opens its end.
                let mut pipe = std::fs::File::open(path).unwrap();
                let mut buffer = vec![0u8; 1 << 16];
                loop {
                    if !reachable.load(Ordering::SeqCst) {
                        std::thread::sleep(Duration::from_millis(10));
                        continue;
                    }
                    match pipe.read(&mut buffer) {
                        Ok(0) | Err(_) => return,
                        Ok(n) => {
                            let newlines = buffer[..n].iter().filter(|b| **b == b'\n').count();
                            lines.fetch_add(newlines as u64, Ordering::SeqCst);
                        }
                    }
                }
            }
        });
        Self { reachable, lines }
    }
}

fn mib(bytes: u64) -> f64 {
    bytes as f64 / (1024.0 * 1024.0)
}

fn env_number(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|value| value.parse().ok())
        .unwrap_or(default)
}

/// Whether an HTTP response's status line says 200, whatever HTTP version the server answered with.
fn status_ok(response: &str) -> bool {
    response
        .lines()
        .next()
        .is_some_and(|line| line.split_whitespace().nth(1) == Some("200"))
}
