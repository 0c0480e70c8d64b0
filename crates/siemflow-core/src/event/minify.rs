//! JSON minification without parsing.

/// Removes whitespace outside JSON strings.
///
/// Used to put pretty-printed JSON on one line. It copies every byte of strings and numbers as is,
/// so it cannot change a value; on malformed input it still only removes whitespace.
pub fn minify_json(input: &[u8]) -> Vec<u8> {
    let mut output = Vec::with_capacity(input.len());
    let mut in_string = false;
    let mut escaped = false;
    for &byte in input {
        if in_string {
            output.push(byte);
            if escaped {
                escaped = false;
            } else if byte == b'\\' {
                escaped = true;
            } else if byte == b'"' {
                in_string = false;
            }
        } else {
            match byte {
                b' ' | b'\t' | b'\n' | b'\r' => {}
                b'"' => {
                    in_string = true;
                    output.push(byte);
                }
                _ => output.push(byte),
            }
        }
    }
    output
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_strings_and_escapes() {
        let input = br#"{ "a b" : "c \" d\\" , "n" : [ 1 , 9007199254740993 ] }"#;
        assert_eq!(
            minify_json(input),
            br#"{"a b":"c \" d\\","n":[1,9007199254740993]}"#.to_vec()
        );
    }
}
