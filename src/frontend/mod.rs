//! Front-ends: one per language, each turning a file's text into [`crate::facts::Facts`].
//!
//! [`Language`] is the one table of what varies by language: a language is one entry of
//! [`LANGUAGES`] plus its front-end module; the rest of the linter asks the table.

use std::path::Path;

use crate::comments::Comment;
use crate::facts::Facts;
use crate::source::Span;

pub mod builder;
pub mod python;
pub mod rust;

/// A file that does not parse.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError {
    /// What the parser said.
    pub message: String,
    /// Where.
    pub span: Span,
}

/// The languages the linter reads; what each one is lives in its [`Language`] entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Lang {
    /// `.rs` files, parsed with `syn`.
    Rust,
    /// `.py` and `.pyi` files, parsed with Ruff's parser.
    Python,
}

/// How the module path of a file is found (canonical code is recognised by it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ModulePath {
    /// The crate named by the nearest `Cargo.toml`, then the modules under its `src/`.
    Crate,
    /// The dotted path from the project root, without a leading `src` (`app/events/adapter.py`
    /// → `app.events.adapter`).
    Dotted,
}

/// Everything the linter knows of one language.
pub struct Language {
    /// Which language.
    pub lang: Lang,
    /// Its name in configuration, on the command line and in rule files (`[lang.<name>]`).
    pub name: &'static str,
    /// Its name in messages.
    pub display: &'static str,
    /// The extensions of its files, without the dot.
    pub extensions: &'static [&'static str],
    /// What starts a line comment (suppressions are written in one).
    pub line_comment: &'static str,
    /// Parses a file into facts and, when asked, its comments.
    pub parse: fn(&str, &Options, bool) -> Parsed,
    /// The check `fix` runs before writing a fixed file: `Err` with the parser's message when
    /// the text no longer parses.
    pub reparses: fn(&str) -> Result<(), String>,
    /// How a file's module path is found.
    pub module_path: ModulePath,
    /// Whether configured rewrites apply to its files (each rewrite whose pattern is written in
    /// the language).
    pub rewrites: bool,
}

/// The languages, in the order of [`Lang::ALL`].
pub static LANGUAGES: [Language; 2] = [
    Language {
        lang: Lang::Rust,
        name: "rust",
        display: "Rust",
        extensions: &["rs"],
        line_comment: "//",
        parse: |text, options, want_comments| {
            let facts = rust::parse(text, &options.canonical_crates);
            let comments = if want_comments { crate::comments::rust_comments(text) } else { Vec::new() };
            Parsed { facts, comments }
        },
        reparses: rust_reparses,
        module_path: ModulePath::Crate,
        rewrites: true,
    },
    Language {
        lang: Lang::Python,
        name: "python",
        display: "Python",
        extensions: &["py", "pyi"],
        line_comment: "#",
        parse: |text, options, _| {
            let (facts, comments) = python::parse(text, &options.python);
            Parsed { facts, comments }
        },
        reparses: |text| python::parse(text, &python::Options::default()).0.map(drop).map_err(|e| e.message),
        module_path: ModulePath::Dotted,
        rewrites: true,
    },
];

/// Whether a Rust file parses (within the nesting limit), as `syn` reads it.
fn rust_reparses(text: &str) -> Result<(), String> {
    rust::check_nesting(text).map_err(|e| e.message)?;
    let parsed = syn::parse_file(text.strip_prefix('\u{feff}').unwrap_or(text)).map(drop);
    proc_macro2::extra::invalidate_current_thread_spans();
    parsed.map_err(|e| e.to_string())
}

impl Lang {
    /// Every language.
    pub const ALL: [Lang; 2] = [Lang::Rust, Lang::Python];

    /// Its entry in the language table.
    pub fn spec(self) -> &'static Language {
        &LANGUAGES[self.index()]
    }

    /// Its position in [`Lang::ALL`], for tables kept per language.
    pub fn index(self) -> usize {
        self as usize
    }

    /// The language of a file, by its extension.
    pub fn of(path: &Path) -> Option<Lang> {
        let ext = path.extension()?.to_str()?;
        LANGUAGES.iter().find(|l| l.extensions.contains(&ext)).map(|l| l.lang)
    }

    /// The language of a file named by a relative path (`/`-separated); Rust when unknown.
    pub fn of_name(rel: &str) -> Lang {
        Lang::of(Path::new(rel)).unwrap_or(Lang::Rust)
    }

    /// Its name in configuration and on the command line.
    pub fn name(self) -> &'static str {
        self.spec().name
    }

    /// The language called `name`.
    pub fn from_name(name: &str) -> Option<Lang> {
        Lang::ALL.into_iter().find(|l| l.name() == name)
    }

    /// The names of every language, for messages (`rust, python`).
    pub fn names() -> String {
        Lang::ALL.map(Lang::name).join(", ")
    }
}

/// What the front-ends need besides the text.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Crates whose paths are canonical (Rust).
    pub canonical_crates: Vec<String>,
    /// The Python front-end's options.
    pub python: python::Options,
}

/// A parsed file: its facts or its first syntax error, and its comments.
pub struct Parsed {
    /// The facts, or why there are none.
    pub facts: Result<Facts, ParseError>,
    /// Its comments; a front-end that reads comments only on request leaves this empty unless
    /// asked (`want_comments`).
    pub comments: Vec<Comment>,
}

/// Parses one file of a language.
pub fn parse(lang: Lang, text: &str, options: &Options, want_comments: bool) -> Parsed {
    (lang.spec().parse)(text, options, want_comments)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_is_in_the_order_of_lang_all() {
        for lang in Lang::ALL {
            assert_eq!(lang.spec().lang, lang);
            assert_eq!(Lang::from_name(lang.name()), Some(lang));
        }
        assert_eq!(Lang::of(Path::new("a/b.pyi")), Some(Lang::Python));
        assert_eq!(Lang::of(Path::new("a/b.rs")), Some(Lang::Rust));
        assert_eq!(Lang::of(Path::new("a/b.txt")), None);
    }
}
