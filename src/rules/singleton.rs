//! `singleton`: a process-wide manager — a `static` whose type (through `Arc`, `Mutex`, `Lazy` …)
//! is a listed manager type, and zero-argument getters: free functions from a list, and
//! `get_instance`-like associated functions on a listed type. Definitions and call sites.

use super::{Cx, Hit, ListDecl, Needles};

/// Manager types; free getters of a shared manager; getters that return one when called on a manager type.
pub(super) const LISTS: &[ListDecl] =
    &[ListDecl::names("manager-types"), ListDecl::names("getters"), ListDecl::names("type-getters")];

pub fn check(cx: &Cx<'_>, hits: &mut Vec<Hit>) {
    let rule = cx.rule;
    let facts = cx.facts;
    for item in &facts.statics {
        if let Some(ty) = item.type_name.as_deref().filter(|t| rule.listed("manager-types", t)) {
            hits.push(Hit::at(item.name_span).arg("what", format!("static `{}` holds a `{ty}`", item.name)));
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
