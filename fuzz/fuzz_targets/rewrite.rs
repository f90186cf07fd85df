//! The pattern matcher and rewriter: any pattern and template against any file
//! (`pattern NUL template NUL file`). Checking a rewrite, matching it and applying its fix never
//! panic, and every edit lies inside the file, on character boundaries.
#![no_main]

use cargo_agent_events::fix::{self, Applicability};
use cargo_agent_events::frontend::rust::check_nesting;
use cargo_agent_events::lint;
use cargo_agent_events::rewrite::{self, Rewrite, RewriteDef};
use cargo_agent_events::source::Span;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let mut parts = text.splitn(3, '\0');
    let (Some(pattern), Some(replace), Some(file)) = (parts.next(), parts.next(), parts.next()) else {
        return;
    };
    let def = RewriteDef {
        pattern: pattern.to_owned(),
        replace: replace.to_owned(),
        applicability: Applicability::Safe,
        uses: Vec::new(),
    };
    let Ok(rewrite) = Rewrite::new(def) else { return };
    if check_nesting(file).is_err() {
        return;
    }
    lint::on_worker_stack(|| {
        let Ok(ast) = syn::parse_file(file) else { return };
        let middle = (0..=file.len() / 2).rev().find(|&i| file.is_char_boundary(i)).unwrap_or(0);
        for within in [Span { start: 0, end: file.len() }, Span { start: middle, end: file.len() }] {
            if let Some(found) = rewrite::fix_for(&rewrite, file, &ast, within) {
                for edit in &found.edits {
                    let Span { start, end } = edit.span;
                    assert!(start <= end && end <= file.len(), "edit {start}..{end} outside the file");
                    assert!(
                        file.is_char_boundary(start) && file.is_char_boundary(end),
                        "edit inside a character"
                    );
                }
                fix::apply(file, &[&found]);
            }
        }
    });
});
