//! The option tables of `docs/pipelines.md` are the config types' doc comments: each sits between
//! `<!-- options: KEY -->` and `<!-- end options -->` and is generated again here, and every table
//! the registry yields (each component type's, each block's) has its place. With
//! `SIEMFLOW_UPDATE_GOLDEN=1` the tables are rewritten instead.

use std::collections::BTreeMap;

use crate::support::repo_root;

const START: &str = "<!-- options: ";
const END: &str = "<!-- end options -->";

#[test]
fn the_option_tables_in_the_docs_are_the_config_doc_comments() {
    let path = repo_root().join("docs/pipelines.md");
    let docs = std::fs::read_to_string(&path).unwrap();
    let tables: BTreeMap<String, String> =
        siemflow_components::reference::option_tables(&siemflow_components::registry());
    let mut rewritten = String::new();
    let mut placed = Vec::new();
    let mut rest = docs.as_str();
    while let Some(at) = rest.find(START) {
        let after = &rest[at + START.len()..];
        let key_end = after.find(" -->").expect("a marker ends with -->");
        // Types with the same options share one table: `sources.a sources.b`.
        let keys: Vec<&str> = after[..key_end].split(' ').collect();
        let keys: Vec<String> = match keys.as_slice() {
            ["block", name] => vec![format!("block {name}")],
            keys => keys.iter().map(|key| key.to_string()).collect(),
        };
        let key = keys.join(" ");
        let body_start = at + START.len() + key_end + " -->\n".len();
        let end = rest[body_start..]
            .find(END)
            .unwrap_or_else(|| panic!("the table `{}` has no `{END}`", &after[..key_end]));
        let table = tables
            .get(&keys[0])
            .unwrap_or_else(|| panic!("docs/pipelines.md has a table `{key}` no type yields"));
        for other in &keys[1..] {
            assert_eq!(
                tables.get(other),
                Some(table),
                "`{key}` do not share their options"
            );
        }
        rewritten.push_str(&rest[..body_start]);
        rewritten.push_str(table);
        rest = &rest[body_start + end..];
        placed.extend(keys);
    }
    rewritten.push_str(rest);
    let update = std::env::var_os("SIEMFLOW_UPDATE_GOLDEN").is_some();
    if update {
        std::fs::write(&path, &rewritten).unwrap();
    }
    let missing: Vec<&String> = tables.keys().filter(|key| !placed.contains(key)).collect();
    assert!(
        missing.is_empty(),
        "docs/pipelines.md has no place for these option tables: {missing:?}"
    );
    assert!(
        update || rewritten == docs,
        "the option tables in docs/pipelines.md differ from the config doc comments: run the \
         test with SIEMFLOW_UPDATE_GOLDEN=1 and review the change"
    );
}
