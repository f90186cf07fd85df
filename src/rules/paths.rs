//! `banned-path`: uses of listed items — imports, type mentions, constructions and calls —
//! matched on the path after `use` aliases are undone. An entry `Name` matches any path with
//! that segment; `a::b::Name` matches that run of segments. The item's own definition and the
//! self type of its own `impl` blocks are not uses.

use super::{Cx, Hit, Needles};
use crate::facts::MentionKind;
use crate::fix::{Applicability, Fix};
use crate::source::Span;

fn replacements(cx: &Cx<'_>, entry: &str) -> Option<String> {
    cx.rule.list("replacements").iter().find_map(|r| {
        let (from, to) = r.split_once("->")?;
        (from.trim() == entry).then(|| to.trim().to_owned())
    })
}

/// Unsafe fix for a type or expression path, when `rewrite-paths` has `Name -> new::path`: the
/// path up to the deprecated name becomes the new path (`Notifier::new()` → `new::path::new()`).
/// Imports are left to a person: a `use` group cannot hold an absolute path.
fn rewrite_path(cx: &Cx<'_>, mention: &crate::facts::Mention, segs: &[&str]) -> Option<Fix> {
    if mention.kind == MentionKind::Import || cx.lang != crate::frontend::Lang::Rust {
        return None;
    }
    let name = *segs.last()?;
    let to = cx.rule.list("rewrite-paths").iter().find_map(|r| {
        let (from, to) = r.split_once("->")?;
        (from.trim() == segs.join("::")).then(|| to.trim().to_owned())
    })?;
    let written = cx.text.get(mention.span.start..mention.span.end)?;
    let at = written.find(name)?;
    let span = Span::new(mention.span.start, mention.span.start + at + name.len());
    Some(Fix::replace(Applicability::Unsafe, span, to))
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
                None if cx.lang == crate::frontend::Lang::Rust => {
                    "emit through the `Run` of the request (`agent_events`)".to_owned()
                }
                None => "emit through the project's canonical adapter".to_owned(),
            };
            let mut hit =
                Hit::at(mention.span).arg("name", entry.as_str()).arg("how", how).arg("replacement", help);
            if let Some(fix) = rewrite_path(cx, mention, segs) {
                hit = hit.fix(fix);
            }
            hits.push(hit);
            break;
        }
    }
}

/// Every use names the item's last segment (aliases are declared in the same file).
pub fn needles(cx: &Needles<'_>) -> Vec<Vec<String>> {
    vec![{ cx.rule.list("paths").iter().filter_map(|p| p.rsplit("::").next()).map(str::to_owned).collect() }]
}
