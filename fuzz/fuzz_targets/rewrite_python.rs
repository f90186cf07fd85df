//! The Python pattern matcher and rewriter: any pattern and template against any file
//! (`pattern NUL template NUL file`). Checking a rewrite, matching it and applying its fix never
//! panic; every edit lies inside the file, on character boundaries; and a rewrite written for
//! every language, once it applies, leaves a file that parses.
#![no_main]

use cargo_agent_events::fix::{self, Applicability};
use cargo_agent_events::frontend::Lang;
use cargo_agent_events::rewrite::{python, Rewrite, RewriteDef};
use cargo_agent_events::source::Span;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let mut parts = text.splitn(3, '\0');
    let (Some(pattern), Some(replace), Some(file)) = (parts.next(), parts.next(), parts.next()) else {
        return;
    };
    let (pattern, replace, file) = (pattern.to_owned(), replace.to_owned(), file.to_owned());
    fuzz_support::on_stack(move || {
        let def = RewriteDef { pattern, replace, applicability: Applicability::Safe, uses: Vec::new() };
        let shared = Rewrite::new(def.clone()).ok().filter(|r| r.applies_to(Lang::Python));
        let rewrites = [Rewrite::new_python(def).ok(), shared];
        let middle = (0..=file.len() / 2).rev().find(|&i| file.is_char_boundary(i)).unwrap_or(0);
        for (k, rewrite) in rewrites.iter().enumerate() {
            let Some(rewrite) = rewrite else { continue };
            for within in [Span { start: 0, end: file.len() }, Span { start: middle, end: file.len() }] {
                let Some(found) = python::fix_in(rewrite, &file, within) else { continue };
                for edit in &found.edits {
                    let Span { start, end } = edit.span;
                    assert!(start <= end && end <= file.len(), "edit {start}..{end} outside the file");
                    assert!(
                        file.is_char_boundary(start) && file.is_char_boundary(end),
                        "edit inside a character"
                    );
                }
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
