//! Front-ends: one per language, each turning a file's text into [`crate::facts::Facts`].

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

/// The languages the linter reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Lang {
    /// `.rs` files, parsed with `syn`.
    Rust,
    /// `.py` and `.pyi` files, parsed with Ruff's parser.
    Python,
}

impl Lang {
    /// Every language.
    pub const ALL: [Lang; 2] = [Lang::Rust, Lang::Python];

    /// The language of a file, by its extension.
    pub fn of(path: &Path) -> Option<Lang> {
        match path.extension()?.to_str()? {
            "rs" => Some(Lang::Rust),
            "py" | "pyi" => Some(Lang::Python),
            _ => None,
        }
    }

    /// The language of a file named by a relative path (`/`-separated); Rust when unknown.
    pub fn of_name(rel: &str) -> Lang {
        Lang::of(Path::new(rel)).unwrap_or(Lang::Rust)
    }

    /// Its name in configuration and on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Lang::Rust => "rust",
            Lang::Python => "python",
        }
    }

    /// The language called `name`.
    pub fn from_name(name: &str) -> Option<Lang> {
        Lang::ALL.into_iter().find(|l| l.name() == name)
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
    /// Its comments (found only when `want_comments`).
    pub comments: Vec<Comment>,
}

/// Parses one file of a language.
pub fn parse(lang: Lang, text: &str, options: &Options, want_comments: bool) -> Parsed {
    match lang {
        Lang::Rust => {
            let facts = rust::parse(text, &options.canonical_crates);
            let comments = if want_comments { crate::comments::rust_comments(text) } else { Vec::new() };
            Parsed { facts, comments }
        }
        Lang::Python => {
            let (facts, comments) = python::parse(text, &options.python);
            Parsed { facts, comments }
        }
    }
}
