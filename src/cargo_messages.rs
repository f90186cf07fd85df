//! The `cargo --message-format=json` stream: one `compiler-message` record per finding, with
//! the real `package_id` and `target` of the file's package from `cargo metadata`, so that
//! rust-analyzer and other cargo consumers show the findings with their quick fixes.

use std::path::Path;

use serde_json::{json, Value};

use crate::diagnostic::{Finding, Severity};
use crate::lint::FileReport;

/// What `cargo metadata` says about the workspace's packages: (manifest dir, package, targets).
fn packages(root: &Path) -> Vec<(std::path::PathBuf, Value)> {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let out = std::process::Command::new(cargo)
        .args(["metadata", "--format-version", "1", "--no-deps", "--offline"])
        .current_dir(root)
        .output();
    let Ok(out) = out else { return Vec::new() };
    let Ok(meta) = serde_json::from_slice::<Value>(&out.stdout) else { return Vec::new() };
    meta["packages"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|p| {
            let dir = Path::new(p["manifest_path"].as_str()?).parent()?.to_owned();
            Some((dir, p.clone()))
        })
        .collect()
}

/// The target a file belongs to: the one whose source folder holds it most closely.
fn target_of<'p>(package: &'p Value, file: &Path) -> Option<&'p Value> {
    package["targets"]
        .as_array()?
        .iter()
        .filter_map(|t| {
            let src = Path::new(t["src_path"].as_str()?);
            let dir = if src == file { src } else { src.parent()? };
            file.starts_with(dir).then_some((dir.components().count() + usize::from(src == file) * 100, t))
        })
        .max_by_key(|(depth, _)| *depth)
        .map(|(_, t)| t)
}

fn line_text(source: &str, line: usize) -> &str {
    source.lines().nth(line.saturating_sub(1)).unwrap_or("")
}

fn message(f: &Finding, source: &str, absolute: &Path) -> Value {
    let level = match f.severity {
        Severity::Error => "error",
        Severity::Warning => "warning",
    };
    let span = |start: crate::source::Position,
                end: crate::source::Position,
                bytes: (usize, usize),
                primary: bool,
                label: Option<&str>,
                replacement: Option<&str>,
                applicability: Option<&str>| {
        json!({
            "file_name": absolute.to_string_lossy(),
            "byte_start": bytes.0,
            "byte_end": bytes.1,
            "line_start": start.line,
            "line_end": end.line,
            "column_start": start.column,
            "column_end": end.column,
            "is_primary": primary,
            "text": [{ "text": line_text(source, start.line), "highlight_start": start.column, "highlight_end": if end.line == start.line { end.column } else { line_text(source, start.line).chars().count() + 1 } }],
            "label": label,
            "suggested_replacement": replacement,
            "suggestion_applicability": applicability,
            "expansion": null,
        })
    };
    let mut spans = vec![span(f.start, f.end, (f.span.start, f.span.end), true, None, None, None)];
    spans.extend(
        f.labels
            .iter()
            .map(|l| span(l.start, l.end, (l.span.start, l.span.end), false, Some(&l.message), None, None)),
    );
    let mut children = vec![
        json!({ "message": f.help, "code": null, "level": "help", "spans": [], "children": [], "rendered": null }),
    ];
    if let Some(fix) = &f.fix {
        let applicability = match fix.applicability {
            crate::fix::Applicability::Safe => "MachineApplicable",
            crate::fix::Applicability::Unsafe => "MaybeIncorrect",
        };
        let spans: Vec<Value> = fix
            .edits
            .iter()
            .map(|e| {
                span(
                    e.start,
                    e.end,
                    (e.span.start, e.span.end),
                    true,
                    None,
                    Some(&e.content),
                    Some(applicability),
                )
            })
            .collect();
        children.push(json!({ "message": "apply the fix", "code": null, "level": "help", "spans": spans, "children": [], "rendered": null }));
    }
    let rendered = format!(
        "{level}[{}]: {}\n  --> {}:{}:{}\n  = help: {}\n",
        f.rule, f.message, f.path, f.start.line, f.start.column, f.help
    );
    json!({
        "$message_type": "diagnostic",
        "message": f.message,
        "code": { "code": f.rule, "explanation": null },
        "level": level,
        "spans": spans,
        "children": children,
        "rendered": rendered,
    })
}

/// The stream: one JSON object per line. Findings in files of no package are left out (said
/// once on standard error).
pub fn render(reports: &[FileReport], root: &Path) -> String {
    let packages = packages(root);
    let mut out = String::new();
    let mut left_out = 0;
    for report in reports {
        let absolute = root.join(&report.rel);
        let absolute = absolute.canonicalize().unwrap_or(absolute);
        let package = packages
            .iter()
            .filter(|(dir, _)| absolute.starts_with(dir))
            .max_by_key(|(dir, _)| dir.components().count());
        let source = report.source.as_deref().unwrap_or("");
        for f in &report.findings {
            let Some((dir, package)) = package else {
                left_out += 1;
                continue;
            };
            let Some(target) = target_of(package, &absolute) else {
                left_out += 1;
                continue;
            };
            let record = json!({
                "reason": "compiler-message",
                "package_id": package["id"],
                "manifest_path": dir.join("Cargo.toml").to_string_lossy(),
                "target": target,
                "message": message(f, source, &absolute),
            });
            out.push_str(&record.to_string());
            out.push('\n');
        }
    }
    if left_out > 0 {
        eprintln!(
            "note: {left_out} finding(s) in files outside any cargo package are left out of the cargo format"
        );
    }
    out
}
