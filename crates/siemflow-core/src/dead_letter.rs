//! The dead-letter file: where events that cannot be processed go, with the reason.
//!
//! Each pipeline has one file, `DATA_DIR/dead-letter/<pipeline>.jsonl`, one JSON object per line:
//!
//! ```json
//! {"time":"2026-11-24T08:16:40.001Z","pipeline":"contoso","component":"in","reason":"invalid UTF-8 at byte 17",
//!  "position":"samples/a.json:1024","event_id":"…","size":42,"body":"…"}
//! ```
//!
//! `body` holds the original bytes when they are UTF-8, otherwise `body_base64` does. Bodies are cut
//! at [`MAX_BODY_BYTES`] (`truncated: true`); `size` is always the original size. An event counts as
//! done once its dead letter is written, so a bad event never holds a checkpoint back; if the write
//! itself fails, the event is *not* done and the source will read it again.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use base64::Engine;
use serde::{Deserialize, Serialize};

use crate::event::{Event, EventId, EventStatus, Labels};
use crate::telemetry::ComponentMetrics;

/// Bodies longer than this are cut in the dead-letter file.
pub const MAX_BODY_BYTES: usize = 1 << 20;

/// One dead letter before it is written.
#[derive(Debug, Clone, Copy)]
pub struct DeadLetter<'a> {
    /// Why.
    pub reason: &'a str,
    /// The original bytes (possibly only a prefix, see `size`).
    pub body: &'a [u8],
    /// Size of the original input in bytes.
    pub size: usize,
    /// The event id, when an event was created.
    pub event_id: Option<EventId>,
    /// The event type, when known.
    pub event_type: Option<&'a str>,
    /// Where in the input (file and byte offset, partition and sequence number).
    pub position: Option<&'a str>,
    /// Whether the body is formatted text (a plugin's output) rather than JSON.
    pub text: bool,
    /// What a plugin attached to it (sourcetype, SIEM event id), kept for a replay.
    pub labels: Option<&'a Labels>,
}

#[derive(Serialize)]
struct Record<'a> {
    time: String,
    pipeline: &'a str,
    component: &'a str,
    reason: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    position: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    event_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    event_type: Option<&'a str>,
    size: usize,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    truncated: bool,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    text: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    sourcetype: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    siem_event_id: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    route: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    body: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    body_base64: Option<String>,
}

#[derive(Debug)]
enum Target {
    File { path: PathBuf, file: Option<File> },
    Memory(Vec<String>),
}

/// A pipeline's dead-letter destination.
#[derive(Debug)]
pub struct DeadLetterQueue {
    pipeline: Arc<str>,
    target: Mutex<Target>,
}

impl DeadLetterQueue {
    /// The file `DATA_DIR/dead-letter/<pipeline>.jsonl`, opened on first use.
    pub fn file(data_dir: &Path, pipeline: &str) -> Self {
        Self {
            pipeline: Arc::from(pipeline),
            target: Mutex::new(Target::File {
                path: file_path(data_dir, pipeline),
                file: None,
            }),
        }
    }

    /// Dead letters kept in memory (`siemflow test` writes nothing to disk).
    pub fn memory(pipeline: &str) -> Self {
        Self {
            pipeline: Arc::from(pipeline),
            target: Mutex::new(Target::Memory(Vec::new())),
        }
    }

    /// The lines written to a memory queue.
    pub fn memory_lines(&self) -> Vec<String> {
        match &*self.lock() {
            Target::Memory(lines) => lines.clone(),
            Target::File { .. } => Vec::new(),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Target> {
        self.target
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Appends dead letters for one component and flushes them to the OS.
    pub fn write(&self, component: &str, letters: &[DeadLetter<'_>]) -> std::io::Result<()> {
        let now = humantime::format_rfc3339_millis(SystemTime::now()).to_string();
        let mut buffer = Vec::new();
        for letter in letters {
            let kept = &letter.body[..letter.body.len().min(MAX_BODY_BYTES)];
            let (body, body_base64) = match std::str::from_utf8(kept) {
                Ok(text) => (Some(text), None),
                Err(_) => (
                    None,
                    Some(base64::engine::general_purpose::STANDARD.encode(kept)),
                ),
            };
            let record = Record {
                time: now.clone(),
                pipeline: &self.pipeline,
                component,
                reason: letter.reason,
                position: letter.position,
                event_id: letter.event_id.map(|id| id.to_string()),
                event_type: letter.event_type,
                size: letter.size,
                truncated: kept.len() < letter.size,
                text: letter.text,
                sourcetype: letter.labels.and_then(|l| l.sourcetype.as_deref()),
                siem_event_id: letter.labels.and_then(|l| l.siem_event_id.as_deref()),
                route: letter.labels.and_then(|l| l.route.as_deref()),
                body,
                body_base64,
            };
            serde_json::to_writer(&mut buffer, &record)?;
            buffer.push(b'\n');
        }
        let mut target = self.lock();
        match &mut *target {
            Target::Memory(lines) => {
                lines.extend(String::from_utf8_lossy(&buffer).lines().map(str::to_string));
                Ok(())
            }
            Target::File { path, file } => {
                if file.is_none() {
                    if let Some(parent) = path.parent() {
                        std::fs::create_dir_all(parent)?;
                    }
                    *file = Some(OpenOptions::new().create(true).append(true).open(&*path)?);
                }
                match file {
                    Some(file) => file.write_all(&buffer),
                    None => Ok(()),
                }
            }
        }
    }
}

/// Where a pipeline's dead letters are written: `DATA_DIR/dead-letter/<pipeline>.jsonl`.
pub fn file_path(data_dir: &Path, pipeline: &str) -> PathBuf {
    data_dir
        .join("dead-letter")
        .join(format!("{pipeline}.jsonl"))
}

/// A dead letter read back from its file, for `siemflow dead-letters`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredLetter {
    /// When it was written (RFC 3339).
    pub time: String,
    /// The pipeline.
    pub pipeline: String,
    /// The component that gave up on the event.
    pub component: String,
    /// Why.
    pub reason: String,
    /// Where in the input, when a source wrote it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub position: Option<String>,
    /// The event id, when an event was created.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event_id: Option<String>,
    /// The event type, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event_type: Option<String>,
    /// The original size in bytes.
    pub size: usize,
    /// Whether the body was cut at [`MAX_BODY_BYTES`].
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub truncated: bool,
    /// Whether the body is formatted text rather than JSON.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub text: bool,
    /// The Splunk sourcetype a plugin gave the event.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sourcetype: Option<String>,
    /// The SIEM event id a plugin gave the event.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub siem_event_id: Option<String>,
    /// The routing key a plugin gave the event.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub route: Option<String>,
    /// The body, when it is UTF-8.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<String>,
    /// The body, when it is not.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body_base64: Option<String>,
}

impl StoredLetter {
    /// The original bytes, when the letter holds all of them.
    pub fn whole_body(&self) -> Option<Vec<u8>> {
        if self.truncated {
            return None;
        }
        match (&self.body, &self.body_base64) {
            (Some(body), _) => Some(body.clone().into_bytes()),
            (None, Some(encoded)) => base64::engine::general_purpose::STANDARD
                .decode(encoded)
                .ok(),
            (None, None) => None,
        }
    }
}

/// One line of a dead-letter file: the letter, or why the line is not one, with the line as
/// written so that it can be kept unchanged.
#[derive(Debug, Clone)]
pub struct StoredLine {
    /// The line, without its newline.
    pub line: String,
    /// The letter it holds.
    pub letter: Result<StoredLetter, String>,
}

/// Reads a dead-letter file; a missing file has no letters.
pub fn read_file(path: &Path) -> std::io::Result<Vec<StoredLine>> {
    let text = match std::fs::read(path) {
        Ok(bytes) => String::from_utf8_lossy(&bytes).into_owned(),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(error) => return Err(error),
    };
    Ok(text
        .lines()
        .filter(|line| !line.trim().is_empty())
        .map(|line| StoredLine {
            line: line.to_string(),
            letter: serde_json::from_str(line).map_err(|error| error.to_string()),
        })
        .collect())
}

/// A component's handle on the dead-letter queue: writes, counts, and resolves events.
#[derive(Debug, Clone)]
pub struct DeadLetters {
    queue: Arc<DeadLetterQueue>,
    component: Arc<str>,
    metrics: ComponentMetrics,
}

impl DeadLetters {
    /// Binds the queue to a component.
    pub fn new(
        queue: Arc<DeadLetterQueue>,
        component: Arc<str>,
        metrics: ComponentMetrics,
    ) -> Self {
        Self {
            queue,
            component,
            metrics,
        }
    }

    /// The lines written so far, when the queue is in memory.
    pub fn memory_lines(&self) -> Vec<String> {
        self.queue.memory_lines()
    }

    /// Dead-letters events; each is resolved as dead-lettered, or as errored if the write failed.
    pub fn events(&self, events: Vec<(Event, String)>) {
        if events.is_empty() {
            return;
        }
        let letters: Vec<DeadLetter<'_>> = events
            .iter()
            .map(|(event, reason)| DeadLetter {
                reason,
                body: event.body(),
                size: event.body().len(),
                event_id: Some(event.id()),
                event_type: event.metadata().event_type.as_deref(),
                position: None,
                text: event.format() == crate::event::BodyFormat::Text,
                labels: event.metadata().labels.as_deref(),
            })
            .collect();
        let status = self.record(&letters);
        drop(letters);
        for (event, reason) in events {
            match status {
                EventStatus::DeadLettered => event.dead_lettered(&reason),
                other => event.resolve(other),
            }
        }
    }

    /// Dead-letters input that never became an event (a malformed line at a source).
    ///
    /// Returns `false` when the write failed: the caller must then not treat the input as done.
    pub fn raw(&self, letter: DeadLetter<'_>) -> bool {
        self.record(&[letter]) == EventStatus::DeadLettered
    }

    fn record(&self, letters: &[DeadLetter<'_>]) -> EventStatus {
        match self.queue.write(&self.component, letters) {
            Ok(()) => {
                // One count and one log line per kind of reason, not per event.
                let mut kinds: Vec<(&str, usize, &str)> = Vec::new();
                for letter in letters {
                    let kind = crate::telemetry::reason_kind(letter.reason);
                    match kinds.iter_mut().find(|(k, _, _)| *k == kind) {
                        Some((_, count, _)) => *count += 1,
                        None => kinds.push((kind, 1, letter.reason)),
                    }
                }
                for (_, count, example) in kinds {
                    self.metrics.dead_lettered(count, example);
                }
                EventStatus::DeadLettered
            }
            Err(error) => {
                self.metrics.error(
                    "dead_letter_write_failed",
                    &format_args!("cannot write {} dead letter(s): {error}", letters.len()),
                );
                EventStatus::Errored
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_text_and_binary_bodies() {
        let directory = tempfile::tempdir().unwrap();
        let queue = DeadLetterQueue::file(directory.path(), "contoso");
        queue
            .write(
                "in",
                &[
                    DeadLetter {
                        reason: "malformed JSON: x",
                        body: b"{nope",
                        size: 5,
                        event_id: None,
                        event_type: None,
                        position: Some("a.json:10"),
                        text: false,
                        labels: None,
                    },
                    DeadLetter {
                        reason: "invalid UTF-8 at byte 1",
                        body: b"a\xffb",
                        size: 9,
                        event_id: None,
                        event_type: None,
                        position: None,
                        text: false,
                        labels: None,
                    },
                ],
            )
            .unwrap();
        let text =
            std::fs::read_to_string(directory.path().join("dead-letter/contoso.jsonl")).unwrap();
        let lines: Vec<serde_json::Value> = text
            .lines()
            .map(|line| serde_json::from_str(line).unwrap())
            .collect();
        assert_eq!(lines[0]["body"], "{nope");
        assert_eq!(lines[0]["position"], "a.json:10");
        assert_eq!(lines[0]["component"], "in");
        assert_eq!(lines[1]["body_base64"], "Yf9i");
        assert_eq!(lines[1]["truncated"], true);
        assert_eq!(lines[1]["size"], 9);
    }

    #[test]
    fn letters_read_back_with_their_whole_bodies_only() {
        let directory = tempfile::tempdir().unwrap();
        let queue = DeadLetterQueue::file(directory.path(), "contoso");
        let letter = |body: &'static [u8], size| DeadLetter {
            reason: "r",
            body,
            size,
            event_id: Some(EventId::from(7)),
            event_type: Some("AdvancedHunting-AlertInfo"),
            position: None,
            text: true,
            labels: None,
        };
        queue
            .write(
                "map",
                &[
                    letter(b"CEF:0|a", 7),
                    letter(b"a\xffb", 3),
                    letter(b"cut", 9),
                ],
            )
            .unwrap();
        let path = file_path(directory.path(), "contoso");
        std::fs::write(
            &path,
            std::fs::read_to_string(&path).unwrap() + "not a letter\n",
        )
        .unwrap();
        let lines = read_file(&path).unwrap();
        let letters: Vec<&StoredLetter> = lines
            .iter()
            .filter_map(|l| l.letter.as_ref().ok())
            .collect();
        assert_eq!(letters.len(), 3);
        assert_eq!(letters[0].whole_body().unwrap(), b"CEF:0|a");
        assert!(letters[0].text);
        assert_eq!(
            letters[0].event_id.as_deref(),
            Some("00000000000000000000000000000007")
        );
        assert_eq!(letters[1].whole_body().unwrap(), b"a\xffb");
        assert_eq!(letters[2].whole_body(), None);
        assert_eq!(lines[3].line, "not a letter");
        assert!(lines[3].letter.is_err());
        assert!(
            read_file(&directory.path().join("none.jsonl"))
                .unwrap()
                .is_empty()
        );
    }
}
