//! `banned-path`: uses of listed items — imports, type mentions, constructions and calls —
//! matched on the path after `use` aliases are undone. An entry `Name` matches any path with
//! that segment; `a::b::Name` matches that run of segments. The item's own definition and the
//! self type of its own `impl` blocks are not uses.

use super::{Cx, Hit, ListDecl, Needles};
use crate::facts::MentionKind;
use crate::fix::{Applicability, Fix};
use crate::source::Span;

/// The banned paths; what replaces each (for the help); the paths a fix may write instead.
pub(super) const LISTS: &[ListDecl] = &[
    ListDecl::names("paths"),
    ListDecl::replacements("replacements"),
    ListDecl::replacements("rewrite-paths"),
];

fn replacement<'r>(cx: &'r Cx<'_>, entry: &str) -> Option<&'r str> {
    cx.rule.replacements("replacements").iter().find(|r| r.from == entry).map(|r| r.to.as_str())
}

/// Unsafe fix for a type or expression path, when `rewrite-paths` has `Name -> new::path`: the
/// path up to the deprecated name becomes the new path (`Notifier::new()` → `new::path::new()`).
/// Imports are left to a person: a `use` group cannot hold an absolute path.
fn rewrite_path(cx: &Cx<'_>, mention: &crate::facts::Mention, segs: &[&str]) -> Option<Fix> {
    if mention.kind == MentionKind::Import || cx.lang != crate::frontend::Lang::Rust {
        return None;
    }
    let name = *segs.last()?;
    let written_path = segs.join("::");
    let to = cx.rule.replacements("rewrite-paths").iter().find(|r| r.from == written_path)?.to.clone();
    let written = cx.text.get(mention.span.start..mention.span.end)?;
    let at = written.find(name)?;
    let span = Span::new(mention.span.start, mention.span.start + at + name.len());
    Some(Fix::replace(Applicability::Unsafe, span, to))
}

/// Unsafe fix in a Python file, when `rewrite-paths` has `Name -> package.module.NewName`: an
/// import of the name imports the new name from the new module instead (an `as` alias is kept);
/// a bare use of the name (annotation, call, reference) becomes the new name. A use through an
/// alias or a module attribute is left as it is: the renamed import covers the alias.
fn rewrite_python_path(cx: &Cx<'_>, mention: &crate::facts::Mention, segs: &[&str]) -> Option<Fix> {
    if cx.lang != crate::frontend::Lang::Python {
        return None;
    }
    let name = *segs.last()?;
    let written_path = segs.join("::");
    let to = &cx.rule.replacements("rewrite-paths").iter().find(|r| r.from == written_path)?.to;
    if to.contains("::") {
        return None;
    }
    let (module, new_name) = to.rsplit_once('.')?;
    if mention.kind == MentionKind::Import {
        if mention.path.last().map(String::as_str) != Some(name) {
            return None;
        }
        let edits = crate::rewrite::python::rename_import(cx.text, mention.span, module, new_name)?;
        return Some(Fix { applicability: Applicability::Unsafe, edits });
    }
    (cx.text.get(mention.span.start..mention.span.end)? == name)
        .then(|| Fix::replace(Applicability::Unsafe, mention.span, new_name))
}

pub fn check(cx: &Cx<'_>, hits: &mut Vec<Hit>) {
    let entries: Vec<(&String, Vec<&str>)> =
        cx.rule.list("paths").iter().map(|e| (e, e.split("::").collect())).collect();
    // One finding per line and entry (`Bridge.WebSocketNotifier = WebSocketNotifier` is one
    // site): the first mention on the line.
    let mut seen = std::collections::HashSet::new();
    let newlines = std::cell::OnceCell::new();
    let line_of = |span: Span| {
        let newlines: &Vec<usize> =
            newlines.get_or_init(|| cx.text.match_indices('\n').map(|(i, _)| i).collect());
        newlines.partition_point(|&n| n < span.start)
    };
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
                MentionKind::Value => "referenced",
            };
            if !seen.insert((line_of(mention.span), entry.as_str())) {
                break;
            }
            let help = match replacement(cx, entry) {
                Some(to) => format!("use {to} instead"),
                None => cx.api().deprecated.clone(),
            };
            let mut hit =
                Hit::at(mention.span).arg("name", entry.as_str()).arg("how", how).arg("replacement", help);
            if let Some(fix) =
                rewrite_path(cx, mention, segs).or_else(|| rewrite_python_path(cx, mention, segs))
            {
                hit = hit.fix(fix);
            }
            hits.push(hit);
            break;
        }
    }
    // Constructed or called through an attribute (`cls.WebSocketNotifier(…)`,
    // `self.factory.WebSocketNotifier(…)`): a method call named like a one-segment entry.
    let mentioned: Vec<crate::source::Span> = cx.facts.mentions.iter().map(|m| m.span).collect();
    for call in cx.facts.calls.iter().filter(|c| c.is_method()) {
        let Some((entry, _)) = entries.iter().find(|(_, segs)| segs.len() == 1 && segs[0] == call.name)
        else {
            continue;
        };
        if mentioned.iter().any(|m| m.contains(call.name_span)) {
            continue;
        }
        let help = match replacement(cx, entry) {
            Some(to) => format!("use {to} instead"),
            None => cx.api().deprecated.clone(),
        };
        hits.push(
            Hit::at(call.name_span)
                .arg("name", entry.as_str())
                .arg("how", "constructed through an attribute")
                .arg("replacement", help),
        );
    }
}

/// Every use names the item's last segment (aliases are declared in the same file).
pub fn needles(cx: &Needles<'_>) -> Vec<Vec<String>> {
    vec![{ cx.rule.list("paths").iter().filter_map(|p| p.rsplit("::").next()).map(str::to_owned).collect() }]
}
