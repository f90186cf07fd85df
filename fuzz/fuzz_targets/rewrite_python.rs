//! The Python pattern matcher and rewriter: any pattern and template against any file
//! (`pattern NUL template NUL file`). Checking a rewrite, matching it and applying its fix never
//! panic; every edit lies inside the file, on character boundaries; and a rewrite written for
//! every language, once it applies, leaves a file that parses.
#![no_main]

use cargo_agent_events::fix::{self, Applicability};
use cargo_agent_events::frontend::Lang;
use cargo_agent_events::rewrite::{python, Rewrite, RewriteDef};

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let Some((pattern, replace, file)) = fuzz_support::rewrite_input(data) else { return };
    fuzz_support::on_stack(move || {
        let def = RewriteDef { pattern, replace, applicability: Applicability::Safe, uses: Vec::new() };
        let shared = Rewrite::new(def.clone()).ok().filter(|r| r.applies_to(Lang::Python));
        let rewrites = [Rewrite::new_python(def).ok(), shared];
        for (k, rewrite) in rewrites.iter().enumerate() {
            let Some(rewrite) = rewrite else { continue };
            for within in fuzz_support::rewrite_ranges(&file) {
                let Some(found) = python::fix_in(rewrite, &file, within) else { continue };
                fuzz_support::check_edits(&file, &found);
                let (fixed, applied, _) = fix::apply(&file, &[&found]);
                if k == 1 && applied > 0 {
                    assert!(
                        (Lang::Python.spec().reparses)(&fixed).is_ok(),
                        "the result does not parse:\n{fixed}"
                    );
                }
            }
        }
    });
});
