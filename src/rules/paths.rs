//! `banned-path`: uses of listed items — imports, type mentions, constructions and calls —
//! matched on the path after `use` aliases are undone. An entry `Name` matches any path with
//! that segment; `a::b::Name` matches that run of segments. The item's own definition and the
//! self type of its own `impl` blocks are not uses.

use super::{Cx, Hit, Needles};
use crate::facts::MentionKind;

fn replacements(cx: &Cx<'_>, entry: &str) -> Option<String> {
    cx.rule.list("replacements").iter().find_map(|r| {
        let (from, to) = r.split_once("->")?;
        (from.trim() == entry).then(|| to.trim().to_owned())
    })
}

pub fn check(cx: &Cx<'_>, hits: &mut Vec<Hit>) {
    let entries: Vec<(&String, Vec<&str>)> =
        cx.rule.list("paths").iter().map(|e| (e, e.split("::").collect())).collect();
    for mention in &cx.facts.mentions {
        for (entry, segs) in &entries {
            let own_impl = mention.in_impl_of.as_deref() == segs.last().copied();
            let matches = mention.path.windows(segs.len()).any(|w| w.iter().zip(segs).all(|(a, b)| a == b));
            if !matches || own_impl {
                continue;
            }
            let how = match mention.kind {
                MentionKind::Import => "imported",
                MentionKind::Type => "used as a type",
                MentionKind::Expr => "called or constructed",
            };
            let help = match replacements(cx, entry) {
                Some(to) => format!("use {to} instead"),
                None => "emit through the `Run` of the request (`agent_events`)".to_owned(),
            };
            hits.push(
                Hit::at(mention.span).arg("name", entry.as_str()).arg("how", how).arg("replacement", help),
            );
            break;
        }
    }
}

/// Every use names the item's last segment (aliases are declared in the same file).
pub fn needles(cx: &Needles<'_>) -> Vec<Vec<String>> {
    vec![{ cx.rule.list("paths").iter().filter_map(|p| p.rsplit("::").next()).map(str::to_owned).collect() }]
}
