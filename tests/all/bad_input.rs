//! Malformed JSON, invalid UTF-8, a 5 MiB line and a scalar: dead-lettered with reasons, the rest
//! delivered, exit 0.

use crate::support::{describe, lines, numbered_lines, numbers, output, siemflow, write};

#[test]
fn bad_lines_go_to_the_dead_letter_file_and_good_lines_are_delivered() {
    let dir = tempfile::tempdir().unwrap();
    let mut input = numbered_lines(0..100, 80);
    input.extend_from_slice(b"{\"n\": 1000, \"broken\": \n");
    input.extend_from_slice(b"{\"n\":\"caf\xe9\"}\n");
    let mut huge = b"{\"n\":1001,\"blob\":\"".to_vec();
    huge.extend(std::iter::repeat_n(b'A', 5 * 1024 * 1024));
    huge.extend_from_slice(b"\"}\n");
    let huge_size = huge.len() - 1;
    input.extend_from_slice(&huge);
    input.extend_from_slice(b"42\n");
    input.extend_from_slice(b"{\"records\":[{\"n\":100},{\"n\":101}]}\r\n");
    input.extend_from_slice(&numbered_lines(102..200, 80));
    write(&dir.path().join("in.json"), &input);
    write(
        &dir.path().join("p.yaml"),
        "id: dirty\nsources:\n  in: { type: file, path: in.json }\nsinks:\n  out: { type: file, inputs: [in], path: out.log }\n",
    );
    let result = output(siemflow(dir.path()).args(["run", "p.yaml", "--data-dir", "data"]));
    assert_eq!(result.status.code(), Some(0), "{}", describe(&result));
    let delivered = numbers(&dir.path().join("out.log"));
    assert_eq!(delivered, (0..200).collect::<Vec<u64>>());

    let letters: Vec<serde_json::Value> = lines(&dir.path().join("data/dead-letter/dirty.jsonl"))
        .iter()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    assert_eq!(letters.len(), 4, "{letters:#?}");
    let reasons: Vec<&str> = letters
        .iter()
        .map(|l| l["reason"].as_str().unwrap())
        .collect();
    assert!(
        reasons[0].starts_with("malformed JSON: EOF while parsing"),
        "{reasons:?}"
    );
    assert!(
        reasons[1].starts_with("invalid UTF-8 at byte 9"),
        "{reasons:?}"
    );
    assert!(
        reasons[2].starts_with(&format!(
            "oversize: event of {huge_size} bytes exceeds max_event_bytes"
        )),
        "{reasons:?}"
    );
    assert_eq!(reasons[3], "not a JSON object: top-level value is a number");
    assert_eq!(letters[0]["body"], "{\"n\": 1000, \"broken\": ");
    assert_eq!(letters[1]["body_base64"], "eyJuIjoiY2Fm6SJ9");
    assert_eq!(letters[2]["size"], huge_size);
    assert_eq!(letters[2]["truncated"], true);
    for letter in &letters {
        assert_eq!(letter["pipeline"], "dirty");
        assert_eq!(letter["component"], "in");
        assert!(letter["position"].as_str().unwrap().contains("in.json:"));
    }
}
