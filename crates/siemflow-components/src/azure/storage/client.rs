//! The Blob service calls the `azure_blob` source makes, each one request (the source's poll
//! loop is the retry).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::SystemTime;

use bytes::Bytes;
use reqwest::Url;

use super::account::{StorageAccount, StorageAuth};
use super::listing::{Blob, EnumerationResults};
use super::shared_key;
use crate::azure::token::AuthError;
use crate::http_client::describe_error;

/// The REST API version sent; Azurite must run with `--skipApiVersionCheck` for newer ones.
pub const API_VERSION: &str = "2021-12-02";

/// The token resource of Azure Storage.
pub const STORAGE_RESOURCE: &str = "https://storage.azure.com";

/// Why a call failed.
#[derive(Debug, Clone, thiserror::Error)]
pub enum BlobError {
    /// The container or blob does not exist (any more).
    #[error("not found")]
    NotFound,
    /// The credentials were refused: wrong key, expired SAS, missing role, malformed
    /// authentication.
    #[error("HTTP {status} {code}: {message}")]
    Denied {
        /// 401 or 403 (400 for `InvalidAuthenticationInfo`).
        status: u16,
        /// `x-ms-error-code`.
        code: String,
        /// The message.
        message: String,
    },
    /// A condition failed (`If-Match`, `If-None-Match`: 412) or the blob or container already
    /// exists (409): somebody else wrote first.
    #[error("HTTP {status} {code}")]
    Conflict {
        /// 409 or 412.
        status: u16,
        /// `x-ms-error-code`.
        code: String,
    },
    /// Anything else: worth trying again next poll.
    #[error("{0}")]
    Failed(String),
    /// No token.
    #[error(transparent)]
    Auth(AuthError),
}

/// A range read.
#[derive(Debug)]
pub struct RangeRead {
    /// The bytes.
    pub bytes: Bytes,
    /// The blob's ETag when read.
    pub etag: String,
}

/// When a write may happen: optimistic concurrency on one blob.
#[derive(Debug, Clone, Copy)]
pub enum WriteCondition<'a> {
    /// Whatever is there.
    Always,
    /// Only over this version (bare ETag, as listings give it).
    IfMatch(&'a str),
    /// Only if the blob does not exist.
    IfAbsent,
}

/// A client for one account.
#[derive(Debug, Clone)]
pub struct BlobClient {
    http: reqwest::Client,
    account: Arc<StorageAccount>,
    requests: Arc<AtomicU64>,
}

impl BlobClient {
    /// A client of `account` over `http`.
    pub fn new(http: reqwest::Client, account: StorageAccount) -> Self {
        Self {
            http,
            account: Arc::new(account),
            requests: Arc::default(),
        }
    }

    /// The account's blob endpoint, for messages.
    pub fn endpoint(&self) -> &str {
        self.account.blob_endpoint.as_str().trim_end_matches('/')
    }

    /// Requests made so far.
    pub fn requests(&self) -> u64 {
        self.requests.load(Ordering::Relaxed)
    }

    /// Every container whose name starts with `prefix`.
    pub async fn list_containers(&self, prefix: &str) -> Result<Vec<String>, BlobError> {
        let mut names = Vec::new();
        let mut marker: Option<String> = None;
        loop {
            let mut url = self.url(&[])?;
            {
                let mut query = url.query_pairs_mut();
                query
                    .append_pair("comp", "list")
                    .append_pair("prefix", prefix);
                if let Some(marker) = &marker {
                    query.append_pair("marker", marker);
                }
            }
            let page = EnumerationResults::parse(&self.get(url, None).await?.0)
                .map_err(BlobError::Failed)?;
            names.extend(
                page.containers
                    .iter()
                    .flat_map(|c| c.items.iter().map(|c| c.name.clone())),
            );
            match page.marker() {
                Some(next) => marker = Some(next.to_string()),
                None => return Ok(names),
            }
        }
    }

    /// The blobs of `container` under `prefix`; with `delimiter`, also the next-level prefixes.
    pub async fn list_blobs(
        &self,
        container: &str,
        prefix: &str,
        delimiter: Option<&str>,
    ) -> Result<(Vec<Blob>, Vec<String>), BlobError> {
        self.list(container, prefix, delimiter, false).await
    }

    /// The blobs of `container` under `prefix`, with their metadata.
    pub async fn list_blobs_with_metadata(
        &self,
        container: &str,
        prefix: &str,
    ) -> Result<Vec<Blob>, BlobError> {
        Ok(self.list(container, prefix, None, true).await?.0)
    }

    async fn list(
        &self,
        container: &str,
        prefix: &str,
        delimiter: Option<&str>,
        metadata: bool,
    ) -> Result<(Vec<Blob>, Vec<String>), BlobError> {
        let mut blobs = Vec::new();
        let mut prefixes = Vec::new();
        let mut marker: Option<String> = None;
        loop {
            let mut url = self.url(&[container])?;
            {
                let mut query = url.query_pairs_mut();
                query
                    .append_pair("restype", "container")
                    .append_pair("comp", "list")
                    .append_pair("prefix", prefix);
                if let Some(delimiter) = delimiter {
                    query.append_pair("delimiter", delimiter);
                }
                if metadata {
                    query.append_pair("include", "metadata");
                }
                if let Some(marker) = &marker {
                    query.append_pair("marker", marker);
                }
            }
            let page = EnumerationResults::parse(&self.get(url, None).await?.0)
                .map_err(BlobError::Failed)?;
            if let Some(page_blobs) = page.blobs.as_ref() {
                blobs.extend(page_blobs.items.iter().cloned());
                prefixes.extend(page_blobs.prefixes.iter().map(|p| p.name.clone()));
            }
            match page.marker() {
                Some(next) => marker = Some(next.to_string()),
                None => return Ok((blobs, prefixes)),
            }
        }
    }

    /// The bytes of a blob from `start` to its end.
    pub async fn read_from(
        &self,
        container: &str,
        blob: &str,
        start: u64,
    ) -> Result<RangeRead, BlobError> {
        let mut segments = vec![container];
        segments.extend(blob.split('/'));
        let url = self.url(&segments)?;
        let (bytes, etag) = self.get(url, Some(format!("bytes={start}-"))).await?;
        Ok(RangeRead { bytes, etag })
    }

    /// Creates `container`; one that already exists is fine.
    pub async fn create_container(&self, container: &str) -> Result<(), BlobError> {
        let mut url = self.url(&[container])?;
        url.query_pairs_mut().append_pair("restype", "container");
        match self
            .request(reqwest::Method::PUT, url, Vec::new(), Bytes::new())
            .await
        {
            Ok(_) => Ok(()),
            Err(BlobError::Conflict { status: 409, .. }) => Ok(()),
            Err(error) => Err(error),
        }
    }

    /// Writes an empty block blob carrying `metadata`, only if `condition` holds; returns the
    /// new ETag. A failed condition is [`BlobError::Conflict`].
    pub async fn put_metadata_blob(
        &self,
        container: &str,
        blob: &str,
        metadata: &[(&str, &str)],
        condition: WriteCondition<'_>,
    ) -> Result<String, BlobError> {
        let mut segments = vec![container];
        segments.extend(blob.split('/'));
        let url = self.url(&segments)?;
        let mut headers = vec![("x-ms-blob-type", "BlockBlob".to_string())];
        let names: Vec<String> = metadata
            .iter()
            .map(|(name, _)| format!("x-ms-meta-{name}"))
            .collect();
        for (name, (_, value)) in names.iter().zip(metadata) {
            headers.push((name.as_str(), (*value).to_string()));
        }
        match condition {
            WriteCondition::Always => {}
            WriteCondition::IfMatch(etag) => headers.push(("If-Match", format!("\"{etag}\""))),
            WriteCondition::IfAbsent => headers.push(("If-None-Match", "*".to_string())),
        }
        let answer = self
            .request(reqwest::Method::PUT, url, headers, Bytes::new())
            .await?;
        Ok(answer.etag)
    }

    fn url(&self, segments: &[&str]) -> Result<Url, BlobError> {
        let mut url = self.account.blob_endpoint.clone();
        {
            let mut path = url
                .path_segments_mut()
                .map_err(|()| BlobError::Failed("the blob endpoint cannot have a path".into()))?;
            path.pop_if_empty();
            for segment in segments {
                path.push(segment);
            }
        }
        Ok(url)
    }

    async fn get(&self, url: Url, range: Option<String>) -> Result<(Bytes, String), BlobError> {
        let headers = range
            .map(|range| ("x-ms-range", range))
            .into_iter()
            .collect();
        let answer = self
            .request(reqwest::Method::GET, url, headers, Bytes::new())
            .await?;
        Ok((answer.body, answer.etag))
    }

    /// One request, signed or carrying the SAS or bearer token; `headers` are added to the
    /// version and date headers (and signed, for SharedKey).
    async fn request(
        &self,
        method: reqwest::Method,
        mut url: Url,
        extra: Vec<(&str, String)>,
        body: Bytes,
    ) -> Result<Answer, BlobError> {
        self.requests.fetch_add(1, Ordering::Relaxed);
        let mut headers: Vec<(&str, String)> = vec![
            ("x-ms-version", API_VERSION.to_string()),
            ("x-ms-date", httpdate::fmt_http_date(SystemTime::now())),
        ];
        headers.extend(extra);
        let mut authorization = None;
        let mut bearer = None;
        match &self.account.auth {
            StorageAuth::SharedKey { key } => {
                authorization = Some(shared_key::authorization(
                    &self.account.name,
                    key,
                    method.as_str(),
                    &url,
                    &headers,
                    body.len(),
                ));
            }
            StorageAuth::Sas(sas) => {
                let query = match url.query() {
                    Some(query) => format!("{query}&{}", sas.expose()),
                    None => sas.expose().to_string(),
                };
                url.set_query(Some(&query));
            }
            StorageAuth::Bearer(tokens) => {
                let token = tokens
                    .token(STORAGE_RESOURCE)
                    .await
                    .map_err(BlobError::Auth)?;
                authorization = Some(token.header());
                bearer = Some((tokens, token));
            }
        }
        // Put Blob needs a Content-Length even when empty, which an empty body does not get.
        let mut request = match method {
            reqwest::Method::GET => self.http.get(url),
            method => self
                .http
                .request(method, url)
                .header("content-length", body.len()),
        };
        for (name, value) in &headers {
            request = request.header(*name, value);
        }
        if let Some(authorization) = authorization {
            request = request.header("authorization", authorization);
        }
        let response = request
            .body(body)
            .send()
            .await
            .map_err(|error| BlobError::Failed(describe_error(error)))?;
        let status = response.status().as_u16();
        let header = |name: &str| {
            response
                .headers()
                .get(name)
                .and_then(|value| value.to_str().ok())
                .unwrap_or_default()
                .to_string()
        };
        // The header quotes the ETag; listings do not. Keep it bare, to compare the two.
        let etag = header("etag").trim_matches('"').to_string();
        let code = header("x-ms-error-code");
        let bytes = response
            .bytes()
            .await
            .map_err(|error| BlobError::Failed(describe_error(error)))?;
        match status {
            200..=299 => Ok(Answer { body: bytes, etag }),
            404 => Err(BlobError::NotFound),
            409 | 412 => Err(BlobError::Conflict { status, code }),
            // The authentication itself is malformed: as final as a refusal.
            400 if code == "InvalidAuthenticationInfo" => Err(BlobError::Denied {
                status,
                code,
                message: message_of(&bytes),
            }),
            401 | 403 => {
                if let (401, Some((tokens, token))) = (status, bearer) {
                    // Expired or revoked early: the next request fetches a new one.
                    tokens.invalidate(STORAGE_RESOURCE, &token);
                }
                Err(BlobError::Denied {
                    status,
                    code,
                    message: message_of(&bytes),
                })
            }
            _ => Err(BlobError::Failed(format!(
                "HTTP {status} {code}: {}",
                message_of(&bytes)
            ))),
        }
    }
}

/// What a successful request answered.
struct Answer {
    body: Bytes,
    etag: String,
}

/// `<Message>` of a storage error body, or its start.
fn message_of(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    match (text.find("<Message>"), text.find("</Message>")) {
        (Some(start), Some(end)) if start + 9 <= end => text[start + 9..end]
            .lines()
            .next()
            .unwrap_or_default()
            .to_string(),
        _ => text.chars().take(200).collect(),
    }
}

#[cfg(test)]
mod tests {
    use siemflow_test_support::azurite::Azurite;

    use super::*;

    fn http() -> reqwest::Client {
        let timeout = std::time::Duration::from_secs(30);
        crate::http_client::client_with(&crate::tls::TlsOptions::default(), timeout, timeout)
            .unwrap()
    }

    #[tokio::test]
    async fn lists_and_reads_what_the_python_sdk_wrote_to_azurite() {
        let azurite = Azurite::start();
        let connection = azurite.connection_string();
        let blob = "tenantId=4f6d/y=2026/m=12/d=03/h=09/m=00/PT1H.json";
        let sizes = azurite.python_sdk(&serde_json::json!([
                {"op": "container", "name": "insights-logs-advancedhunting-deviceevents"},
                {"op": "container", "name": "insights-logs-advancedhunting-devicefileevents"},
                {"op": "container", "name": "other"},
                {"op": "append", "container": "insights-logs-advancedhunting-deviceevents", "blob": blob, "data": "{\"a\":1}\r\n"},
                {"op": "append", "container": "insights-logs-advancedhunting-deviceevents", "blob": blob, "data": "{\"b\":\"é&=\"}\r\n"},
            ]),
        );
        assert_eq!(sizes, vec![0, 0, 0, 9, 23]);
        let account = StorageAccount::from_connection_string(&connection).unwrap();
        let client = BlobClient::new(http(), account);
        let mut containers = client
            .list_containers("insights-logs-advancedhunting-")
            .await
            .unwrap();
        containers.sort();
        assert_eq!(
            containers,
            vec![
                "insights-logs-advancedhunting-deviceevents",
                "insights-logs-advancedhunting-devicefileevents"
            ]
        );
        let container = "insights-logs-advancedhunting-deviceevents";
        let (blobs, prefixes) = client
            .list_blobs(container, "tenantId=", Some("/"))
            .await
            .unwrap();
        assert!(blobs.is_empty());
        assert_eq!(prefixes, vec!["tenantId=4f6d/"]);
        let (blobs, _) = client
            .list_blobs(container, "tenantId=4f6d/y=2026/m=12/d=03/", None)
            .await
            .unwrap();
        assert_eq!(blobs.len(), 1);
        assert_eq!(blobs[0].name, blob);
        assert_eq!(blobs[0].properties.content_length, 23);
        let read = client.read_from(container, blob, 9).await.unwrap();
        assert_eq!(&read.bytes[..], "{\"b\":\"é&=\"}\r\n".as_bytes());
        assert_eq!(read.etag, blobs[0].properties.etag);
        assert!(matches!(
            client.read_from(container, "tenantId=x/none", 0).await,
            Err(BlobError::NotFound)
        ));
        let wrong =
            StorageAccount::shared_key("devstoreaccount1", "d3Jvbmc=", &azurite.blob_endpoint())
                .unwrap();
        let denied = BlobClient::new(http(), wrong).list_containers("").await;
        assert!(
            matches!(denied, Err(BlobError::Denied { status: 403, .. })),
            "{denied:?}"
        );
    }
}
