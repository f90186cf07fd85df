//! The prefilter: skips, without parsing, the files in which no active rule can fire. Each rule
//! names the strings a file must hold for it to fire ([`crate::rules::needles`]): one string of
//! each of its groups. The prefilter fails open: when its automaton cannot be built, every file
//! is parsed.

use aho_corasick::AhoCorasick;

use crate::config::Config;
use crate::frontend::Lang;
use crate::rules::{self, Events, Kind};
use crate::suppress;

/// The strings that decide whether a file of one language is parsed.
pub struct Prefilter {
    needles: Vec<String>,
    /// Per rule, its groups as indexes into `needles`.
    rules: Vec<Vec<Vec<usize>>>,
    automaton: AhoCorasick,
}

/// Why the prefilter could not be built (the files are then all parsed).
#[derive(Debug, thiserror::Error)]
#[error("the prefilter for {lang} files cannot be built ({source}); every file is parsed")]
pub struct PrefilterError {
    lang: &'static str,
    source: aho_corasick::BuildError,
}

impl Prefilter {
    /// The prefilter of the rules that may report on files of `lang` in this configuration.
    pub fn new(config: &Config, events: &Events, lang: Lang) -> Result<Prefilter, PrefilterError> {
        let mut groups_by_rule: Vec<Vec<Vec<String>>> = Vec::new();
        for rule in config.rules_for(lang).iter().filter(|r| config.may_report(&r.def.id)) {
            match rules::needles(&rules::Needles { events, rule }) {
                Some(groups) => groups_by_rule.push(groups),
                None if rule.kind == Kind::UnusedSuppression => {
                    groups_by_rule.push(vec![vec![suppress::MARKER.to_owned()]]);
                }
                None => {}
            }
            // A declared vocabulary's sinks: another way for the rule to fire.
            if let Some(groups) = rules::vocabulary_needles(&rules::Needles { events, rule }) {
                groups_by_rule.push(groups);
            }
        }
        let mut needles: Vec<String> = groups_by_rule.iter().flatten().flatten().cloned().collect();
        needles.sort();
        needles.dedup();
        let index = |n: &String| needles.binary_search(n).unwrap_or_default();
        let rules = groups_by_rule
            .iter()
            .map(|groups| groups.iter().map(|g| g.iter().map(index).collect()).collect())
            .collect();
        let automaton = AhoCorasick::new(&needles)
            .map_err(|source| PrefilterError { lang: lang.spec().display, source })?;
        Ok(Prefilter { needles, rules, automaton })
    }

    /// Every string, sorted (what `--print-prefilter` prints).
    pub fn needles(&self) -> &[String] {
        &self.needles
    }

    /// Whether some active rule may fire in this file.
    pub fn wants(&self, bytes: &[u8]) -> bool {
        let mut found = vec![false; self.needles.len()];
        let satisfied = |found: &[bool]| {
            self.rules.iter().any(|groups| groups.iter().all(|g| g.iter().any(|n| found[*n])))
        };
        for m in self.automaton.find_overlapping_iter(bytes) {
            let n = m.pattern().as_usize();
            if !found[n] {
                found[n] = true;
                if satisfied(&found) {
                    return true;
                }
            }
        }
        false
    }
}
