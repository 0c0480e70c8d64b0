//! The XML of the two list operations (`EnumerationResults`), read with quick-xml's serde.

use serde::Deserialize;

/// One page of List Containers or List Blobs.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct EnumerationResults {
    /// Containers (List Containers).
    #[serde(default)]
    pub containers: Option<Containers>,
    /// Blobs and prefixes (List Blobs).
    #[serde(default)]
    pub blobs: Option<Blobs>,
    /// Where the next page starts; empty or absent on the last one.
    #[serde(default)]
    pub next_marker: Option<String>,
}

/// `<Containers>`.
#[derive(Debug, Default, Deserialize)]
pub struct Containers {
    /// `<Container>` elements.
    #[serde(default, rename = "Container")]
    pub items: Vec<Container>,
}

/// `<Container>`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Container {
    /// Its name.
    pub name: String,
}

/// `<Blobs>`: blobs, and with a delimiter, the prefixes below which there are more.
#[derive(Debug, Default, Deserialize)]
pub struct Blobs {
    /// `<Blob>` elements.
    #[serde(default, rename = "Blob")]
    pub items: Vec<Blob>,
    /// `<BlobPrefix>` elements.
    #[serde(default, rename = "BlobPrefix")]
    pub prefixes: Vec<BlobPrefix>,
}

/// `<Blob>`.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Blob {
    /// Its name (path).
    pub name: String,
    /// Size and version.
    pub properties: BlobProperties,
    /// Name-value pairs (listed with `include=metadata`).
    #[serde(default)]
    pub metadata: std::collections::HashMap<String, String>,
}

/// `<Properties>` of a blob.
#[derive(Debug, Clone, Deserialize)]
pub struct BlobProperties {
    /// Size in bytes.
    #[serde(rename = "Content-Length")]
    pub content_length: u64,
    /// The version; changes on every write.
    #[serde(rename = "Etag")]
    pub etag: String,
    /// When it was last written (RFC 1123).
    #[serde(rename = "Last-Modified", default)]
    pub last_modified: Option<String>,
}

impl BlobProperties {
    /// `Last-Modified` as a time.
    pub fn modified(&self) -> Option<std::time::SystemTime> {
        httpdate::parse_http_date(self.last_modified.as_deref()?).ok()
    }
}

/// `<BlobPrefix>`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct BlobPrefix {
    /// The prefix, ending with the delimiter.
    pub name: String,
}

impl EnumerationResults {
    /// Parses a page.
    pub fn parse(xml: &[u8]) -> Result<Self, String> {
        let text = std::str::from_utf8(xml)
            .map_err(|error| format!("the listing is not UTF-8: {error}"))?;
        quick_xml::de::from_str(text.trim_start_matches('\u{feff}'))
            .map_err(|error| format!("the listing is not the documented XML: {error}"))
    }

    /// The continuation marker, if there is another page.
    pub fn marker(&self) -> Option<&str> {
        self.next_marker
            .as_deref()
            .filter(|marker| !marker.is_empty())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_blobs_prefixes_and_markers() {
        let xml = br#"<?xml version="1.0" encoding="utf-8"?>
<EnumerationResults ServiceEndpoint="http://127.0.0.1:10000/devstoreaccount1" ContainerName="c">
  <Prefix>tenantId=</Prefix><Delimiter>/</Delimiter>
  <Blobs>
    <BlobPrefix><Name>tenantId=a/</Name></BlobPrefix>
    <Blob><Name>x&amp;y/PT1H.json</Name><Properties><Last-Modified>Thu, 03 Dec 2026 12:00:00 GMT</Last-Modified><Etag>0x8DD1</Etag><Content-Length>342</Content-Length><BlobType>AppendBlob</BlobType></Properties></Blob>
    <Blob><Name>ns/ownership/0</Name><Properties><Etag>0x8DD2</Etag><Content-Length>0</Content-Length></Properties><Metadata><ownerid>a1</ownerid></Metadata></Blob>
    <BlobPrefix><Name>tenantId=b/</Name></BlobPrefix>
  </Blobs>
  <NextMarker>m2</NextMarker>
</EnumerationResults>"#;
        let page = EnumerationResults::parse(xml).unwrap();
        let blobs = page.blobs.as_ref().unwrap();
        assert_eq!(blobs.items.len(), 2);
        assert_eq!(blobs.items[1].metadata["ownerid"], "a1");
        assert_eq!(blobs.items[0].name, "x&y/PT1H.json");
        assert_eq!(blobs.items[0].properties.content_length, 342);
        assert_eq!(
            blobs.items[0].properties.modified(),
            Some(std::time::UNIX_EPOCH + std::time::Duration::from_secs(1_796_299_200))
        );
        assert!(blobs.items[0].metadata.is_empty());
        assert_eq!(blobs.prefixes.len(), 2);
        assert_eq!(page.marker(), Some("m2"));
        let containers = EnumerationResults::parse(
            b"<EnumerationResults><Containers><Container><Name>insights-logs-advancedhunting-deviceevents</Name></Container></Containers><NextMarker /></EnumerationResults>",
        )
        .unwrap();
        assert_eq!(containers.containers.as_ref().unwrap().items.len(), 1);
        assert_eq!(containers.marker(), None);
    }
}
