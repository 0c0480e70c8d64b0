//! How one poll walks through the changes of a list API, page by page.
//!
//! **Graph (`alerts_v2`, `incidents`): by time.** Graph caps `$top` (1,000 for alerts, clamped
//! silently; 50 for incidents, refused above), refuses `$skip` past a few thousand items and ends
//! `@odata.nextLink` paging there without a word (`shared/reference/defender-apis.md` section 7).
//! So no request ever goes deep: each one asks
//! `$filter=lastUpdateDateTime ge {cursor} and lastUpdateDateTime le {until}&$orderby=lastUpdateDateTime asc&$top={page}`,
//! and the cursor moves to the latest time on the page (to the microsecond, so the changes at
//! that instant are read again and dropped as already seen). `until` is the poll's start:
//! changes made while the poll runs are the next poll's.
//!
//! - A page that moves the cursor is never taken as the last one, whether it is short (a clamped
//!   `$top`) or has no nextLink: the walk ends only on an empty page, or on a short page that
//!   brings nothing after the cursor.
//! - A full page whose changes all fall in the cursor's microsecond (a bulk update of more
//!   items than a page) cannot move it: that microsecond is read on its own with `$skip`
//!   (`ge t and lt t+1µs`), again until a pass finds nothing new (items updated during the scan
//!   shift the others), then the walk goes on after it.
//! - The order is checked: a page that is not in ascending order (an API that ignored
//!   `$orderby`) fails the poll rather than let the cursor jump over changes.
//!
//! **Defender for Endpoint `/api/alerts` and XDR `/api/incidents`: by offset**, as documented:
//! `$filter=lastUpdateTime ge {since}`, following `@odata.nextLink`, or `$skip` when a full page
//! comes without one, within their page limits (10,000 and 100).
//!
//! **A request that keeps failing** ([`ApiError::Unavailable`]: 5xx or no answer, several times
//! in a row) is not retried forever: the pager halves its page size and asks again for the same
//! place, down to one item a page; past that the error ends the poll, and the source reports it
//! (logs, `/metrics`, `/health`) and tries again next poll.

use std::collections::HashSet;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use reqwest::{Method, Url};
use serde::Deserialize;
use serde_json::Value;
use serde_json::value::RawValue;

use super::state::{filter_time, parse_time};
use crate::defender_api::client::{ApiClient, ApiError, CallContext};
use crate::defender_api::endpoints::ListApi;

/// One item of a page.
#[derive(Debug)]
pub enum Entry {
    /// An item with its id and last-update time.
    Tracked(Item),
    /// An item without an id or a valid last-update time: it cannot be tracked.
    Untracked(Bytes),
}

/// One change of an item, as the API returned it.
#[derive(Debug)]
pub struct Item {
    /// Its id.
    pub id: String,
    /// Its last-update time, as written.
    pub last_update: String,
    /// The same, parsed.
    pub time: SystemTime,
    /// Its JSON, exactly as the API returned it.
    pub body: Bytes,
}

/// One page read.
#[derive(Debug)]
pub struct Page {
    /// Its items, in order.
    pub entries: Vec<Entry>,
    /// Bytes of the answer.
    pub bytes: usize,
}

/// Why a walk stopped early.
#[derive(Debug)]
pub struct PageError {
    /// The request, method and path with the query decoded (no host, no token).
    pub request: String,
    /// What went wrong.
    pub error: PageProblem,
}

/// What went wrong with a page.
#[derive(Debug)]
pub enum PageProblem {
    /// The call failed.
    Api(ApiError),
    /// The answer is not a usable page.
    Invalid(String),
}

impl std::fmt::Display for PageError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.error {
            PageProblem::Api(error) => write!(f, "{}: {error}", self.request),
            PageProblem::Invalid(message) => write!(f, "{}: {message}", self.request),
        }
    }
}

#[derive(Deserialize)]
struct ListAnswer<'a> {
    #[serde(borrow)]
    value: Vec<&'a RawValue>,
    #[serde(rename = "@odata.nextLink", default)]
    next_link: Option<String>,
}

/// The properties of an item the source tracks it by (the APIs name them differently).
#[derive(Deserialize, Default)]
struct Keys<'a> {
    #[serde(default)]
    id: Option<Value>,
    #[serde(default, rename = "incidentId")]
    incident_id: Option<Value>,
    #[serde(default, borrow, rename = "lastUpdateTime")]
    last_update_time: Option<std::borrow::Cow<'a, str>>,
    #[serde(default, borrow, rename = "lastUpdateDateTime")]
    last_update_date_time: Option<std::borrow::Cow<'a, str>>,
}

/// Reads one item's keys; only they are decoded, the rest is skipped.
fn entry(api: ListApi, body: Bytes) -> Entry {
    let text = std::str::from_utf8(&body).unwrap_or_default();
    let keys: Keys<'_> = serde_json::from_str(text).unwrap_or_default();
    let id = match api.id_field() {
        "incidentId" => keys.incident_id,
        _ => keys.id,
    }
    .and_then(|id| match id {
        Value::String(text) => Some(text),
        Value::Number(number) => Some(number.to_string()),
        _ => None,
    });
    let last_update = match api.time_field() {
        "lastUpdateTime" => keys.last_update_time,
        _ => keys.last_update_date_time,
    };
    let parsed = last_update
        .as_deref()
        .and_then(|text| parse_time(text).map(|time| (text.to_string(), time)));
    match (id, parsed) {
        (Some(id), Some((last_update, time))) => Entry::Tracked(Item {
            id,
            last_update,
            time,
            body,
        }),
        _ => Entry::Untracked(body),
    }
}

/// The smallest unit of a `$filter` time: the walk moves in whole microseconds.
const TICK: Duration = Duration::from_micros(1);

/// `time` cut down to the microsecond.
fn floor_micros(time: SystemTime) -> SystemTime {
    let since = time.duration_since(UNIX_EPOCH).unwrap_or_default();
    UNIX_EPOCH + Duration::from_micros(u64::try_from(since.as_micros()).unwrap_or(u64::MAX))
}

/// How many passes over one microsecond's changes at most (see the module docs).
const TIE_PASSES: u32 = 3;

/// Walks one poll's changes.
#[derive(Debug)]
pub struct Pager {
    api: ListApi,
    collection: Url,
    page_size: usize,
    walk: Walk,
}

#[derive(Debug)]
enum Walk {
    /// Graph: by time.
    Time {
        cursor: SystemTime,
        until: SystemTime,
        tie: Option<TieScan>,
        done: bool,
    },
    /// MDE and XDR: by offset.
    Offset {
        first: Url,
        next: Option<Url>,
        read: usize,
    },
}

/// Reading one microsecond's changes with `$skip`.
#[derive(Debug)]
struct TieScan {
    at: SystemTime,
    skip: usize,
    passes: u32,
    seen: HashSet<String>,
    found_new: bool,
}

impl Pager {
    /// A walk over the changes from `since` (to `until` for Graph) of `api` at `collection`
    /// (the collection's URL), `page_size` items a page.
    pub fn new(
        api: ListApi,
        collection: Url,
        since: SystemTime,
        until: SystemTime,
        page_size: usize,
    ) -> Self {
        let walk = if api.pages_by_time() {
            Walk::Time {
                cursor: floor_micros(since),
                until: floor_micros(until) + TICK,
                tie: None,
                done: false,
            }
        } else {
            let mut first = collection.clone();
            {
                let mut query = first.query_pairs_mut();
                query.append_pair(
                    "$filter",
                    &format!("{} ge {}", api.time_field(), filter_time(since)),
                );
                query.append_pair("$top", &page_size.to_string());
                if let Some(expand) = api.expand() {
                    query.append_pair("$expand", expand);
                }
            }
            Walk::Offset {
                next: Some(first.clone()),
                first,
                read: 0,
            }
        };
        Self {
            api,
            collection,
            page_size: page_size.max(1),
            walk,
        }
    }

    /// The page size now (smaller than asked after a request kept failing).
    pub fn page_size(&self) -> usize {
        self.page_size
    }

    /// The next page; `None` once the walk is over.
    pub async fn next(
        &mut self,
        client: &ApiClient,
        cx: CallContext<'_>,
    ) -> Result<Option<Page>, PageError> {
        loop {
            let Some(url) = self.request() else {
                return Ok(None);
            };
            let request = describe(&url);
            let body = match client.call(Method::GET, &url, None, cx).await {
                Ok(body) => body,
                Err(ApiError::Unavailable {
                    attempts,
                    status,
                    last,
                }) if self.page_size > 1 => {
                    self.page_size /= 2;
                    cx.metrics.error(
                        "page_failed",
                        &format_args!(
                            "{request}: failed {attempts} times in a row ({last}); asking again with pages of {} this poll",
                            self.page_size
                        ),
                    );
                    let _ = status;
                    continue;
                }
                Err(error) => {
                    return Err(PageError {
                        request,
                        error: PageProblem::Api(error),
                    });
                }
            };
            return self
                .read_page(body, &url)
                .map(Some)
                .map_err(|message| PageError {
                    request,
                    error: PageProblem::Invalid(message),
                });
        }
    }

    /// Reads the answer to the request for `url` and moves the walk past it.
    pub(crate) fn read_page(&mut self, body: Bytes, url: &Url) -> Result<Page, String> {
        let answer: ListAnswer<'_> = serde_json::from_slice(&body)
            .map_err(|error| format!("the answer is not an OData collection ({error})"))?;
        let entries: Vec<Entry> = answer
            .value
            .iter()
            .map(|raw| entry(self.api, body.slice_ref(raw.get().as_bytes())))
            .collect();
        self.advance(&entries, answer.next_link, url)?;
        Ok(Page {
            entries,
            bytes: body.len(),
        })
    }

    /// The URL of the next request, or `None` when the walk is over.
    pub(crate) fn request(&self) -> Option<Url> {
        let time_field = self.api.time_field();
        match &self.walk {
            Walk::Time { done: true, .. } => None,
            Walk::Time { tie: Some(tie), .. } => {
                let mut url = self.collection.clone();
                url.query_pairs_mut()
                    .append_pair(
                        "$filter",
                        &format!(
                            "{time_field} ge {} and {time_field} lt {}",
                            filter_time(tie.at),
                            filter_time(tie.at + TICK)
                        ),
                    )
                    .append_pair("$top", &self.page_size.to_string())
                    .append_pair("$skip", &tie.skip.to_string());
                Some(url)
            }
            Walk::Time { cursor, until, .. } => {
                let mut url = self.collection.clone();
                url.query_pairs_mut()
                    .append_pair(
                        "$filter",
                        &format!(
                            "{time_field} ge {} and {time_field} lt {}",
                            filter_time(*cursor),
                            filter_time(*until)
                        ),
                    )
                    .append_pair("$orderby", &format!("{time_field} asc"))
                    .append_pair("$top", &self.page_size.to_string());
                Some(url)
            }
            Walk::Offset { next, .. } => next.clone(),
        }
    }

    /// Moves the walk on past a page just read from `url`.
    fn advance(
        &mut self,
        entries: &[Entry],
        next_link: Option<String>,
        url: &Url,
    ) -> Result<(), String> {
        let page_size = self.page_size;
        let times = || {
            entries.iter().filter_map(|entry| match entry {
                Entry::Tracked(item) => Some(item.time),
                Entry::Untracked(_) => None,
            })
        };
        match &mut self.walk {
            Walk::Time {
                cursor, tie, done, ..
            } => {
                if let Some(scan) = tie.as_mut() {
                    for entry in entries {
                        if let Entry::Tracked(item) = entry {
                            scan.found_new |= scan
                                .seen
                                .insert(format!("{}@{}", item.id, item.last_update));
                        }
                    }
                    if entries.len() >= page_size {
                        scan.skip += entries.len();
                    } else if scan.found_new && scan.passes + 1 < TIE_PASSES {
                        scan.passes += 1;
                        scan.skip = 0;
                        scan.found_new = false;
                    } else {
                        *cursor = scan.at + TICK;
                        *tie = None;
                    }
                    return Ok(());
                }
                let mut previous: Option<SystemTime> = None;
                for time in times() {
                    if previous.is_some_and(|before| time < before) {
                        return Err(format!(
                            "the changes are not in ascending {} order as asked ($orderby); the poll stops here rather than skip any",
                            self.api.time_field()
                        ));
                    }
                    previous = Some(time);
                }
                let Some(latest) = previous.map(floor_micros) else {
                    *done = true;
                    return Ok(());
                };
                if latest > *cursor {
                    *cursor = latest;
                } else if entries.len() < page_size {
                    *done = true;
                } else {
                    *tie = Some(TieScan {
                        at: *cursor,
                        skip: 0,
                        passes: 0,
                        seen: HashSet::new(),
                        found_new: false,
                    });
                }
                Ok(())
            }
            Walk::Offset { first, next, read } => {
                *read += entries.len();
                *next = match next_link {
                    Some(link) => Some(same_origin(&link, url)?),
                    None if entries.len() >= page_size => Some(with_skip(first, *read, page_size)),
                    None => None,
                };
                Ok(())
            }
        }
    }
}

/// The next-page link, if it points where the token may go (the API's own scheme, host and
/// port).
fn same_origin(link: &str, url: &Url) -> Result<Url, String> {
    let next = Url::parse(link)
        .map_err(|error| format!("@odata.nextLink `{link}` is not a URL: {error}"))?;
    if next.origin() != url.origin() {
        return Err(format!(
            "@odata.nextLink points to {} instead of the API host {}; not following it with the token",
            next.origin().ascii_serialization(),
            url.origin().ascii_serialization()
        ));
    }
    Ok(next)
}

/// `first` with `$skip=read` and `$top=top`.
fn with_skip(first: &Url, read: usize, top: usize) -> Url {
    let mut url = first.clone();
    let kept: Vec<(String, String)> = first
        .query_pairs()
        .filter(|(key, _)| key != "$skip" && key != "$top")
        .map(|(key, value)| (key.into_owned(), value.into_owned()))
        .collect();
    url.query_pairs_mut()
        .clear()
        .extend_pairs(kept)
        .append_pair("$top", &top.to_string())
        .append_pair("$skip", &read.to_string());
    url
}

/// `GET /path?a=b&c=d` with the query decoded, for logs: no host, and no secret in it.
pub fn describe(url: &Url) -> String {
    let query: Vec<String> = url
        .query_pairs()
        .map(|(key, value)| format!("{key}={value}"))
        .collect();
    if query.is_empty() {
        format!("GET {}", url.path())
    } else {
        format!("GET {}?{}", url.path(), query.join("&"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn page(api: ListApi, items: &[(&str, &str)]) -> Vec<Entry> {
        items
            .iter()
            .map(|(id, time)| {
                entry(
                    api,
                    Bytes::from(format!(r#"{{"id":"{id}","lastUpdateDateTime":"{time}"}}"#)),
                )
            })
            .collect()
    }

    fn at(text: &str) -> SystemTime {
        parse_time(text).unwrap()
    }

    fn filter(url: &Url) -> String {
        url.query_pairs()
            .filter(|(key, _)| key == "$filter" || key == "$skip")
            .map(|(key, value)| format!("{key}={value}"))
            .collect::<Vec<_>>()
            .join("&")
    }

    #[test]
    fn graph_is_walked_by_time_through_ties_and_short_pages() {
        let api = ListApi::GraphAlerts;
        let base = Url::parse("https://graph.example/v1.0/security/alerts_v2").unwrap();
        let mut pager = Pager::new(
            api,
            base,
            at("2026-11-24T08:00:00Z"),
            at("2026-11-24T09:00:00Z"),
            3,
        );
        let first = pager.request().unwrap();
        assert_eq!(
            filter(&first),
            "$filter=lastUpdateDateTime ge 2026-11-24T08:00:00.000000Z and lastUpdateDateTime lt 2026-11-24T09:00:00.000001Z"
        );
        assert!(first.as_str().contains("%24orderby=lastUpdateDateTime+asc"));
        // A short page (a clamped $top) that moves the cursor is not the end.
        let entries = page(
            api,
            &[
                ("a", "2026-11-24T08:10:00.1234567Z"),
                ("b", "2026-11-24T08:20:00.1234567Z"),
            ],
        );
        pager.advance(&entries, None, &first).unwrap();
        let second = pager.request().unwrap();
        assert!(
            filter(&second).contains("ge 2026-11-24T08:20:00.123456Z"),
            "{second}"
        );
        // A full page all in the cursor's microsecond: that microsecond is scanned with $skip.
        let tied = "2026-11-24T08:20:00.1234567Z";
        let entries = page(api, &[("b", tied), ("c", tied), ("d", tied)]);
        pager.advance(&entries, None, &second).unwrap();
        let scan = pager.request().unwrap();
        assert_eq!(
            filter(&scan),
            "$filter=lastUpdateDateTime ge 2026-11-24T08:20:00.123456Z and lastUpdateDateTime lt 2026-11-24T08:20:00.123457Z&$skip=0"
        );
        pager.advance(&entries, None, &scan).unwrap();
        assert!(filter(&pager.request().unwrap()).ends_with("$skip=3"));
        pager
            .advance(&page(api, &[("e", tied)]), None, &scan)
            .unwrap();
        // The pass found new changes: once more from the start, in case updates shifted some.
        assert!(filter(&pager.request().unwrap()).ends_with("$skip=0"));
        pager
            .advance(
                &page(api, &[("b", tied), ("c", tied), ("d", tied)]),
                None,
                &scan,
            )
            .unwrap();
        pager
            .advance(&page(api, &[("e", tied)]), None, &scan)
            .unwrap();
        let after = pager.request().unwrap();
        assert!(
            filter(&after).contains("ge 2026-11-24T08:20:00.123457Z"),
            "{after}"
        );
        // A short page that does not move the cursor ends the walk.
        pager
            .advance(
                &page(api, &[("f", "2026-11-24T08:20:00.1234579Z")]),
                None,
                &after,
            )
            .unwrap();
        assert!(pager.request().is_none());
    }

    #[test]
    fn an_unordered_page_stops_the_walk_and_an_empty_one_ends_it() {
        let api = ListApi::GraphIncidents;
        let base = Url::parse("https://graph.example/v1.0/security/incidents").unwrap();
        let mut pager = Pager::new(
            api,
            base,
            at("2026-11-24T08:00:00Z"),
            at("2026-11-24T09:00:00Z"),
            50,
        );
        let url = pager.request().unwrap();
        let unordered = page(
            api,
            &[("1", "2026-11-24T08:30:00Z"), ("2", "2026-11-24T08:10:00Z")],
        );
        assert!(
            pager
                .advance(&unordered, None, &url)
                .unwrap_err()
                .contains("ascending")
        );
        pager.advance(&[], None, &url).unwrap();
        assert!(pager.request().is_none());
    }

    #[test]
    fn mde_is_walked_by_offset_following_next_links_or_skip() {
        let api = ListApi::MdeAlerts;
        let base = Url::parse("https://api.example/api/alerts").unwrap();
        let mut pager = Pager::new(
            api,
            base,
            at("2026-11-24T08:00:00Z"),
            at("2026-11-24T09:00:00Z"),
            2,
        );
        let first = pager.request().unwrap();
        assert!(first.as_str().contains("%24expand=evidence"));
        let items = |n: usize| -> Vec<Entry> {
            (0..n)
                .map(|i| {
                    entry(
                        api,
                        Bytes::from(format!(
                            r#"{{"id":"{i}","lastUpdateTime":"2026-11-24T08:10:00Z"}}"#
                        )),
                    )
                })
                .collect()
        };
        pager.advance(&items(2), None, &first).unwrap();
        assert!(filter(&pager.request().unwrap()).ends_with("$skip=2"));
        let evil = pager.advance(
            &items(2),
            Some("https://evil.example/api/alerts?$skip=4".into()),
            &first,
        );
        assert!(evil.unwrap_err().contains("not following it"));
        pager.advance(&items(1), None, &first).unwrap();
        assert!(pager.request().is_none());
    }
}
