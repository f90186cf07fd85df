//! Migration progress: canonical emission sites (bridge, guard and macro calls) against legacy
//! sites (places with findings), per rule, per crate and per file.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{json, Value};

use crate::discover::Target;
use crate::facts::Facts;
use crate::frontend::Lang;
use crate::lint::FileReport;
use crate::rules::canonical::Api;

/// Canonical sites in a file, as its language's canonical API says (`rules/canonical.toml`):
/// calls of the runtime's emitting methods, functions the macros instrument, and calls of the
/// project's canonical adapter.
pub fn canonical_sites(facts: &Facts, lang: Lang) -> usize {
    let api = Api::of(lang);
    let calls = facts
        .calls
        .iter()
        .filter(|c| {
            (api.canonical_calls_are_sites && c.canonical)
                || (c.is_method() && api.site_methods.contains(&c.name))
        })
        .count();
    let agent_impls: BTreeSet<&str> = facts
        .impl_attrs
        .iter()
        .filter(|(_, attrs)| attrs.iter().any(|a| api.agent_impl_attributes.contains(a)))
        .map(|(name, _)| name.as_str())
        .collect();
    let instrumented = facts
        .fns
        .iter()
        .filter(|f| {
            let inside = f.owner.as_deref().is_some_and(|o| agent_impls.contains(o));
            f.attrs.iter().any(|a| {
                api.site_attributes.contains(a) || (inside && api.agent_impl_site_attributes.contains(a))
            })
        })
        .count();
    calls + instrumented
}

#[derive(Default, Clone, Copy)]
struct Tally {
    canonical: usize,
    legacy: usize,
}

impl Tally {
    fn percent(self) -> Option<f64> {
        let total = self.canonical + self.legacy;
        (total > 0).then(|| self.canonical as f64 * 100.0 / total as f64)
    }

    fn json(self) -> Value {
        json!({ "canonical": self.canonical, "legacy": self.legacy, "migrated_percent": self.percent().map(|p| (p * 10.0).round() / 10.0) })
    }
}

/// The figures of a run.
pub struct Stats {
    total: Tally,
    by_rule: BTreeMap<String, usize>,
    by_crate: BTreeMap<String, Tally>,
    by_file: BTreeMap<String, Tally>,
}

/// Legacy sites are the distinct lines with findings (several rules on one line are one site);
/// `parse-error` and `unused-suppression` findings are not sites.
pub fn collect(targets: &[Target], reports: &[(FileReport, usize)]) -> Stats {
    let mut stats = Stats {
        total: Tally::default(),
        by_rule: BTreeMap::new(),
        by_crate: BTreeMap::new(),
        by_file: BTreeMap::new(),
    };
    for (target, (report, canonical)) in targets.iter().zip(reports) {
        let findings: Vec<_> = report
            .findings
            .iter()
            .filter(|f| f.rule != "parse-error" && f.rule != "unused-suppression")
            .collect();
        for f in &findings {
            *stats.by_rule.entry(f.rule.clone()).or_default() += 1;
        }
        let legacy = findings.iter().map(|f| f.start.line).collect::<BTreeSet<_>>().len();
        let tally = Tally { canonical: *canonical, legacy };
        if tally.canonical + tally.legacy == 0 {
            continue;
        }
        let krate = target.module.first().cloned().unwrap_or_else(|| "(no crate)".into());
        for slot in
            [stats.by_crate.entry(krate).or_default(), stats.by_file.entry(target.rel.clone()).or_default()]
        {
            slot.canonical += tally.canonical;
            slot.legacy += tally.legacy;
        }
        stats.total.canonical += tally.canonical;
        stats.total.legacy += tally.legacy;
    }
    stats
}

fn percent(t: Tally) -> String {
    t.percent().map_or_else(|| "–".to_owned(), |p| format!("{p:.1}%"))
}

impl Stats {
    /// A summary for the terminal.
    pub fn human(&self) -> String {
        let mut out = format!(
            "migrated: {} ({} canonical sites, {} legacy sites)\n",
            percent(self.total),
            self.total.canonical,
            self.total.legacy
        );
        out.push_str("\nfindings by rule:\n");
        for (rule, n) in &self.by_rule {
            out.push_str(&format!("  {rule:<24} {n:>5}\n"));
        }
        for (title, rows) in [("by crate", &self.by_crate), ("by file", &self.by_file)] {
            out.push_str(&format!(
                "\n{:<40}{:>10}{:>8}{:>10}\n",
                format!("{title}:"),
                "canonical",
                "legacy",
                "migrated"
            ));
            for (name, t) in rows {
                out.push_str(&format!(
                    "  {name:<38.38}{:>10}{:>8}{:>10}\n",
                    t.canonical,
                    t.legacy,
                    percent(*t)
                ));
            }
        }
        out
    }

    /// Tables for a pull-request comment or `$GITHUB_STEP_SUMMARY`.
    pub fn markdown(&self) -> String {
        let mut out = format!(
            "### Agent-event migration: {} migrated\n\n{} canonical emission sites, {} legacy sites.\n\n| rule | findings |\n|---|---:|\n",
            percent(self.total),
            self.total.canonical,
            self.total.legacy
        );
        for (rule, n) in &self.by_rule {
            out.push_str(&format!("| `{rule}` | {n} |\n"));
        }
        for (title, rows) in [("crate", &self.by_crate), ("file", &self.by_file)] {
            out.push_str(&format!("\n| {title} | canonical | legacy | migrated |\n|---|---:|---:|---:|\n"));
            for (name, t) in rows {
                out.push_str(&format!("| `{name}` | {} | {} | {} |\n", t.canonical, t.legacy, percent(*t)));
            }
        }
        out
    }

    /// For dashboards.
    pub fn json(&self) -> Value {
        let rows = |m: &BTreeMap<String, Tally>| -> Value {
            Value::Object(m.iter().map(|(k, t)| (k.clone(), t.json())).collect())
        };
        json!({
            "total": self.total.json(),
            "by_rule": self.by_rule,
            "by_crate": rows(&self.by_crate),
            "by_file": rows(&self.by_file),
        })
    }
}
