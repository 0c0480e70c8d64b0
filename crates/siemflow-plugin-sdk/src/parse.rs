//! Strict readers of CEF and LEEF lines, the inverse of [`cef`](crate::cef) and
//! [`leef`](crate::leef): a plugin's tests (and siemflow's fuzz targets) read back what was
//! written and compare fields, not strings.
//!
//! They accept only what the standards allow and the encoders write: in CEF, header fields escape
//! `\` and `|`, extension values escape `\`, `=`, LF and CR, and nothing else may follow a
//! backslash; no line holds a raw CR or LF, a header no control character, and keys are ASCII
//! letters and digits. LEEF has no escaping: a line is rejected when a header field holds a
//! control character or a value the delimiter's neighbour `key=` cannot be told apart from.
//!
//! ```
//! use siemflow_plugin_sdk::parse;
//!
//! let line = r"CEF:0|Microsoft|MDE|1.0|Class|A \| name|6|act=blocked msg=x\=1 y";
//! let cef = parse::cef(line).unwrap();
//! assert_eq!(cef.header[4], "A | name");
//! assert_eq!(cef.extension, [("act".into(), "blocked".into()), ("msg".into(), "x=1 y".into())]);
//! ```

/// A CEF line read back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CefLine {
    /// `0` or `1`, after `CEF:`.
    pub version: u8,
    /// Vendor, product, version, class id, name and severity, unescaped.
    pub header: [String; 6],
    /// The extension's pairs in order, values unescaped.
    pub extension: Vec<(String, String)>,
}

/// Reads a CEF line.
pub fn cef(line: &str) -> Result<CefLine, String> {
    if line.contains(['\n', '\r']) {
        return Err("a raw line break".into());
    }
    let rest = line.strip_prefix("CEF:").ok_or("no `CEF:` prefix")?;
    let mut fields: Vec<String> = Vec::with_capacity(7);
    let mut current = String::new();
    let mut chars = rest.char_indices();
    let mut extension_at = None;
    while let Some((at, c)) = chars.next() {
        match c {
            '\\' => match chars.next() {
                Some((_, escaped @ ('\\' | '|'))) => current.push(escaped),
                other => return Err(format!("`\\{:?}` in the header", other.map(|(_, c)| c))),
            },
            '|' => {
                fields.push(std::mem::take(&mut current));
                if fields.len() == 7 {
                    extension_at = Some(at + 1);
                    break;
                }
            }
            c if c.is_control() => return Err(format!("control character {c:?} in the header")),
            c => current.push(c),
        }
    }
    let extension_at = extension_at.ok_or("fewer than 7 header fields")?;
    let version = match fields[0].as_str() {
        "0" => 0,
        "1" => 1,
        other => return Err(format!("CEF version {other:?}")),
    };
    let severity = &fields[6];
    if !severity.parse::<u8>().is_ok_and(|n| n <= 10) {
        return Err(format!("severity {severity:?}"));
    }
    let extension = cef_extension(&rest[extension_at..])?;
    let mut header = fields.into_iter().skip(1);
    let mut next = || header.next().unwrap_or_default();
    Ok(CefLine {
        version,
        header: [next(), next(), next(), next(), next(), next()],
        extension,
    })
}

/// `key=value key=value`: a key is the run of letters and digits before an unescaped `=`, and
/// its value runs to the space before the next key.
fn cef_extension(text: &str) -> Result<Vec<(String, String)>, String> {
    let bytes = text.as_bytes();
    let mut equals = Vec::new();
    let mut at = 0;
    while at < bytes.len() {
        match bytes[at] {
            b'\\' => at += 2,
            b'=' => {
                equals.push(at);
                at += 1;
            }
            _ => at += 1,
        }
    }
    let key_start = |equal: usize| {
        let run = bytes[..equal]
            .iter()
            .rev()
            .take_while(|b| b.is_ascii_alphanumeric())
            .count();
        equal - run
    };
    let mut pairs = Vec::with_capacity(equals.len());
    for (index, &equal) in equals.iter().enumerate() {
        let start = key_start(equal);
        if start == equal {
            return Err(format!("an `=` without a key at byte {equal}"));
        }
        if index == 0 && start != 0 {
            return Err("text before the first key".into());
        }
        let value_end = match equals.get(index + 1) {
            Some(&next) => {
                let next_start = key_start(next);
                if next_start == 0 || bytes[next_start - 1] != b' ' {
                    return Err(format!("no space before the key at byte {next_start}"));
                }
                next_start - 1
            }
            None => bytes.len(),
        };
        if value_end <= equal + 1 {
            return Err(format!("a key without a value at byte {equal}"));
        }
        let value = unescape_value(&text[equal + 1..value_end])?;
        pairs.push((text[start..equal].to_string(), value));
    }
    if equals.is_empty() && !text.is_empty() {
        return Err("an extension without `key=`".into());
    }
    Ok(pairs)
}

fn unescape_value(raw: &str) -> Result<String, String> {
    let mut value = String::with_capacity(raw.len());
    let mut chars = raw.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => value.push(match chars.next() {
                Some('\\') => '\\',
                Some('=') => '=',
                Some('n') => '\n',
                Some('r') => '\r',
                other => return Err(format!("`\\{other:?}` in a value")),
            }),
            '\t' => value.push(c),
            c if c.is_control() => return Err(format!("control character {c:?} in a value")),
            c => value.push(c),
        }
    }
    Ok(value)
}

/// A LEEF line read back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeefLine {
    /// `1.0` or `2.0`.
    pub version: String,
    /// Vendor, product, version and event id.
    pub header: [String; 4],
    /// The attribute delimiter (TAB for LEEF 1.0).
    pub delimiter: char,
    /// The attributes in order.
    pub attributes: Vec<(String, String)>,
}

/// Reads a LEEF line.
pub fn leef(line: &str) -> Result<LeefLine, String> {
    let rest = line.strip_prefix("LEEF:").ok_or("no `LEEF:` prefix")?;
    let (version, rest) = rest.split_once('|').ok_or("no version")?;
    let fields_wanted = match version {
        "1.0" => 4,
        "2.0" => 5,
        other => return Err(format!("LEEF version {other:?}")),
    };
    let mut fields = Vec::with_capacity(5);
    let mut rest = rest;
    for _ in 0..fields_wanted {
        let (field, after) = rest.split_once('|').ok_or("too few header fields")?;
        fields.push(field);
        rest = after;
    }
    for field in &fields[..4] {
        if field.chars().any(char::is_control) {
            return Err(format!("control character in header field {field:?}"));
        }
    }
    let delimiter = match fields.get(4) {
        None => '\t',
        Some(field) => crate::leef::Delimiter::parse(field)?.character(),
    };
    let attributes = if rest.is_empty() {
        Vec::new()
    } else {
        rest.split(delimiter)
            .map(|pair| {
                let (key, value) = pair
                    .split_once('=')
                    .ok_or_else(|| format!("an attribute without `=`: {pair:?}"))?;
                if key.is_empty() || value.is_empty() {
                    return Err(format!("an empty key or value: {pair:?}"));
                }
                if value.contains(['\n', '\r']) || value.chars().any(char::is_control) {
                    return Err(format!("control character in {key}'s value"));
                }
                Ok((key.to_string(), value.to_string()))
            })
            .collect::<Result<_, String>>()?
    };
    let mut header = fields.into_iter().map(str::to_string);
    let mut next = || header.next().unwrap_or_default();
    Ok(LeefLine {
        version: version.to_string(),
        header: [next(), next(), next(), next()],
        delimiter,
        attributes,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cef_readers_refuse_what_the_standard_does_not_allow() {
        assert!(cef("CEF:0|a|b|c|d|e|5|k=v").is_ok());
        assert!(cef("CEF:0|a|b|c|d|e|5|").unwrap().extension.is_empty());
        assert!(cef("CEF:0|a|b|c|d|e|11|k=v").is_err());
        assert!(cef("CEF:0|a\\x|b|c|d|e|5|k=v").is_err());
        assert!(cef("CEF:0|a|b|c|d|e|5|k=v\\|").is_err());
        assert!(cef("CEF:0|a|b|c|d|e|5|k=v=w").is_err());
        assert!(cef("CEF:0|a|b|c|d|e|5|k=v\nx").is_err());
        assert!(cef("CEF:0|a|b|c|d|e|5|k=").is_err());
        assert_eq!(
            cef("CEF:1|a|b|c|d|e|5|k=a|b  j=\\\\").unwrap().extension,
            [("k".into(), "a|b ".into()), ("j".into(), "\\".into())]
        );
    }

    #[test]
    fn leef_readers_split_on_the_declared_delimiter() {
        let line = leef("LEEF:2.0|Microsoft|MDE|1.0|Id|^|sev=6^msg=a=b").unwrap();
        assert_eq!(line.delimiter, '^');
        assert_eq!(
            line.attributes,
            [("sev".into(), "6".into()), ("msg".into(), "a=b".into())]
        );
        assert!(leef("LEEF:1.0|a|b|c|d|k=v\tbad").is_err());
        assert!(leef("LEEF:1.0|a|b|c\u{1}|d|k=v").is_err());
    }
}
