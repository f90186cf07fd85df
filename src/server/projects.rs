//! The projects a session's documents belong to: each found as `check` finds it (the nearest
//! ancestor with `agent-events.toml`, a workspace `Cargo.toml` or `pyproject.toml`), its
//! configuration loaded once and its linter built once, reused for every document.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::config::{Config, ConfigError};
use crate::discover::{find_root, relative, source_lang, Packages};
use crate::lint::Linter;

/// One project: its linter, or why its configuration could not be loaded.
pub struct Project {
    /// The root.
    pub root: PathBuf,
    /// The linter, or the configuration's error.
    pub linter: Result<Arc<Linter<'static>>, ConfigError>,
    packages: Packages,
}

/// What to lint a document as.
pub struct Lintable {
    /// The linter.
    pub linter: Arc<Linter<'static>>,
    /// The path relative to the project root.
    pub rel: String,
    /// Its module path.
    pub module: Vec<String>,
}

/// The file names whose change reloads the configuration.
pub const CONFIG_FILES: [&str; 3] = ["agent-events.toml", "Cargo.toml", "pyproject.toml"];

/// Whether a path is one of [`CONFIG_FILES`].
pub fn is_config_file(path: &Path) -> bool {
    path.file_name().is_some_and(|name| CONFIG_FILES.iter().any(|c| name == *c))
}

/// The projects seen so far, by root.
#[derive(Default)]
pub struct Projects {
    by_root: HashMap<PathBuf, Project>,
    /// Each folder's root, found once (not on every keystroke).
    root_of: HashMap<PathBuf, PathBuf>,
}

impl Projects {
    /// The project of a folder (the root itself, or a folder in it).
    pub fn of_dir(&mut self, dir: &Path) -> &mut Project {
        let root = self.root_of.entry(dir.to_owned()).or_insert_with(|| find_root(dir, dir)).clone();
        self.by_root.entry(root.clone()).or_insert_with(|| {
            let linter = Config::load(&root, None).map(|config| Arc::new(Linter::shared(Arc::new(config))));
            Project { root, linter, packages: Packages::default() }
        })
    }

    /// How to lint the file at `path`: `None` when its project's configuration is invalid, or the
    /// file is not one the project lints (another language, excluded, not included).
    pub fn lintable(&mut self, path: &Path) -> Option<Lintable> {
        let dir = path.parent()?;
        let project = self.of_dir(dir);
        let linter = project.linter.as_ref().ok()?;
        let config: &Config = linter.config();
        source_lang(path, config)?;
        let rel = relative(&project.root, path);
        // As discovery walks: a folder excluded excludes what is in it.
        let exclude = config.exclude_set();
        let mut folders = rel.match_indices('/').map(|(i, _)| &rel[..i]);
        if !config.wants(&rel) || folders.any(|folder| exclude.is_match(folder)) {
            return None;
        }
        let module = project.packages.module_of(path, &rel);
        Some(Lintable { linter: Arc::clone(linter), rel, module })
    }

    /// Every project's configuration error.
    pub fn errors(&self) -> impl Iterator<Item = &ConfigError> {
        self.by_root.values().filter_map(|p| p.linter.as_ref().err())
    }

    /// Forgets every project: their configuration is read again when next asked for.
    pub fn clear(&mut self) {
        self.by_root.clear();
        self.root_of.clear();
    }
}
