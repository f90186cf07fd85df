//! `singleton`: a process-wide manager — a `static` whose type (through `Arc`, `Mutex`, `Lazy` …)
//! is a listed manager type, and zero-argument getters: free functions from a list, and
//! `get_instance`-like associated functions on a listed type. Definitions and call sites.

use super::{Cx, Hit, ListDecl, Needles};

/// Manager types; free getters of a shared manager; getters that return one when called on a manager type.
pub(super) const LISTS: &[ListDecl] =
    &[ListDecl::names("manager-types"), ListDecl::names("getters"), ListDecl::names("type-getters")];

pub fn check(cx: &Cx<'_>, hits: &mut Vec<Hit>) {
    find(cx, hits);
    if hits.len() < 2 {
        return;
    }
    // One finding per line (`MANAGER.get().unwrap_or_else(|| FALLBACK_MANAGER.clone())` is one
    // site): the first.
    let newlines: Vec<usize> = cx.text.match_indices('\n').map(|(i, _)| i).collect();
    let mut lines = std::collections::HashSet::new();
    hits.sort_by_key(|h| h.span.start);
    hits.retain(|h| lines.insert(newlines.partition_point(|&n| n < h.span.start)));
}

fn find(cx: &Cx<'_>, hits: &mut Vec<Hit>) {
    let rule = cx.rule;
    let facts = cx.facts;
    let mut managers = std::collections::HashSet::new();
    for item in &facts.statics {
        if let Some(ty) = item.type_name.as_deref().filter(|t| rule.listed("manager-types", t)) {
            hits.push(
                Hit::at(item.name_span)
                    .arg("what", format!("static `{}` holds {} `{ty}`", item.name, super::article(ty))),
            );
            // Uses are followed for names in upper case (`SHARED_MANAGER`), which a local name
            // does not shadow by convention.
            if item.name.chars().all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_') {
                managers.insert(item.name.as_str());
            }
        }
    }
    // The static used directly: `SHARED_MANAGER.read().unwrap().send_…(…)`, once per use.
    if !managers.is_empty() {
        let mut seen = std::collections::HashSet::new();
        for call in facts.calls.iter().filter(|c| c.is_method()) {
            let Some(chain) = &call.receiver else { continue };
            let crate::facts::Root::Ident(name) = &chain.root else { continue };
            if managers.contains(name.as_str()) && seen.insert(chain.root_span) {
                hits.push(
                    Hit::at(chain.root_span).arg("what", format!("`{name}` is a process-wide manager")),
                );
            }
        }
    }
    for f in facts.fns.iter().filter(|f| f.params == 0 && !f.has_self) {
        let what = match &f.owner {
            None if rule.listed("getters", &f.name) => format!("`{}()` returns a shared manager", f.name),
            Some(owner) if rule.listed("manager-types", owner) && rule.listed("type-getters", &f.name) => {
                format!("`{owner}::{}()` returns a shared manager", f.name)
            }
            _ => continue,
        };
        hits.push(Hit::at(f.name_span).arg("what", what));
    }
    for call in facts.calls.iter().filter(|c| c.args.is_empty() && !c.canonical) {
        let Some(path) = &call.path else { continue };
        let what = match path.as_slice() {
            [.., ty, getter] if rule.listed("manager-types", ty) && rule.listed("type-getters", getter) => {
                format!("`{ty}::{getter}()` reaches a shared manager")
            }
            [.., getter] if rule.listed("getters", getter) => {
                format!("`{getter}()` reaches a shared manager")
            }
            _ => continue,
        };
        hits.push(Hit::at(call.span).arg("what", what));
    }
}

/// A manager static names its type; a getter call or definition names the getter (an alias is
/// declared in the same file, naming it too).
pub fn needles(cx: &Needles<'_>) -> Vec<Vec<String>> {
    vec![{ cx.rule.list("manager-types").iter().chain(cx.rule.list("getters")).cloned().collect() }]
}
