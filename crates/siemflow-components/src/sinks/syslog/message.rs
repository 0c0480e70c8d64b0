//! Syslog messages: the RFC 5424 or RFC 3164 header around an event's body, and the framing.
//!
//! RFC 5424: `<PRI>1 TIMESTAMP HOSTNAME APP-NAME - - SD MSG`, the timestamp in UTC with
//! milliseconds, SD `[siemflow@32473 pipeline="..."]` (or `-`). RFC 3164: `<PRI>Mmm dd hh:mm:ss
//! HOSTNAME MSG`, the form CEF and LEEF receivers expect (no tag). Framing is octet counting
//! (RFC 6587 `LEN SP MSG`, the length in bytes) or a newline after each message, in which case CR
//! and LF in a body become spaces so that a message can never be split.

use std::time::SystemTime;

/// Which header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// RFC 5424.
    Rfc5424,
    /// RFC 3164 (BSD).
    Rfc3164,
}

/// How messages are delimited on a stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Framing {
    /// RFC 6587 octet counting: `LEN SP MSG`.
    OctetCounting,
    /// One message per line.
    Newline,
    /// One message per datagram (UDP): nothing added.
    Datagram,
}

/// What to do with a message longer than the limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Oversize {
    /// Cut the body to fit (never inside a character or an escape) and say so: RFC 5424 adds a
    /// `truncated="ORIGINAL-BYTES"` parameter to the structured data.
    Truncate,
    /// Send the event to the dead-letter file instead.
    DeadLetter,
}

/// Everything fixed about the messages one sink writes.
#[derive(Debug, Clone)]
pub struct MessageFormat {
    /// Header form.
    pub format: Format,
    /// Framing.
    pub framing: Framing,
    /// `facility * 8 + severity`.
    pub priority: u8,
    /// HOSTNAME (printable ASCII, no spaces).
    pub hostname: String,
    /// APP-NAME (RFC 5424 only).
    pub app_name: String,
    /// The structured-data element, `[ID pipeline="..."]`, when there is one (RFC 5424 only).
    pub structured_data: Option<(String, String)>,
    /// The longest message, in bytes, without the framing.
    pub max_bytes: usize,
    /// What to do beyond it.
    pub oversize: Oversize,
}

/// How a message was written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Written {
    /// As it was.
    Whole,
    /// With its body cut to fit the limit.
    Truncated,
}

/// The message did not fit and the policy is to dead-letter it, or even its header does not fit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TooLong {
    /// The message's size in bytes.
    pub bytes: usize,
}

impl MessageFormat {
    /// Appends one framed message to `out`.
    pub fn write(
        &self,
        out: &mut Vec<u8>,
        time: SystemTime,
        body: &[u8],
    ) -> Result<Written, TooLong> {
        let header = self.header(time, None);
        let whole = header.len() + body.len();
        if whole <= self.max_bytes {
            self.frame(out, &header, body);
            return Ok(Written::Whole);
        }
        if self.oversize == Oversize::DeadLetter {
            return Err(TooLong { bytes: whole });
        }
        let header = self.header(time, Some(body.len()));
        let room = self
            .max_bytes
            .checked_sub(header.len())
            .ok_or(TooLong { bytes: whole })?;
        self.frame(out, &header, cut(body, room));
        Ok(Written::Truncated)
    }

    fn header(&self, time: SystemTime, truncated_from: Option<usize>) -> Vec<u8> {
        let mut header = Vec::with_capacity(128);
        let stamp = humantime::format_rfc3339_millis(time).to_string();
        match self.format {
            Format::Rfc5424 => {
                header.extend_from_slice(
                    format!(
                        "<{}>1 {stamp} {} {} - - ",
                        self.priority, self.hostname, self.app_name
                    )
                    .as_bytes(),
                );
                match &self.structured_data {
                    Some((id, pipeline)) => {
                        header.extend_from_slice(
                            format!("[{id} pipeline=\"{}\"", sd_escape(pipeline)).as_bytes(),
                        );
                        if let Some(bytes) = truncated_from {
                            header.extend_from_slice(format!(" truncated=\"{bytes}\"").as_bytes());
                        }
                        header.extend_from_slice(b"] ");
                    }
                    None if truncated_from.is_some() => {
                        let bytes = truncated_from.unwrap_or_default();
                        header.extend_from_slice(
                            format!("[siemflow@32473 truncated=\"{bytes}\"] ").as_bytes(),
                        );
                    }
                    None => header.extend_from_slice(b"- "),
                }
            }
            Format::Rfc3164 => {
                // 2023-10-20T09:53:07.503Z -> Oct 20 09:53:07, the day padded with a space.
                let month = stamp
                    .get(5..7)
                    .and_then(|m| m.parse::<usize>().ok())
                    .and_then(|m| MONTHS.get(m.wrapping_sub(1)))
                    .unwrap_or(&"Jan");
                let day = stamp
                    .get(8..10)
                    .and_then(|d| d.parse::<u8>().ok())
                    .unwrap_or(1);
                let clock = stamp.get(11..19).unwrap_or("00:00:00");
                header.extend_from_slice(
                    format!(
                        "<{}>{month} {day:>2} {clock} {} ",
                        self.priority, self.hostname
                    )
                    .as_bytes(),
                );
            }
        }
        header
    }

    fn frame(&self, out: &mut Vec<u8>, header: &[u8], body: &[u8]) {
        match self.framing {
            Framing::OctetCounting => {
                out.extend_from_slice(format!("{} ", header.len() + body.len()).as_bytes());
                out.extend_from_slice(header);
                out.extend_from_slice(body);
            }
            Framing::Newline => {
                out.extend_from_slice(header);
                out.extend(
                    body.iter()
                        .map(|&b| if b == b'\n' || b == b'\r' { b' ' } else { b }),
                );
                out.push(b'\n');
            }
            Framing::Datagram => {
                out.extend_from_slice(header);
                out.extend_from_slice(body);
            }
        }
    }
}

const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// RFC 5424 PARAM-VALUE escaping: `"`, `\` and `]` get a backslash.
fn sd_escape(value: &str) -> String {
    let mut escaped = String::with_capacity(value.len());
    for c in value.chars() {
        if matches!(c, '"' | '\\' | ']') {
            escaped.push('\\');
        }
        escaped.push(c);
    }
    escaped
}

/// The longest prefix of `body` of at most `room` bytes that ends on a character boundary and
/// not inside a CEF escape (an odd run of trailing backslashes).
fn cut(body: &[u8], room: usize) -> &[u8] {
    let mut end = room.min(body.len());
    // A UTF-8 continuation byte at the cut means a character would be split.
    while end > 0 && end < body.len() && (body[end] & 0xC0) == 0x80 {
        end -= 1;
    }
    let backslashes = body[..end]
        .iter()
        .rev()
        .take_while(|&&b| b == b'\\')
        .count();
    if backslashes % 2 == 1 {
        end -= 1;
    }
    &body[..end]
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    /// 2023-10-20T09:53:07.503Z, the time of the format vectors.
    fn vector_time() -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_millis(1_697_795_587_503)
    }

    fn format(format: Format, framing: Framing) -> MessageFormat {
        MessageFormat {
            format,
            framing,
            priority: 134,
            hostname: "mde-bridge".into(),
            app_name: "defender-siem".into(),
            structured_data: None,
            max_bytes: 8192,
            oversize: Oversize::Truncate,
        }
    }

    fn written(message: &MessageFormat, body: &str) -> String {
        let mut out = Vec::new();
        message
            .write(&mut out, vector_time(), body.as_bytes())
            .expect("fits");
        String::from_utf8(out).expect("UTF-8")
    }

    const C9: &str = "CEF:0|Microsoft|Microsoft Defender for Endpoint|1.0|ThreatManagement|Ünïcödé ✓|6|suser=Jürgen Müller msg=日本語 😀";

    /// Format vector S1: the length counts bytes (190), not characters (173).
    #[test]
    fn s1_rfc5424_octet_counted() {
        assert_eq!(
            written(&format(Format::Rfc5424, Framing::OctetCounting), C9),
            format!("190 <134>1 2023-10-20T09:53:07.503Z mde-bridge defender-siem - - - {C9}")
        );
    }

    /// Format vector S2.
    #[test]
    fn s2_rfc3164_newline() {
        let c1 = "CEF:0|Microsoft|Microsoft Defender for Endpoint|1.0|ThreatManagement|Suspicious PowerShell command line|6|rt=1697795587503 dhost=clw555test suser=CDPUserIS-38411";
        assert_eq!(
            written(&format(Format::Rfc3164, Framing::Newline), c1),
            format!("<134>Oct 20 09:53:07 mde-bridge {c1}\n")
        );
        let fifth = SystemTime::UNIX_EPOCH + Duration::from_secs(1_696_499_587);
        let mut out = Vec::new();
        format(Format::Rfc3164, Framing::Newline)
            .write(&mut out, fifth, b"x")
            .expect("fits");
        assert!(
            out.starts_with(b"<134>Oct  5 "),
            "{}",
            String::from_utf8_lossy(&out)
        );
    }

    #[test]
    fn structured_data_carries_the_pipeline_escaped() {
        let mut message = format(Format::Rfc5424, Framing::Newline);
        message.structured_data = Some(("siemflow@32473".into(), "a\"b]c\\".into()));
        assert_eq!(
            written(&message, "body\nwith\r\nbreaks"),
            "<134>1 2023-10-20T09:53:07.503Z mde-bridge defender-siem - - [siemflow@32473 pipeline=\"a\\\"b\\]c\\\\\"] body with  breaks\n"
        );
    }

    #[test]
    fn oversize_messages_are_cut_and_marked_or_refused() {
        let mut message = format(Format::Rfc5424, Framing::OctetCounting);
        message.structured_data = Some(("siemflow@32473".into(), "p".into()));
        message.max_bytes = 120;
        let body = format!("CEF:0|V|P|1|id|n|5|msg={}é\\\\\\=x", "a".repeat(40));
        let mut out = Vec::new();
        assert_eq!(
            message.write(&mut out, vector_time(), body.as_bytes()),
            Ok(Written::Truncated)
        );
        let text = String::from_utf8(out).expect("never cut inside a character");
        let (length, rest) = text.split_once(' ').expect("octet count");
        assert_eq!(length.parse::<usize>().ok(), Some(rest.len()));
        assert!(rest.len() <= 120, "{rest}");
        assert!(
            rest.contains(&format!("truncated=\"{}\"", body.len())),
            "{rest}"
        );
        let kept = rest.split("] ").nth(1).expect("a body");
        assert!(body.starts_with(kept));
        assert_eq!(
            kept.bytes().rev().take_while(|&b| b == b'\\').count() % 2,
            0,
            "{kept}"
        );

        message.oversize = Oversize::DeadLetter;
        let mut out = Vec::new();
        assert!(
            message
                .write(&mut out, vector_time(), body.as_bytes())
                .is_err()
        );
        assert!(out.is_empty());
    }

    #[test]
    fn cut_never_splits_a_character_or_an_escape() {
        assert_eq!(cut("aé".as_bytes(), 2), b"a");
        assert_eq!(cut(b"ab\\\\c", 4), b"ab\\\\");
        assert_eq!(cut(b"ab\\\\\\c", 5), b"ab\\\\");
        assert_eq!(cut(b"abc", 10), b"abc");
        assert_eq!(cut(b"abc", 0), b"");
    }
}
