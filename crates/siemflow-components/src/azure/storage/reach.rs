//! The `validate --connect` check of the components reading or writing blobs: one listing, which
//! tries the endpoint, TLS, the credentials and the list permission without reading a blob.

use super::client::{BlobClient, BlobError};

/// Lists the containers whose names start with `prefix`: the account's list permission.
pub async fn containers(client: &BlobClient, prefix: &str) -> Result<String, String> {
    let names = client
        .list_containers(prefix)
        .await
        .map_err(|error| format!("{}: listing containers: {error}", client.endpoint()))?;
    Ok(format!(
        "{}: listed {} container(s) named `{prefix}*`",
        client.endpoint(),
        names.len()
    ))
}

/// Lists the top level of `container`; with `missing_ok`, a missing container is reported but
/// not a failure (a component that creates it at start).
pub async fn container(
    client: &BlobClient,
    container: &str,
    missing_ok: bool,
) -> Result<String, String> {
    match client.list_blobs(container, "", Some("/")).await {
        Ok((blobs, prefixes)) => Ok(format!(
            "{}: listed container `{container}` ({} blob(s) and {} folder(s) at its top)",
            client.endpoint(),
            blobs.len(),
            prefixes.len()
        )),
        Err(BlobError::NotFound) if missing_ok => Ok(format!(
            "{}: container `{container}` does not exist yet; it is created at start",
            client.endpoint()
        )),
        Err(error) => Err(format!(
            "{}: listing container `{container}`: {error}",
            client.endpoint()
        )),
    }
}
