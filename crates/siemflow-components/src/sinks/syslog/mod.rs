//! `type: syslog`: sends events to a syslog receiver (QRadar, ArcSight, syslog-ng, rsyslog) over
//! UDP, TCP or TLS, each in an RFC 5424 or RFC 3164 header.
//!
//! A batch is acknowledged once all of it is written to the socket and flushed (TCP, TLS). If the
//! connection fails, the sink reconnects with backoff and writes the whole batch again, so a
//! receiver may see a few messages twice, never none. UDP is best effort: a datagram sent is
//! acknowledged, whether it arrived or not.

mod connection;
pub(crate) mod message;

use std::ops::Range;
use std::time::Duration;

use serde::Deserialize;
use siemflow_core::component::{
    ComponentError, ComponentTask, Reach, ReachCheck, SinkConfig, SinkContext,
};
use siemflow_core::config::duration;
use siemflow_core::event::{Event, EventStatus, resolve_batch};

use self::connection::{Connection, Connector, Transport};
use self::message::{Format, Framing, MessageFormat, Oversize, Written};
use crate::endpoint::HostPort;
use crate::tls::TlsOptions;
use siemflow_core::backoff::Backoff;

/// Sends events to a syslog receiver.
#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SyslogSinkConfig {
    /// `host:port` of the receiver (`qradar.example.com:514`, `10.0.0.5:6514`, `[::1]:514`),
    /// resolved again at each connection.
    pub address: HostPort,
    /// `udp`, `tcp` (default) or `tls`.
    #[serde(default)]
    pub transport: TransportName,
    /// `rfc5424` (default): `<PRI>1 TIMESTAMP HOSTNAME APP-NAME - - SD MSG`, UTC with milliseconds;
    /// or `rfc3164`: `<PRI>Mmm dd hh:mm:ss HOSTNAME MSG`, the form CEF and LEEF receivers know (no
    /// tag).
    #[serde(default)]
    pub format: FormatName,
    /// For TCP and TLS, not UDP: `octet-counting`, RFC 6587's `LEN SP MSG`, the length in bytes
    /// (default `octet-counting`), or `newline` (CR and LF in a message become spaces, so that it
    /// cannot be split).
    #[serde(default)]
    pub framing: Option<FramingName>,
    /// HOSTNAME in the header, printable ASCII without spaces (default: this machine's name).
    #[serde(default)]
    pub hostname: Option<String>,
    /// APP-NAME in an RFC 5424 header (default `siemflow`).
    #[serde(default = "default_app_name")]
    pub app_name: String,
    /// Facility: `kern`, `user`, ..., `local0` (default) to `local7`, or its number.
    #[schemars(with = "String")]
    #[serde(default = "default_facility")]
    pub facility: Code<Facility>,
    /// Severity: `emerg`, `alert`, `crit`, `err`, `warning`, `notice`, `info` (default),
    /// `debug`, or its number.
    #[schemars(with = "String")]
    #[serde(default = "default_severity")]
    pub severity: Code<Severity>,
    /// Add `[SD_ID pipeline="..."]` to RFC 5424 headers (default `true`).
    #[serde(default = "yes")]
    pub structured_data: bool,
    /// The structured-data element's id (default `siemflow@32473`).
    #[serde(default = "default_sd_id")]
    pub sd_id: String,
    /// The longest message in bytes, header included (default 8192; QRadar's TCP default is 4096,
    /// its UDP default 1024).
    #[serde(default = "default_max_message_bytes")]
    pub max_message_bytes: usize,
    /// What a longer message becomes: `truncate` (default), its body cut (never inside a character
    /// or an escape) and marked with `truncated="ORIGINAL-BYTES"` in the structured data; or
    /// `dead_letter`, the event sent to the dead-letter file.
    #[serde(default)]
    pub on_oversize: OversizeName,
    /// TLS options, with `transport: tls`.
    #[serde(default)]
    pub tls: Option<TlsOptions>,
    /// Giving up on one connection attempt (default `10s`).
    #[schemars(with = "String")]
    #[serde(default = "default_connect_timeout", with = "duration")]
    pub connect_timeout: Duration,
}

/// `transport:`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum TransportName {
    /// UDP datagrams.
    Udp,
    /// TCP.
    #[default]
    Tcp,
    /// TLS over TCP.
    Tls,
}

/// `format:`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum FormatName {
    /// RFC 5424.
    #[default]
    Rfc5424,
    /// RFC 3164.
    Rfc3164,
}

/// `framing:`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum FramingName {
    /// RFC 6587 octet counting.
    OctetCounting,
    /// A newline after each message.
    Newline,
}

/// `on_oversize:`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum OversizeName {
    /// Cut the body and mark it.
    #[default]
    Truncate,
    /// Dead-letter the event.
    DeadLetter,
}

/// A syslog facility or severity, by name or number.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Code<T>(pub u8, std::marker::PhantomData<T>);

/// Facility names, in code order.
#[derive(Debug, Clone, Copy)]
pub enum Facility {}
/// Severity names, in code order.
#[derive(Debug, Clone, Copy)]
pub enum Severity {}

/// The names of a code's values, in order.
pub trait CodeNames {
    /// Names by code.
    const NAMES: &'static [&'static str];
    /// What the code is called in errors.
    const WHAT: &'static str;
}

impl CodeNames for Facility {
    const NAMES: &'static [&'static str] = &[
        "kern", "user", "mail", "daemon", "auth", "syslog", "lpr", "news", "uucp", "cron",
        "authpriv", "ftp", "ntp", "audit", "alert", "clock", "local0", "local1", "local2",
        "local3", "local4", "local5", "local6", "local7",
    ];
    const WHAT: &'static str = "facility";
}

impl CodeNames for Severity {
    const NAMES: &'static [&'static str] = &[
        "emerg", "alert", "crit", "err", "warning", "notice", "info", "debug",
    ];
    const WHAT: &'static str = "severity";
}

impl<'de, T: CodeNames> Deserialize<'de> for Code<T> {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        let code = T::NAMES
            .iter()
            .position(|name| name.eq_ignore_ascii_case(text.trim()))
            .or_else(|| {
                text.trim()
                    .parse::<usize>()
                    .ok()
                    .filter(|&n| n < T::NAMES.len())
            })
            .ok_or_else(|| {
                serde::de::Error::custom(format!(
                    "unknown {} `{text}` (one of {}, or 0 to {})",
                    T::WHAT,
                    T::NAMES.join(", "),
                    T::NAMES.len() - 1
                ))
            })?;
        Ok(Code(code as u8, std::marker::PhantomData))
    }
}

fn default_app_name() -> String {
    "siemflow".into()
}

fn default_facility() -> Code<Facility> {
    Code(16, std::marker::PhantomData)
}

fn default_severity() -> Code<Severity> {
    Code(6, std::marker::PhantomData)
}

fn yes() -> bool {
    true
}

fn default_sd_id() -> String {
    "siemflow@32473".into()
}

fn default_max_message_bytes() -> usize {
    8192
}

fn default_connect_timeout() -> Duration {
    Duration::from_secs(10)
}

/// A header field: 1 to `max` printable ASCII characters, no spaces (RFC 5424 PRINTUSASCII).
fn check_header_field(what: &str, value: &str, max: usize) -> Result<(), String> {
    if value.is_empty() || value.len() > max || !value.bytes().all(|b| (33..=126).contains(&b)) {
        return Err(format!(
            "`{what}` must be 1 to {max} printable ASCII characters without spaces, not `{value}`"
        ));
    }
    Ok(())
}

impl SyslogSinkConfig {
    fn framing(&self) -> Framing {
        match (self.transport, self.framing) {
            (TransportName::Udp, _) => Framing::Datagram,
            (_, Some(FramingName::Newline)) => Framing::Newline,
            (_, _) => Framing::OctetCounting,
        }
    }

    fn hostname(&self) -> String {
        self.hostname.clone().unwrap_or_else(|| {
            let name = gethostname::gethostname().to_string_lossy().into_owned();
            // Only what a header may hold; a name with anything else is not worth sending.
            if check_header_field("hostname", &name, 255).is_ok() {
                name
            } else {
                "-".into()
            }
        })
    }

    fn host(&self) -> &str {
        self.address.host()
    }
}

impl SyslogSinkConfig {
    /// How to reach the receiver, for the sink and its `--connect` check.
    fn connector(&self) -> Result<Connector, ComponentError> {
        let transport = match self.transport {
            TransportName::Udp => Transport::Udp,
            TransportName::Tcp => Transport::Tcp,
            TransportName::Tls => {
                let options = self.tls.clone().unwrap_or_default();
                Transport::Tls(
                    options
                        .client(self.host())
                        .map_err(ComponentError::Config)?,
                )
            }
        };
        Ok(Connector {
            address: self.address.to_string(),
            transport,
            connect_timeout: self.connect_timeout,
        })
    }
}

impl SinkConfig for SyslogSinkConfig {
    fn resolve_paths(&mut self, base: &std::path::Path) {
        if let Some(tls) = &mut self.tls {
            tls.resolve_paths(base);
        }
    }

    fn check(&self) -> Result<(), String> {
        if self.transport == TransportName::Udp && self.framing.is_some() {
            return Err("`framing` is for TCP and TLS: UDP sends one message per datagram".into());
        }
        if self.transport != TransportName::Tls && self.tls.is_some() {
            return Err("`tls` options need `transport: tls`".into());
        }
        if let Some(tls) = &self.tls {
            tls.check()?;
        }
        if let Some(hostname) = &self.hostname {
            check_header_field("hostname", hostname, 255)?;
        }
        check_header_field("app_name", &self.app_name, 48)?;
        check_header_field("sd_id", &self.sd_id, 32)?;
        if self.sd_id.contains(['=', ']', '"']) {
            return Err(format!(
                "`sd_id` cannot hold `=`, `]` or `\"`: `{}`",
                self.sd_id
            ));
        }
        if self.max_message_bytes < 480 {
            return Err(
                "`max_message_bytes` must be at least 480 (what RFC 5424 receivers must accept)"
                    .into(),
            );
        }
        Ok(())
    }

    fn reach(&self) -> ReachCheck<'_> {
        Box::pin(async move {
            let connector = self.connector().map_err(|error| error.to_string())?;
            let connection = connector
                .connect()
                .await
                .map_err(|error| format!("cannot connect to {}: {error}", self.address))?;
            // A TLS 1.3 receiver refuses a client certificate after the handshake: give it a
            // moment to say so by closing.
            tokio::time::sleep(Duration::from_millis(200)).await;
            let closed = connection.is_closed().await;
            connection.close().await;
            if closed {
                return Err(format!(
                    "{} closed the connection as soon as it opened (a client certificate refused?)",
                    self.address
                ));
            }
            Ok(Reach::Reached(match self.transport {
                TransportName::Udp => format!(
                    "{} resolved; UDP gets no answer, so delivery cannot be confirmed",
                    self.address
                ),
                TransportName::Tcp => format!("TCP connection to {} opened", self.address),
                TransportName::Tls if self.tls.as_ref().is_some_and(|tls| !tls.verify) => {
                    format!(
                        "TLS connection to {} opened, certificate NOT verified (`tls.verify: false`)",
                        self.address
                    )
                }
                TransportName::Tls => format!(
                    "TLS connection to {} opened, certificate of `{}` verified",
                    self.address,
                    self.tls
                        .as_ref()
                        .and_then(|tls| tls.server_name.as_deref())
                        .unwrap_or(self.host())
                ),
            }))
        })
    }

    fn build(&self, cx: SinkContext) -> Result<ComponentTask, ComponentError> {
        let connector = self.connector()?;
        let messages = MessageFormat {
            format: match self.format {
                FormatName::Rfc5424 => Format::Rfc5424,
                FormatName::Rfc3164 => Format::Rfc3164,
            },
            framing: self.framing(),
            priority: self.facility.0 * 8 + self.severity.0,
            hostname: self.hostname(),
            app_name: self.app_name.clone(),
            structured_data: self
                .structured_data
                .then(|| (self.sd_id.clone(), cx.component.pipeline.to_string())),
            max_bytes: self.max_message_bytes,
            oversize: match self.on_oversize {
                OversizeName::Truncate => Oversize::Truncate,
                OversizeName::DeadLetter => Oversize::DeadLetter,
            },
        };
        Ok(Box::pin(run(cx, connector, messages)))
    }
}

/// The sink's loop: encode a batch, write it (reconnecting as long as it takes), acknowledge.
async fn run(
    cx: SinkContext,
    connector: Connector,
    messages: MessageFormat,
) -> Result<(), ComponentError> {
    let SinkContext {
        component,
        mut input,
    } = cx;
    let mut connection: Option<Connection> = None;
    let mut backoff = Backoff::default();
    let mut buffer = Vec::with_capacity(1 << 20);
    let mut ranges: Vec<Range<usize>> = Vec::new();
    while let Some(batch) = input.recv().await {
        buffer.clear();
        ranges.clear();
        let mut sent: Vec<Event> = Vec::with_capacity(batch.len());
        let mut refused = Vec::new();
        let mut truncated = 0usize;
        for event in batch {
            let start = buffer.len();
            match messages.write(&mut buffer, event.metadata().received_at, &event.to_line()) {
                Ok(written) => {
                    truncated += usize::from(written == Written::Truncated);
                    ranges.push(start..buffer.len());
                    sent.push(event);
                }
                Err(too_long) => refused.push((
                    event,
                    format!(
                        "oversize: a syslog message of {} bytes exceeds max_message_bytes ({})",
                        too_long.bytes, messages.max_bytes
                    ),
                )),
            }
        }
        if truncated > 0 {
            component.metrics.error(
                "message_truncated",
                &format_args!(
                    "{truncated} message(s) cut to max_message_bytes ({})",
                    messages.max_bytes
                ),
            );
        }
        component.dead_letters.events(refused);
        if sent.is_empty() {
            continue;
        }
        loop {
            if let Some(open) = &connection
                && open.is_closed().await
            {
                connection = None;
            }
            let open = match &mut connection {
                Some(open) => open,
                None => match connector.connect().await {
                    Ok(open) => connection.insert(open),
                    Err(error) => {
                        let delay = backoff.next_delay();
                        component.metrics.error(
                            "connect_failed",
                            &format_args!(
                                "cannot connect to {}: {error}; retrying in {delay:?}",
                                connector.address
                            ),
                        );
                        tokio::time::sleep(delay).await;
                        continue;
                    }
                },
            };
            match open.send(&buffer, &ranges).await {
                Ok(()) => break,
                Err(error) => {
                    connection = None;
                    let delay = backoff.next_delay();
                    component.metrics.error(
                        "write_failed",
                        &format_args!(
                            "cannot write to {}: {error}; reconnecting in {delay:?} to send the batch again",
                            connector.address
                        ),
                    );
                    tokio::time::sleep(delay).await;
                }
            }
        }
        backoff.reset();
        component.metrics.delivered(&sent);
        resolve_batch(sent, EventStatus::Delivered);
    }
    if let Some(connection) = connection {
        connection.close().await;
    }
    Ok(())
}
