//! Report formats: `human` (miette), `short` (`path:line:col: level[rule] message`), `json`,
//! `sarif`, `github` (workflow commands) and `cargo` (`--message-format=json` messages).

use std::fmt;
use std::sync::Arc;

use miette::{Diagnostic, GraphicalReportHandler, GraphicalTheme, LabeledSpan, NamedSource, SourceCode};
use serde_json::json;

use crate::diagnostic::{Finding, Severity};
use crate::lint::FileReport;

/// A report format.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// Code frames with labels, help and a docs line.
    Human,
    /// One line per finding.
    Short,
    /// One JSON array.
    Json,
    /// SARIF 2.1.0, for code scanning.
    Sarif,
    /// GitHub Actions workflow commands (annotations).
    Github,
    /// The `cargo --message-format=json` stream, for rust-analyzer and other cargo consumers.
    Cargo,
}

/// What some formats need besides the findings.
pub struct Context<'a> {
    /// The project root (SARIF's `%SRCROOT%`, where `cargo metadata` runs).
    pub root: &'a std::path::Path,
    /// Every rule, for SARIF's rule table.
    pub rules: &'a [crate::rules::ActiveRule],
    /// How the user runs this program (`cargo agent-events`), for the commands help suggests.
    pub program: &'a str,
}

struct Rendered<'a> {
    finding: &'a Finding,
    program: &'a str,
    source: NamedSource<Arc<str>>,
    /// The rule's note at the main span (the title is the message).
    label: Option<&'a str>,
}

impl fmt::Debug for Rendered<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.finding.message)
    }
}

impl fmt::Display for Rendered<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.finding.message)
    }
}

impl std::error::Error for Rendered<'_> {}

impl Diagnostic for Rendered<'_> {
    fn code<'b>(&'b self) -> Option<Box<dyn fmt::Display + 'b>> {
        Some(Box::new(&self.finding.rule))
    }

    fn severity(&self) -> Option<miette::Severity> {
        Some(match self.finding.severity {
            Severity::Warning => miette::Severity::Warning,
            Severity::Error => miette::Severity::Error,
        })
    }

    fn help<'b>(&'b self) -> Option<Box<dyn fmt::Display + 'b>> {
        let program = self.program;
        let fixable = match self.finding.fix.as_ref().map(|f| f.applicability) {
            Some(crate::fix::Applicability::Safe) => format!("\nfixable: {program} fix"),
            Some(crate::fix::Applicability::Unsafe) => format!("\nfixable: {program} fix --unsafe-fixes"),
            None => String::new(),
        };
        Some(Box::new(format!(
            "{}{fixable}\ndocs: {program} explain {}",
            self.finding.help, self.finding.rule
        )))
    }

    fn source_code(&self) -> Option<&dyn SourceCode> {
        Some(&self.source)
    }

    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        let f = self.finding;
        // The title already says what is wrong: the main span gets the rule's own note, if any.
        let primary = LabeledSpan::new_primary_with_span(
            self.label.map(str::to_owned),
            (f.span.start, f.span.end - f.span.start),
        );
        let others = f.labels.iter().map(|l| {
            LabeledSpan::new_with_span(Some(l.message.clone()), (l.span.start, l.span.end - l.span.start))
        });
        Some(Box::new(std::iter::once(primary).chain(others)))
    }
}

/// Renders findings in `format`. `color` selects the human theme.
pub fn render(reports: &[FileReport], format: Format, color: bool, cx: &Context<'_>) -> String {
    let findings = reports.iter().flat_map(|r| r.findings.iter().map(move |f| (r, f)));
    match format {
        Format::Sarif => sarif(reports, cx),
        Format::Github => findings.map(|(_, f)| github(f)).collect(),
        Format::Cargo => crate::cargo_messages::render(reports, cx.root),
        Format::Short => {
            let mut out = String::new();
            for (_, f) in findings {
                let fixable = if f.fix.is_some() { " [*]" } else { "" };
                out.push_str(&format!(
                    "{}:{}:{}: {}[{}] {}{fixable}\n",
                    f.path,
                    f.start.line,
                    f.start.column,
                    f.severity.as_str(),
                    f.rule,
                    f.message
                ));
            }
            out
        }
        Format::Json => {
            let items: Vec<serde_json::Value> = findings.map(|(_, f)| to_json(f)).collect();
            let mut text = serde_json::to_string_pretty(&items).unwrap_or_else(|_| "[]".into());
            text.push('\n');
            text
        }
        Format::Human => {
            let theme = if color { GraphicalTheme::unicode() } else { GraphicalTheme::unicode_nocolor() };
            let handler = GraphicalReportHandler::new_themed(theme).with_width(100).with_links(false);
            let mut out = String::new();
            for (report, f) in findings {
                let text = report.source.clone().unwrap_or_else(|| Arc::from(""));
                let label = f.note.as_deref().or_else(|| {
                    cx.rules.iter().find(|r| r.def.id == f.rule).and_then(|r| r.def.label.as_deref())
                });
                let source = NamedSource::new(&f.path, text);
                let rendered = Rendered { finding: f, program: cx.program, source, label };
                let mut one = String::new();
                if handler.render_report(&mut one, &rendered).is_err() {
                    one = format!("{}:{}:{}: {}\n", f.path, f.start.line, f.start.column, f.message);
                }
                out.push_str(&one);
                out.push('\n');
            }
            out
        }
    }
}

/// One finding as DESIGN.md's JSON element.
pub fn to_json(f: &Finding) -> serde_json::Value {
    json!({
        "rule": f.rule,
        "level": f.severity.as_str(),
        "path": f.path,
        "line": f.start.line,
        "column": f.start.column,
        "end_line": f.end.line,
        "end_column": f.end.column,
        "message": f.message,
        "help": f.help,
        "fix": f.fix.as_ref().map(|fix| json!({
            "applicability": fix.applicability,
            "edits": fix.edits.iter().map(|e| json!({
                "line": e.start.line,
                "column": e.start.column,
                "end_line": e.end.line,
                "end_column": e.end.column,
                "content": e.content,
            })).collect::<Vec<_>>(),
        })),
    })
}

/// The closing summary line of a human report; `held`: with a baseline, how many findings
/// it held back.
pub fn summary(reports: &[FileReport], files: usize, held: Option<usize>) -> String {
    let errors = reports.iter().flat_map(|r| &r.findings).filter(|f| f.severity == Severity::Error).count();
    let warnings =
        reports.iter().flat_map(|r| &r.findings).filter(|f| f.severity == Severity::Warning).count();
    let plural = |n: usize, word: &str| if n == 1 { format!("{n} {word}") } else { format!("{n} {word}s") };
    let line =
        format!("{}, {} in {}", plural(errors, "error"), plural(warnings, "warning"), plural(files, "file"));
    match held {
        Some(n) => format!("{line}; {}", baselined(n)),
        None => line,
    }
}

/// `3 findings in the baseline not shown`.
pub fn baselined(n: usize) -> String {
    let findings = if n == 1 { "finding" } else { "findings" };
    format!("{n} {findings} in the baseline not shown")
}

/// Escapes a workflow-command message (`%`, CR, LF).
fn escape_data(s: &str) -> String {
    s.replace('%', "%25").replace('\r', "%0D").replace('\n', "%0A")
}

/// Escapes a workflow-command property (also `:` and `,`).
fn escape_property(s: &str) -> String {
    escape_data(s).replace(':', "%3A").replace(',', "%2C")
}

/// One GitHub Actions annotation.
fn github(f: &Finding) -> String {
    let command = match f.severity {
        Severity::Error => "error",
        Severity::Warning => "warning",
    };
    format!(
        "::{command} file={},line={},col={},endLine={},endColumn={},title={}::{}\n",
        escape_property(&f.path),
        f.start.line,
        f.start.column,
        f.end.line,
        f.end.column,
        escape_property(&f.rule),
        escape_data(&format!("{} ({})", f.message, f.help))
    )
}

fn sarif_region(start: crate::source::Position, end: crate::source::Position) -> serde_json::Value {
    json!({ "startLine": start.line, "startColumn": start.column, "endLine": end.line, "endColumn": end.column })
}

/// SARIF 2.1.0: one run, the rule table with help, results with fingerprints and fixes.
fn sarif(reports: &[FileReport], cx: &Context<'_>) -> String {
    let rules: Vec<serde_json::Value> = cx
        .rules
        .iter()
        .map(|r| {
            let level = match r.def.level {
                crate::rules::Level::Deny => "error",
                crate::rules::Level::Warn => "warning",
                crate::rules::Level::Allow => "none",
            };
            json!({
                "id": r.def.id,
                "shortDescription": { "text": r.def.summary },
                "fullDescription": { "text": r.def.docs.what.trim() },
                "help": { "text": r.def.docs.why.trim(), "markdown": crate::rules::explain::explain(&r.def) },
                "defaultConfiguration": { "level": level },
            })
        })
        .collect();
    let index = |id: &str| cx.rules.iter().position(|r| r.def.id == id);
    let results: Vec<serde_json::Value> = reports
        .iter()
        .flat_map(|r| &r.findings)
        .map(|f| {
            let location = json!({ "uri": f.path, "uriBaseId": "%SRCROOT%" });
            let mut result = json!({
                "ruleId": f.rule,
                "level": f.severity.as_str(),
                "message": { "text": format!("{} ({})", f.message, f.help) },
                "locations": [{ "physicalLocation": { "artifactLocation": location, "region": sarif_region(f.start, f.end) } }],
                "partialFingerprints": { "agentEventsFingerprint/v1": f.fingerprint() },
            });
            if let Some(i) = index(&f.rule) {
                result["ruleIndex"] = json!(i);
            }
            if let Some(fix) = &f.fix {
                let replacements: Vec<serde_json::Value> = fix
                    .edits
                    .iter()
                    .map(|e| json!({ "deletedRegion": sarif_region(e.start, e.end), "insertedContent": { "text": e.content } }))
                    .collect();
                let description = match fix.applicability {
                    crate::fix::Applicability::Safe => "safe fix",
                    crate::fix::Applicability::Unsafe => "unsafe fix: review the result",
                };
                result["fixes"] = json!([{
                    "description": { "text": description },
                    "artifactChanges": [{ "artifactLocation": location, "replacements": replacements }],
                }]);
            }
            result
        })
        .collect();
    let log = json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": { "driver": {
                "name": "cargo-agent-events",
                "version": env!("CARGO_PKG_VERSION"),
                "semanticVersion": env!("CARGO_PKG_VERSION"),
                "rules": rules,
            } },
            "originalUriBaseIds": { "%SRCROOT%": { "uri": format!("file://{}/", cx.root.display()) } },
            "columnKind": "unicodeCodePoints",
            "results": results,
        }],
    });
    let mut text = serde_json::to_string_pretty(&log).unwrap_or_default();
    text.push('\n');
    text
}
