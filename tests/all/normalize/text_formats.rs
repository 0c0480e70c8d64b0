//! CEF and LEEF golden lines through independent parsers: every CEF line passes lognormalizer's
//! strict parser and cefp reads the same fields; every LEEF line parses with the syslog-ng LEEF
//! recipe. The fields each parser read must equal the source record's values, with nothing lost:
//! a column is in a mapped field, the header, or the catch-all.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use serde_json::Value;
use siemflow_defender_mapping::subject::{OMITTED_KEY, Subject};
use siemflow_plugin_sdk::cef::max_chars;

use super::golden::cases;
use super::source::{self, Expected, check_nothing_lost, events, text_fields};
use crate::support::repo_root;
use crate::syslog_ng;

/// The Python of one of the virtual environments `scripts/test-peers` installs.
pub fn python(environment: &str) -> PathBuf {
    let python = repo_root()
        .join("target/test-peers")
        .join(environment)
        .join("bin/python");
    assert!(
        python.exists(),
        "{} is missing: run scripts/test-peers",
        python.display()
    );
    python
}

/// Runs a program with `input` on stdin; its stdout.
pub fn filter(command: &mut Command, input: &[u8]) -> String {
    let mut child = command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|error| panic!("{command:?}: {error} (scripts/test-peers installs it)"));
    let mut stdin = child.stdin.take().expect("piped");
    let input = input.to_vec();
    let writer = std::thread::spawn(move || stdin.write_all(&input));
    let output = child.wait_with_output().expect("the program runs");
    writer.join().expect("writer").expect("stdin written");
    assert!(
        output.status.success(),
        "{command:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).expect("UTF-8 output")
}

/// One JSON value per output line.
fn json_lines(text: &str) -> Vec<Value> {
    text.lines()
        .map(|line| serde_json::from_str(line).unwrap_or_else(|error| panic!("{error}: {line}")))
        .collect()
}

/// A JSON object of strings as a map.
fn strings(value: &Value) -> BTreeMap<String, String> {
    value
        .as_object()
        .map(|object| {
            object
                .iter()
                .map(|(key, value)| (key.clone(), value.as_str().unwrap_or_default().to_string()))
                .collect()
        })
        .unwrap_or_default()
}

/// The CEF lines parsed by lognormalizer (liblognorm 2.0.6), strict. Two adjustments for its
/// limits: it knows only `CEF:0`, so `CEF:1` lines are checked as `CEF:0` (the syntax is the
/// same); and it drops the first character of the first extension key unless a space follows
/// the seventh pipe (liblognorm #363), so one is inserted.
fn lognormalizer(lines: &[String], dir: &Path) -> Vec<Value> {
    let rulebase = dir.join("cef.rb");
    std::fs::write(
        &rulebase,
        "version=2\nrule=:%{\"name\":\"cef\", \"type\":\"cef\"}%\n",
    )
    .unwrap();
    let mut input = String::new();
    for line in lines {
        let line = line
            .strip_prefix("CEF:1|")
            .map_or(Cow::Borrowed(line.as_str()), |rest| {
                Cow::Owned(format!("CEF:0|{rest}"))
            });
        let header_end = seventh_pipe(&line).expect("a CEF line has seven header pipes");
        input.push_str(&line[..header_end]);
        input.push(' ');
        input.push_str(&line[header_end..]);
        input.push('\n');
    }
    json_lines(&filter(
        Command::new("lognormalizer")
            .arg("-r")
            .arg(&rulebase)
            .args(["-e", "json"]),
        input.as_bytes(),
    ))
}

/// The byte after the seventh unescaped `|`.
fn seventh_pipe(line: &str) -> Option<usize> {
    let mut pipes = 0;
    let mut escaped = false;
    for (index, byte) in line.bytes().enumerate() {
        match (escaped, byte) {
            (true, _) => escaped = false,
            (false, b'\\') => escaped = true,
            (false, b'|') => {
                pipes += 1;
                if pipes == 7 {
                    return Some(index + 1);
                }
            }
            _ => {}
        }
    }
    None
}

/// The CEF lines parsed by cefp (`tests/oracles/cefp_parse.py`).
fn cefp(lines: &[String]) -> Vec<Value> {
    let input = lines.join("\n") + "\n";
    json_lines(&filter(
        Command::new(python("cef")).arg(repo_root().join("tests/oracles/cefp_parse.py")),
        input.as_bytes(),
    ))
}

/// Checks one parse's mapped fields against the source; `value_ok` says whether a parsed value
/// stands for the expected text (exactly, or cut as marked). Returns the keys it accounted for.
fn check_fields(
    fields: &[Expected],
    parsed: &BTreeMap<String, String>,
    value_ok: impl Fn(&Expected, &str) -> bool,
    problems: &mut Vec<String>,
) -> Vec<String> {
    let mut keys = Vec::new();
    for expected in fields {
        match parsed.get(expected.key) {
            Some(value) if value_ok(expected, value) => {}
            Some(value) => problems.push(format!(
                "`{}` is {value:?}, the source has {:?}",
                expected.key, expected.text
            )),
            None => problems.push(format!("`{}` is missing", expected.key)),
        }
        keys.push(expected.key.to_string());
        if let Some(label) = expected.label {
            let label_key = format!("{}Label", expected.key);
            if parsed.get(&label_key).map(String::as_str) != Some(label) {
                problems.push(format!("`{label_key}` is not {label:?}"));
            }
            keys.push(label_key);
        }
    }
    keys
}

#[test]
fn cef_lines_pass_lognormalizer_and_round_trip_through_cefp() {
    let dir = tempfile::tempdir().unwrap();
    let mut checked = 0;
    for case in cases("defender-cef") {
        let lines = case.expected();
        let events = events(&case);
        assert_eq!(lines.len(), events.len(), "{case:?}: one line per record");
        let strict = lognormalizer(&lines, dir.path());
        let lenient = cefp(&lines);
        assert_eq!(strict.len(), lines.len(), "{case:?}: lognormalizer output");
        assert_eq!(lenient.len(), lines.len(), "{case:?}: cefp output");
        let config: Value = serde_json::from_str(case.config).unwrap();
        let version = if config["cef_version"] == 1 { "1" } else { "0" };
        let mut problems = Vec::new();
        for (index, event) in events.iter().enumerate() {
            let mut line_problems = Vec::new();
            let strict = &strict[index];
            let lenient = &lenient[index];
            if strict.get("unparsed-data").is_some() {
                line_problems.push(format!("lognormalizer rejects it: {strict}"));
            }
            if let Some(error) = lenient.get("error") {
                line_problems.push(format!("cefp rejects it: {error}"));
            }
            if line_problems.is_empty() {
                check_cef(&config, version, event, strict, lenient, &mut line_problems);
            }
            problems.extend(source::line_report(index, &lines[index], &line_problems));
            checked += 1;
        }
        assert!(problems.is_empty(), "{case:?}:\n{}", problems.join("\n"));
    }
    assert!(checked > 50, "every sample record is checked ({checked})");
}

fn check_cef(
    config: &Value,
    version: &str,
    event: &siemflow_plugin_sdk::Event,
    strict: &Value,
    lenient: &Value,
    problems: &mut Vec<String>,
) {
    let strict = &strict["cef"];
    let header = [
        ("DeviceVendor", "vendor"),
        ("DeviceProduct", "product"),
        ("DeviceVersion", "device_version"),
        ("SignatureID", "class_id"),
        ("Name", "name"),
        ("Severity", "severity"),
    ];
    for (strict_key, lenient_key) in header {
        if strict[strict_key] != lenient[lenient_key] {
            problems.push(format!(
                "the parsers disagree on {lenient_key}: {} and {}",
                strict[strict_key], lenient[lenient_key]
            ));
        }
    }
    let ext = strings(&lenient["extension"]);
    if strings(&strict["Extensions"]) != ext {
        problems.push(format!(
            "the parsers disagree on the extension: {} and {}",
            strict["Extensions"], lenient["extension"]
        ));
    }
    if lenient["version"] != version {
        problems.push(format!("version is {}", lenient["version"]));
    }

    let subject = Subject::resolve(event.record().expect("a JSON record"));
    let (vendor, product, name) = source::header(&subject, config);
    let severity = source::severity(&subject, ["0", "1", "3", "5", "8"], config);
    // CEF header fields: control characters become a space, lengths are the standard's.
    for (key, expected, limit) in [
        ("vendor", vendor.as_str(), 63),
        ("product", product.as_str(), 63),
        ("device_version", "1.0", 31),
        ("class_id", subject.event_id.as_str(), 1023),
        ("name", name.as_str(), 512),
        ("severity", severity.as_str(), 2),
    ] {
        let expected: String = expected
            .chars()
            .map(|c| if c.is_control() { ' ' } else { c })
            .take(limit)
            .collect();
        if lenient[key] != expected.as_str() {
            problems.push(format!("{key} is {}, expected {expected:?}", lenient[key]));
        }
    }

    let mut keys = vec!["rt".to_string(), "cat".to_string()];
    let time = subject.time.map(|time| time.unix_millis().to_string());
    if ext.get("rt") != time.as_ref() {
        problems.push(format!(
            "rt is {:?}, the source has {time:?}",
            ext.get("rt")
        ));
    }
    let category = format!(
        "{}/{}",
        subject.action.category.high, subject.action.category.low
    );
    if ext.get("cat") != Some(&category) {
        problems.push(format!(
            "cat is {:?}, expected {category:?}",
            ext.get("cat")
        ));
    }
    // `start` and `end` bound the activity: never the other way round.
    let millis = |key: &str| ext.get(key).and_then(|value| value.parse::<i64>().ok());
    if let (Some(start), Some(end)) = (millis("start"), millis("end"))
        && start > end
    {
        problems.push(format!("start {start} is after end {end}"));
    }
    let truncated: Vec<&str> = ext
        .get("flexString2")
        .map(|keys| keys.split(' ').collect())
        .unwrap_or_default();
    let (fields, taken) = text_fields(
        &subject,
        |field| field.cef,
        |time| time.unix_millis().to_string(),
    );
    keys.extend(check_fields(
        &fields,
        &ext,
        |expected, value| {
            value == expected.text
                || (truncated.contains(&expected.key)
                    && value.chars().count() == max_chars(expected.key)
                    && expected.text.starts_with(value))
        },
        problems,
    ));

    match ext.get("cs6") {
        Some(cs6) if truncated.contains(&"cs6") => {
            // Whole columns within ArcSight's size; those left out named, none lost unnamed.
            if cs6.chars().count() > max_chars("cs6") {
                problems.push(format!("cs6 is longer than {}", max_chars("cs6")));
            }
            match source::catch_all(cs6) {
                Ok(mut map) => {
                    let omitted: Vec<String> = map
                        .remove(OMITTED_KEY)
                        .and_then(|names| serde_json::from_str(&names).ok())
                        .unwrap_or_default();
                    if omitted.is_empty() {
                        problems.push(format!("cs6 is cut but names nothing left out: {cs6}"));
                    }
                    let columns = source::columns_with_values(&subject);
                    for name in &omitted {
                        if !columns.iter().any(|(column, _)| column == name) {
                            problems.push(format!("cs6 names `{name}`, not a column"));
                        }
                    }
                    let mut accounted = taken.clone();
                    accounted.extend(omitted.iter().map(String::as_str));
                    problems.extend(check_nothing_lost(
                        &subject,
                        &accounted,
                        &map,
                        str::to_string,
                    ));
                }
                Err(error) => problems.push(error),
            }
        }
        Some(cs6) => match source::catch_all(cs6) {
            Ok(map) => problems.extend(check_nothing_lost(&subject, &taken, &map, str::to_string)),
            Err(error) => problems.push(error),
        },
        None => problems.extend(check_nothing_lost(
            &subject,
            &taken,
            &BTreeMap::new(),
            str::to_string,
        )),
    }
    if ext.contains_key("cs6") && ext.get("cs6Label").map(String::as_str) != Some("Unmapped") {
        problems.push("cs6Label is not Unmapped".into());
    }
    keys.extend(["cs6", "cs6Label", "flexString2", "flexString2Label"].map(String::from));
    for (key, value) in strings(&config["fields"]) {
        if ext.get(&key) != Some(&value) {
            problems.push(format!("static field `{key}` is {:?}", ext.get(&key)));
        }
        keys.push(key);
    }
    for key in ext.keys() {
        if !keys.contains(key) {
            problems.push(format!("`{key}` is not a field the mapping writes"));
        }
    }
}

/// The LEEF lines' headers parsed by the syslog-ng recipe's `regexp-parser` (version, vendor,
/// product, version, event id, the 2.0 delimiter field, and the attributes as one string). Lines
/// it cannot parse come back as `{"failed": line}`.
///
/// The recipe's `kv-parser` is not used for the attributes: it reads a value that starts with
/// `"` as a quoted string and starts a new pair at `word=` after a quote, where LEEF (and
/// QRadar) know no quoting; a Defender command line (`"C:\x.exe" --k=v`) is split wrongly. The
/// attributes go through [`leef_attributes`] instead, which follows the LEEF grammar strictly
/// and is itself checked on the format reference's LEEF vectors.
fn syslog_ng_leef(lines: &[String], dir: &Path) -> Vec<Value> {
    let config = dir.join("leef.conf");
    std::fs::write(
        &config,
        r#"@version: 3.38
options { stats_freq(0); log-msg-size(1048576); };
source s_in { stdin(flags(no-parse) log-msg-size(1048576)); };
parser p_leef {
  regexp-parser(template("$MSG") prefix("leef.")
    patterns('^LEEF:(?<version>1\.0)\|(?<vendor>[^|]*)\|(?<product>[^|]*)\|(?<product_version>[^|]*)\|(?<event_id>[^|]*)\|(?<attrs>.*)$',
             '^LEEF:(?<version>2\.0)\|(?<vendor>[^|]*)\|(?<product>[^|]*)\|(?<product_version>[^|]*)\|(?<event_id>[^|]*)\|(?<delim>[^|]{1,6})\|(?<attrs>.*)$'));
};
destination d_ok { file("/dev/stdout" persist-name("leef-ok") template("$(format-json --scope none --key leef.*)\n")); };
destination d_bad { file("/dev/stdout" persist-name("leef-bad") template("$(format-json failed=$MSG)\n")); };
log { source(s_in); parser(p_leef); destination(d_ok); flags(final); };
log { source(s_in); destination(d_bad); flags(fallback); };
"#,
    )
    .unwrap();
    let input = lines.join("\n") + "\n";
    json_lines(&filter(
        Command::new(syslog_ng::program("syslog-ng"))
            .arg("-F")
            .arg("-f")
            .arg(&config)
            .arg("--no-caps")
            .arg("-R")
            .arg(dir.join("leef.persist"))
            .arg("-p")
            .arg(dir.join("leef.pid"))
            .arg("-c")
            .arg(dir.join("leef.ctl")),
        input.as_bytes(),
    ))
}

/// What LEEF does to text: the delimiter, CR, LF, TAB and other control characters become a
/// space (LEEF has no escaping).
fn leef_clean(text: &str, delimiter: char) -> Cow<'_, str> {
    if !text.chars().any(|c| c == delimiter || c.is_control()) {
        return Cow::Borrowed(text);
    }
    Cow::Owned(
        text.chars()
            .map(|c| {
                if c == delimiter || c.is_control() {
                    ' '
                } else {
                    c
                }
            })
            .collect(),
    )
}

#[test]
fn leef_lines_parse_with_the_syslog_ng_recipe_with_the_source_values() {
    let dir = tempfile::tempdir().unwrap();
    let mut checked = 0;
    for case in cases("defender-leef") {
        let lines = case.expected();
        let events = events(&case);
        assert_eq!(lines.len(), events.len(), "{case:?}: one line per record");
        let config: Value = serde_json::from_str(case.config).unwrap();
        let (version, delimiter) = if config["leef_version"] == "1.0" {
            ("1.0", '\t')
        } else {
            ("2.0", '^')
        };
        let parsed = syslog_ng_leef(&lines, dir.path());
        assert_eq!(parsed.len(), lines.len(), "{case:?}: syslog-ng output");
        let mut problems = Vec::new();
        for (index, event) in events.iter().enumerate() {
            let mut line_problems = Vec::new();
            check_leef(
                &config,
                version,
                delimiter,
                event,
                &parsed[index],
                &mut line_problems,
            );
            problems.extend(source::line_report(index, &lines[index], &line_problems));
            checked += 1;
        }
        assert!(problems.is_empty(), "{case:?}:\n{}", problems.join("\n"));
    }
    assert!(checked > 50, "every sample record is checked ({checked})");
}

fn check_leef(
    config: &Value,
    version: &str,
    delimiter: char,
    event: &siemflow_plugin_sdk::Event,
    parsed: &Value,
    problems: &mut Vec<String>,
) {
    if parsed.get("failed").is_some() {
        problems.push("syslog-ng cannot parse it".into());
        return;
    }
    let header = strings(&parsed["leef"]);
    let attrs = match leef_attributes(&header["attrs"], delimiter) {
        Ok(attrs) => attrs,
        Err(error) => {
            problems.push(error);
            return;
        }
    };
    let subject = Subject::resolve(event.record().expect("a JSON record"));
    let (vendor, product, name) = source::header(&subject, config);
    let clean = |text: &str| leef_clean(text, delimiter).into_owned();
    let mut expected_header = vec![
        ("version", version.to_string()),
        ("vendor", clean(&vendor).replace('|', " ")),
        ("product", clean(&product).replace('|', " ")),
        ("product_version", "1.0".to_string()),
        ("event_id", clean(&subject.event_id).replace('|', " ")),
    ];
    if version == "2.0" {
        expected_header.push(("delim", delimiter.to_string()));
    }
    for (key, expected) in expected_header {
        if header.get(key) != Some(&expected) {
            problems.push(format!(
                "{key} is {:?}, expected {expected:?}",
                header.get(key)
            ));
        }
    }
    let severity = source::severity(&subject, ["1", "1", "3", "5", "8"], config);
    let category = format!(
        "{}/{}",
        subject.action.category.high, subject.action.category.low
    );
    let time = subject.time.map(|time| time.unix_millis().to_string());
    for (key, expected) in [
        ("devTime", time),
        ("cat", Some(category)),
        ("sev", Some(severity)),
        ("name", Some(clean(&name))),
    ] {
        if attrs.get(key) != expected.as_ref() {
            problems.push(format!(
                "{key} is {:?}, expected {expected:?}",
                attrs.get(key)
            ));
        }
    }
    let mut keys: Vec<String> = ["devTime", "cat", "sev", "name", "unmapped", "truncated"]
        .map(String::from)
        .to_vec();
    let (fields, taken) = text_fields(
        &subject,
        |field| field.leef,
        |time| time.rfc3339_millis().to_string(),
    );
    // CEF's custom-field labels are not LEEF's: LEEF keys are named for what they hold.
    let fields: Vec<Expected> = fields
        .into_iter()
        .map(|expected| Expected {
            label: None,
            ..expected
        })
        .collect();
    keys.extend(check_fields(
        &fields,
        &attrs,
        |expected, value| value == leef_clean(&expected.text, delimiter),
        problems,
    ));
    let catch_all = match attrs.get("unmapped") {
        Some(json) => match source::catch_all(json) {
            Ok(map) => map,
            Err(error) => {
                problems.push(error);
                return;
            }
        },
        None => BTreeMap::new(),
    };
    problems.extend(check_nothing_lost(&subject, &taken, &catch_all, |text| {
        leef_clean(text, delimiter).into_owned()
    }));
    for (key, value) in strings(&config["fields"]) {
        if attrs.get(&key) != Some(&value) {
            problems.push(format!("static field `{key}` is {:?}", attrs.get(&key)));
        }
        keys.push(key);
    }
    for key in attrs.keys() {
        if !keys.contains(key) {
            problems.push(format!("`{key}` is not a field the mapping writes"));
        }
    }
}

/// LEEF attributes, strictly: pairs split at the delimiter, each `key=value` with the key ending
/// at the first `=`; a pair without `=`, an empty or malformed key (spaces, `|`, control
/// characters), an empty value or a repeated key is an error.
fn leef_attributes(attrs: &str, delimiter: char) -> Result<BTreeMap<String, String>, String> {
    let mut map = BTreeMap::new();
    for pair in attrs.split(delimiter) {
        let (key, value) = pair
            .split_once('=')
            .ok_or_else(|| format!("LEEF pair without `=`: {pair:?}"))?;
        if key.is_empty()
            || key
                .chars()
                .any(|c| c.is_whitespace() || c.is_control() || c == '|')
        {
            return Err(format!("malformed LEEF key {key:?}"));
        }
        if value.is_empty() {
            return Err(format!("LEEF key `{key}` has an empty value"));
        }
        if map.insert(key.to_string(), value.to_string()).is_some() {
            return Err(format!("LEEF key `{key}` is repeated"));
        }
    }
    Ok(map)
}

/// A LEEF vector: the line, its delimiter, and the attributes it holds.
type Vector = (String, char, Vec<(&'static str, &'static str)>);

/// The LEEF vectors of the format reference (L1 to L10), through the syslog-ng header recipe
/// and [`leef_attributes`]: every header and attribute read as the vector says.
#[test]
fn the_leef_parser_of_these_tests_reads_the_format_vectors() {
    const MDE: &str = "Microsoft|Microsoft Defender for Endpoint|1.0|ThreatManagement";
    let standard = "devTime=1697795587503{d}sev=6{d}cat=Execution{d}usrName=CDPUserIS-38411{d}src=192.168.5.65";
    let vectors: Vec<Vector> = vec![
        (
            format!("LEEF:1.0|{MDE}|{}", standard.replace("{d}", "\t")),
            '\t',
            vec![
                ("devTime", "1697795587503"),
                ("sev", "6"),
                ("cat", "Execution"),
                ("usrName", "CDPUserIS-38411"),
                ("src", "192.168.5.65"),
            ],
        ),
        (
            format!("LEEF:2.0|{MDE}|^|{}", standard.replace("{d}", "^")),
            '^',
            vec![
                ("devTime", "1697795587503"),
                ("sev", "6"),
                ("cat", "Execution"),
                ("usrName", "CDPUserIS-38411"),
                ("src", "192.168.5.65"),
            ],
        ),
        (
            format!("LEEF:2.0|{MDE}|x09|{}", standard.replace("{d}", "\t")),
            '\t',
            vec![
                ("devTime", "1697795587503"),
                ("sev", "6"),
                ("cat", "Execution"),
                ("usrName", "CDPUserIS-38411"),
                ("src", "192.168.5.65"),
            ],
        ),
        (
            format!("LEEF:2.0|{MDE}|0x5E|devTime=1697795587503^sev=6"),
            '^',
            vec![("devTime", "1697795587503"), ("sev", "6")],
        ),
        (
            format!("LEEF:2.0|{MDE}|^|sev=6^msg=a b"),
            '^',
            vec![("sev", "6"), ("msg", "a b")],
        ),
        (
            "LEEF:2.0|Micro soft|MDE|1.0|Alert 1|^|sev=6".to_string(),
            '^',
            vec![("sev", "6")],
        ),
        (
            format!(
                "LEEF:2.0|{MDE}|^|devTime=Oct 20 2023 09:53:07.503 UTC^devTimeFormat=MMM dd yyyy HH:mm:ss.SSS z^sev=6"
            ),
            '^',
            vec![
                ("devTime", "Oct 20 2023 09:53:07.503 UTC"),
                ("devTimeFormat", "MMM dd yyyy HH:mm:ss.SSS z"),
                ("sev", "6"),
            ],
        ),
        (
            format!("LEEF:1.0|{MDE}|sev=6\tmsg=line1 line2 col"),
            '\t',
            vec![("sev", "6"), ("msg", "line1 line2 col")],
        ),
        (
            format!("LEEF:2.0|{MDE}|^|usrName=CONTOSO\\alice^msg=x=1"),
            '^',
            vec![("usrName", "CONTOSO\\alice"), ("msg", "x=1")],
        ),
        (
            format!("LEEF:2.0|{MDE}|^|usrName=Jürgen Müller^msg=日本語"),
            '^',
            vec![("usrName", "Jürgen Müller"), ("msg", "日本語")],
        ),
    ];
    let dir = tempfile::tempdir().unwrap();
    let lines: Vec<String> = vectors.iter().map(|(line, _, _)| line.clone()).collect();
    let parsed = syslog_ng_leef(&lines, dir.path());
    assert_eq!(parsed.len(), vectors.len());
    for ((line, delimiter, pairs), parsed) in vectors.iter().zip(&parsed) {
        assert!(parsed.get("failed").is_none(), "syslog-ng: {line}");
        let header = strings(&parsed["leef"]);
        let expected: BTreeMap<String, String> = pairs
            .iter()
            .map(|(key, value)| (key.to_string(), value.to_string()))
            .collect();
        assert_eq!(
            leef_attributes(&header["attrs"], *delimiter).as_ref(),
            Ok(&expected),
            "{line}"
        );
    }
    assert_eq!(strings(&parsed[5]["leef"])["vendor"], "Micro soft");
    assert_eq!(strings(&parsed[2]["leef"])["delim"], "x09");
    // What a strict reader must refuse.
    for (attrs, delimiter) in [
        ("sev", '^'),
        ("=6", '^'),
        ("a b=1", '^'),
        ("sev=6^sev=7", '^'),
        ("sev=", '^'),
    ] {
        assert!(
            leef_attributes(attrs, delimiter).is_err(),
            "{attrs:?} is refused"
        );
    }
}
