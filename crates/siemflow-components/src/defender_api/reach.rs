//! The `validate --connect` check of the Defender components: a token for the service, then at
//! most one small read, so that the app's credentials, admin consent and read permission are
//! tried before go-live without taking or changing anything.

use reqwest::Method;
use siemflow_core::component::ComponentContext;
use tokio_util::sync::CancellationToken;

use super::client::{ApiClient, CallContext};

/// Gets a token for `client`'s service, then, with `path`, reads its first item.
pub async fn reach(client: &ApiClient, path: Option<&str>) -> Result<String, String> {
    let resource = client.resource();
    client
        .tokens()
        .token(resource)
        .await
        .map_err(|error| format!("no token for {resource}: {error}"))?;
    let Some(path) = path else {
        return Ok(format!("token for {resource} issued"));
    };
    let url = client.url(path)?;
    let component = ComponentContext::detached("validate", "connect", "defender");
    let never = CancellationToken::new();
    let call = CallContext {
        metrics: &component.metrics,
        shutdown: &never,
        give_up_after: Some(1),
    };
    let answer = client
        .call_json(Method::GET, &url, None, call)
        .await
        .map_err(|error| format!("token for {resource} issued, but GET {url}: {error}"))?;
    let items = answer["value"].as_array().map_or(0, Vec::len);
    Ok(format!(
        "token for {resource} issued; GET {url}: {items} item(s)"
    ))
}
