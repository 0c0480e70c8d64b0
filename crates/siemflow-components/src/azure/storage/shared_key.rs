//! SharedKey authorization, as "Authorize with Shared Key" in the Azure Storage REST docs
//! describes it for the Blob service (version 2009-09-19 and later).
//!
//! The string to sign is the verb, eleven standard header values (the date and range go in
//! `x-ms-*` headers, so in practice `Content-Length` and the conditions `If-Match` and
//! `If-None-Match`), the canonicalized `x-ms-*`
//! headers (lower-case names, sorted, `name:value\n`), and the canonicalized resource:
//! `/<account><path>` and each query parameter, lower-case name sorted, `\nname:value`. For a
//! path-style emulator URL the path already starts with the account, so it appears twice, as
//! the SDKs sign it.

use base64::Engine;
use reqwest::Url;

/// The `Authorization` header value for a request.
///
/// `headers` are the request's `x-ms-*` headers and standard headers it signs (such as
/// `If-Match`); `content_length` its body length.
pub fn authorization(
    account: &str,
    key: &[u8],
    method: &str,
    url: &Url,
    headers: &[(&str, String)],
    content_length: usize,
) -> String {
    let to_sign = string_to_sign(account, method, url, headers, content_length);
    let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, key);
    let signature = ring::hmac::sign(&key, to_sign.as_bytes());
    format!(
        "SharedKey {account}:{}",
        base64::engine::general_purpose::STANDARD.encode(signature.as_ref())
    )
}

fn string_to_sign(
    account: &str,
    method: &str,
    url: &Url,
    headers: &[(&str, String)],
    content_length: usize,
) -> String {
    let length = if content_length == 0 {
        String::new()
    } else {
        content_length.to_string()
    };
    let standard = |name: &str| {
        headers
            .iter()
            .find(|(header, _)| header.eq_ignore_ascii_case(name))
            .map_or("", |(_, value)| value.as_str())
    };
    let mut text = format!("{method}\n\n\n{length}\n\n");
    for name in [
        "content-type",
        "date",
        "if-modified-since",
        "if-match",
        "if-none-match",
        "if-unmodified-since",
        "range",
    ] {
        text.push_str(standard(name));
        text.push('\n');
    }
    let mut canonical: Vec<(String, String)> = headers
        .iter()
        .filter(|(name, _)| name.to_ascii_lowercase().starts_with("x-ms-"))
        .map(|(name, value)| (name.to_ascii_lowercase(), value.trim().to_string()))
        .collect();
    canonical.sort();
    for (name, value) in canonical {
        text.push_str(&name);
        text.push(':');
        text.push_str(&value);
        text.push('\n');
    }
    text.push('/');
    text.push_str(account);
    text.push_str(url.path());
    let mut parameters: Vec<(String, String)> = url
        .query_pairs()
        .map(|(name, value)| (name.to_ascii_lowercase(), value.into_owned()))
        .collect();
    parameters.sort();
    let mut merged: Vec<(String, Vec<String>)> = Vec::new();
    for (name, value) in parameters {
        match merged.last_mut() {
            Some((last, values)) if *last == name => values.push(value),
            _ => merged.push((name, vec![value])),
        }
    }
    for (name, values) in merged {
        text.push('\n');
        text.push_str(&name);
        text.push(':');
        text.push_str(&values.join(","));
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_string_to_sign_follows_the_documented_layout() {
        let url = Url::parse(
            "http://127.0.0.1:10000/devstoreaccount1/insights?restype=container&comp=list&prefix=tenantId%3D",
        )
        .unwrap();
        let headers = [
            ("x-ms-version", "2021-12-02".to_string()),
            ("x-ms-date", "Thu, 03 Dec 2026 12:00:00 GMT".to_string()),
        ];
        assert_eq!(
            string_to_sign("devstoreaccount1", "GET", &url, &headers, 0),
            "GET\n\n\n\n\n\n\n\n\n\n\n\n\
             x-ms-date:Thu, 03 Dec 2026 12:00:00 GMT\nx-ms-version:2021-12-02\n\
             /devstoreaccount1/devstoreaccount1/insights\ncomp:list\nprefix:tenantId=\nrestype:container"
        );
        let blob = Url::parse("http://127.0.0.1:10000/devstoreaccount1/c/ns/ownership/0").unwrap();
        let headers = [
            ("x-ms-version", "2021-12-02".to_string()),
            ("If-Match", "\"0x8DD1\"".to_string()),
            ("x-ms-meta-ownerid", "a1".to_string()),
        ];
        assert_eq!(
            string_to_sign("devstoreaccount1", "PUT", &blob, &headers, 0),
            "PUT\n\n\n\n\n\n\n\n\"0x8DD1\"\n\n\n\n\
             x-ms-meta-ownerid:a1\nx-ms-version:2021-12-02\n\
             /devstoreaccount1/devstoreaccount1/c/ns/ownership/0"
        );
    }
}
