//! A rule's documentation as `explain` prints it (Markdown; SARIF's rule help too).

use super::{RuleDef, SharedLists};
use crate::frontend::Lang;

fn names(values: &[String]) -> String {
    values.iter().map(|v| format!("`{v}`")).collect::<Vec<_>>().join(", ")
}

/// The documentation of a rule: what it does, why, an example and what to write instead, in
/// each language, then its options.
pub fn explain(def: &RuleDef) -> String {
    let d = &def.docs;
    let primary = Lang::ALL[0].spec();
    let mut text = format!(
        "# {}\n\n{}\n\nDefault level: {}\n\n## What it does\n{}\n\n## Why is this bad?\n{}\n\n## Example\n```{fence}\n{}\n```\n\n## Use instead\n```{fence}\n{}\n```\n",
        def.id,
        def.summary,
        def.level,
        d.what.trim(),
        d.why.trim(),
        d.bad.trim(),
        d.good.trim(),
        fence = primary.name,
    );
    if let Some(config) = &d.config {
        text.push_str(&format!(
            "\nThe examples are linted with this configuration (`agent-events.toml`):\n```toml\n{}\n```\n",
            config.trim()
        ));
    }
    if !def.languages.is_empty() {
        text.push_str(&format!("\nIt reads {} code only.\n", def.languages.join(", ")));
    }
    for lang in Lang::ALL {
        let Some(other) = def.for_lang(lang) else { continue };
        let spec = lang.spec();
        text.push_str(&format!(
            "\n## In {display}\n```{fence}\n{}\n```\n\nUse instead:\n```{fence}\n{}\n```\n",
            other.bad.trim(),
            other.good.trim(),
            display = spec.display,
            fence = spec.name,
        ));
        if let Some(help) = &other.help {
            text.push_str(&format!("\nHelp in {}: {help}\n", spec.display));
        }
        for (name, values) in &other.lists {
            text.push_str(&format!("\nIn {}, `{name}` defaults to: {}\n", spec.display, names(values)));
        }
    }
    if d.options.is_some() || !def.lists.is_empty() || !def.shared_lists.is_empty() {
        text.push_str("\n## Options\n");
        if let Some(options) = &d.options {
            text.push_str(options.trim());
            text.push('\n');
        }
        for (name, values) in &def.lists {
            text.push_str(&format!("- `{name}` (default: {})\n", names(values)));
        }
        let shared = SharedLists::builtin();
        for name in &def.shared_lists {
            let Some(list) = shared.lists.get(name) else { continue };
            text.push_str(&format!(
                "- `{name}`, shared with other rules (set it once under `[lists]`): {} (default: {})\n",
                list.doc.trim_end_matches('.'),
                names(&list.names)
            ));
        }
    }
    text
}
