//! The README's table of rules matches the built-in rules: the same ids in the same order, their
//! default levels, and only names the rules know in what each finds. Its macro example is the
//! migrated fixture's code.

use cargo_agent_events::rules::{builtin_defs, BUILTIN};

fn readme() -> String {
    std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap()
}

/// The cells of a Markdown table row; a `|` inside a code span does not split.
fn cells(row: &str) -> Vec<String> {
    let inner = row.trim().strip_prefix('|').and_then(|r| r.strip_suffix('|')).unwrap_or(row);
    let mut cells = vec![String::new()];
    let mut in_code = false;
    for c in inner.chars() {
        match c {
            '`' => {
                in_code = !in_code;
                cells.last_mut().unwrap().push(c);
            }
            '|' if !in_code => cells.push(String::new()),
            c => cells.last_mut().unwrap().push(c),
        }
    }
    cells.into_iter().map(|c| c.trim().to_owned()).collect()
}

/// The first table after the `### Rules` heading: its header and its rows.
fn rules_table(readme: &str) -> (Vec<String>, Vec<Vec<String>>) {
    let lines: Vec<&str> = readme.lines().collect();
    let heading = lines.iter().position(|l| l.trim() == "### Rules").expect("a `### Rules` section");
    let start = heading + lines[heading..].iter().position(|l| l.starts_with('|')).expect("a table");
    let table: Vec<&str> = lines[start..].iter().take_while(|l| l.starts_with('|')).copied().collect();
    assert!(table.len() >= 2 && cells(table[1]).iter().all(|c| c.chars().all(|c| c == '-' || c == ':')));
    (cells(table[0]), table[2..].iter().map(|r| cells(r)).collect())
}

/// The text of every code span in a cell.
fn code_spans(cell: &str) -> Vec<&str> {
    cell.split('`').skip(1).step_by(2).collect()
}

/// The API names in a code span: identifiers in snake case or with a capital letter
/// (`get_websocket_manager`, `WebSocketManager`); plain words and keywords are left out.
fn api_names(span: &str) -> Vec<&str> {
    span.split(|c: char| !(c.is_alphanumeric() || c == '_'))
        .filter(|w| w.contains('_') || w.chars().any(char::is_uppercase))
        .collect()
}

#[test]
fn the_table_has_the_columns_this_test_checks() {
    let (header, _) = rules_table(&readme());
    assert_eq!(header, ["rule", "default", "finds"], "a new column needs a check here");
}

#[test]
fn the_table_lists_every_builtin_rule_in_order() {
    let (_, rows) = rules_table(&readme());
    let listed: Vec<&str> = rows.iter().map(|r| r[0].as_str()).collect();
    let builtin: Vec<String> = builtin_defs().iter().map(|d| format!("`{}`", d.id)).collect();
    assert_eq!(listed, builtin, "the README's rules, as `cargo agent-events rules` lists them");
}

#[test]
fn the_table_gives_each_rule_its_default_level() {
    let (_, rows) = rules_table(&readme());
    for def in builtin_defs() {
        let row = rows.iter().find(|r| r[0] == format!("`{}`", def.id)).expect("listed");
        assert_eq!(row.len(), 3, "{}: {row:?}", def.id);
        assert_eq!(row[1], def.level.to_string(), "the default level of {}", def.id);
    }
}

#[test]
fn what_each_rule_finds_names_only_what_the_rule_knows() {
    let (_, rows) = rules_table(&readme());
    for (id, toml) in BUILTIN {
        let row = rows.iter().find(|r| r[0] == format!("`{id}`")).expect("listed");
        let finds = &row[2];
        assert!(!finds.is_empty(), "{id}: the table says nothing of what it finds");
        let unknown: Vec<&str> =
            code_spans(finds).into_iter().flat_map(api_names).filter(|name| !toml.contains(name)).collect();
        assert!(
            unknown.is_empty(),
            "{id}: the README names {unknown:?}, which rules/{id}.toml never mentions"
        );
    }
}

#[test]
fn cells_keep_code_spans_whole() {
    assert_eq!(cells("| `a|b` | warn | x `y` z |"), ["`a|b`", "warn", "x `y` z"]);
    assert_eq!(
        code_spans("a `json!`/map and `map.insert(\"type\", …)`"),
        ["json!", "map.insert(\"type\", …)"]
    );
    assert_eq!(api_names("WebSocketManager::get_instance()"), ["WebSocketManager", "get_instance"]);
    assert!(api_names("map.insert(\"type\", …)").is_empty());
}

/// The code block after the paragraph that starts with `marker`.
fn code_block_after<'a>(readme: &'a str, marker: &str) -> Vec<&'a str> {
    let from = readme.find(marker).unwrap_or_else(|| panic!("the README says {marker:?}"));
    readme[from..]
        .lines()
        .skip_while(|l| !l.starts_with("```"))
        .skip(1)
        .take_while(|l| !l.starts_with("```"))
        .collect()
}

#[test]
fn the_macro_example_is_the_migrated_fixtures_code() {
    let readme = readme();
    let fixture =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/migrated-agent/src/lib.rs"))
            .unwrap();
    let fixture_lines: Vec<&str> = fixture.lines().map(str::trim).collect();
    let example = code_block_after(&readme, "After: the same agent, annotated");
    assert!(example.len() > 10, "{example:?}");
    let missing: Vec<&str> =
        example.iter().map(|l| l.trim()).filter(|l| !l.is_empty() && !fixture_lines.contains(l)).collect();
    assert!(missing.is_empty(), "README lines not in fixtures/migrated-agent/src/lib.rs: {missing:#?}");
}
