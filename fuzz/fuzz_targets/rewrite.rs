//! The pattern matcher and rewriter: any pattern and template against any file
//! (`pattern NUL template NUL file`). Checking a rewrite, matching it and applying its fix never
//! panic, and every edit lies inside the file, on character boundaries.
#![no_main]

use cargo_agent_events::fix::{self, Applicability};
use cargo_agent_events::frontend::rust::check_nesting;
use cargo_agent_events::lint;
use cargo_agent_events::rewrite::{self, Rewrite, RewriteDef};

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let Some((pattern, replace, file)) = fuzz_support::rewrite_input(data) else { return };
    let def = RewriteDef { pattern, replace, applicability: Applicability::Safe, uses: Vec::new() };
    let Ok(rewrite) = Rewrite::new(def) else { return };
    if check_nesting(&file).is_err() {
        return;
    }
    lint::on_worker_stack(|| {
        let Ok(ast) = syn::parse_file(&file) else { return };
        for within in fuzz_support::rewrite_ranges(&file) {
            if let Some(found) = rewrite::fix_for(&rewrite, &file, &ast, within) {
                fuzz_support::check_edits(&file, &found);
                fix::apply(&file, &[&found]);
            }
        }
    });
});
