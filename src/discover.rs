//! Which files a run lints: the project root, the files under the given paths (honouring
//! `.gitignore`, skipping `target/` and configured excludes, never following symlinked folders),
//! and the crate module each file belongs to.

use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};

use ignore::WalkBuilder;
use serde::Deserialize;

use crate::config::Config;
use crate::frontend::{Lang, ModulePath};

/// One file to lint.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Target {
    /// The path relative to the project root, `/`-separated.
    pub rel: String,
    /// The path on disk.
    pub path: PathBuf,
    /// The module the file is (`crate_name::a::b`), when it belongs to a Cargo package.
    pub module: Vec<String>,
}

/// A path that cannot be linted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DiscoverError {
    /// The path.
    pub path: PathBuf,
    /// What is wrong.
    pub message: String,
    /// Whether the run stops: a path given on the command line that is not there. A folder that
    /// cannot be read while walking is skipped with a warning.
    pub fatal: bool,
}

/// The project root: the nearest ancestor of `start` holding `agent-events.toml`, a workspace
/// `Cargo.toml` or `pyproject.toml`; else the nearest holding any `Cargo.toml`; else `cwd`.
pub fn find_root(start: &Path, cwd: &Path) -> PathBuf {
    let start = if start.is_absolute() { start.to_owned() } else { cwd.join(start) };
    let start = start.canonicalize().unwrap_or(start);
    let dir = if start.is_file() { start.parent().map(Path::to_owned).unwrap_or(start) } else { start };
    let mut package = None;
    for ancestor in dir.ancestors() {
        if ancestor.join("agent-events.toml").is_file() || ancestor.join("pyproject.toml").is_file() {
            return ancestor.to_owned();
        }
        let manifest = ancestor.join("Cargo.toml");
        if manifest.is_file() {
            let text = std::fs::read_to_string(&manifest).unwrap_or_default();
            if text.lines().any(|l| l.trim() == "[workspace]") {
                return ancestor.to_owned();
            }
            package.get_or_insert_with(|| ancestor.to_owned());
        }
    }
    // No marker: the current folder, when the path is inside it; else the path's own folder (a
    // tree linted from elsewhere is not given the configuration of wherever the linter runs).
    package.unwrap_or_else(|| {
        let cwd = cwd.canonicalize().unwrap_or_else(|_| cwd.to_owned());
        if dir.starts_with(&cwd) {
            cwd
        } else {
            dir
        }
    })
}

/// `path` relative to `root`, `/`-separated (the path itself when outside the root).
pub fn relative(root: &Path, path: &Path) -> String {
    let rel = path.strip_prefix(root).unwrap_or(path);
    let parts: Vec<_> = rel
        .components()
        .filter(|c| !matches!(c, std::path::Component::RootDir))
        .map(|c| c.as_os_str().to_string_lossy())
        .collect();
    let joined = parts.join("/");
    if rel.has_root() {
        format!("/{joined}")
    } else {
        joined
    }
}

#[derive(Deserialize)]
struct Manifest {
    package: Option<Package>,
}

#[derive(Deserialize)]
struct Package {
    name: String,
}

/// Finds the package a file belongs to, caching per folder.
#[derive(Default)]
pub struct Packages {
    by_dir: HashMap<PathBuf, Option<(PathBuf, String)>>,
}

impl Packages {
    fn package_of(&mut self, dir: &Path) -> Option<(PathBuf, String)> {
        if let Some(found) = self.by_dir.get(dir) {
            return found.clone();
        }
        let manifest = dir.join("Cargo.toml");
        let here = std::fs::read_to_string(&manifest)
            .ok()
            .and_then(|text| toml::from_str::<Manifest>(&text).ok())
            .and_then(|m| m.package)
            .map(|p| (dir.to_owned(), p.name.replace('-', "_")));
        let found = here.or_else(|| dir.parent().and_then(|parent| self.package_of(parent)));
        self.by_dir.insert(dir.to_owned(), found.clone());
        found
    }

    /// The module path of a file, as its language finds it ([`ModulePath`]): its crate and the
    /// modules under `src/`, or its dotted module from the project root (`rel`).
    pub fn module_of(&mut self, path: &Path, rel: &str) -> Vec<String> {
        match Lang::of(path).map(|l| l.spec().module_path) {
            Some(ModulePath::Dotted) => dotted_module(rel),
            Some(ModulePath::Crate) | None => self.crate_module_of(path),
        }
    }

    fn crate_module_of(&mut self, path: &Path) -> Vec<String> {
        let Some((dir, name)) = path.parent().and_then(|p| self.package_of(p)) else { return Vec::new() };
        let mut module = vec![name];
        if let Ok(rest) = path.strip_prefix(dir.join("src")) {
            let parts: Vec<String> =
                rest.components().map(|c| c.as_os_str().to_string_lossy().into_owned()).collect();
            for (i, part) in parts.iter().enumerate() {
                match part.strip_suffix(".rs") {
                    _ if i + 1 < parts.len() => module.push(part.clone()),
                    Some("lib" | "main") if i == 0 => {}
                    Some("mod") | None => {}
                    Some(stem) => module.push(stem.to_owned()),
                }
            }
        }
        module
    }
}

/// `app/events/adapter.py` → `["app", "events", "adapter"]`; `pkg/__init__.py` → `["pkg"]`.
pub fn dotted_module(rel: &str) -> Vec<String> {
    let mut parts: Vec<String> = rel.split('/').map(str::to_owned).collect();
    if let Some(last) = parts.last_mut() {
        let stem = last.rsplit_once('.').map_or(last.as_str(), |(stem, _)| stem).to_owned();
        *last = stem;
    }
    if parts.last().is_some_and(|p| p == "__init__") {
        parts.pop();
    }
    if parts.len() > 1 && parts[0] == "src" {
        parts.remove(0);
    }
    parts
}

/// The language of a file the front-ends read, if it is one and its language is linted.
pub fn source_lang(path: &Path, config: &Config) -> Option<Lang> {
    Lang::of(path).filter(|l| config.lints(*l))
}

/// Every file to lint under `paths`, sorted by relative path, each once.
pub fn discover(root: &Path, paths: &[PathBuf], config: &Config) -> (Vec<Target>, Vec<DiscoverError>) {
    let mut seen = BTreeSet::new();
    let mut targets = Vec::new();
    let mut errors = Vec::new();
    let mut packages = Packages::default();
    for given in paths {
        if !given.exists() {
            let message = if given.symlink_metadata().is_ok() {
                "a symbolic link that leads nowhere (a loop, or a missing target)"
            } else {
                "no such file or directory"
            };
            errors.push(DiscoverError { path: given.clone(), message: message.into(), fatal: true });
            continue;
        }
        let given_is_file = given.is_file();
        // Walked paths below a canonical start are canonical too (links are not followed).
        let given = &given.canonicalize().unwrap_or_else(|_| given.clone());
        let root_owned = root.to_owned();
        let mut walker = WalkBuilder::new(given);
        walker.hidden(false).follow_links(false).require_git(false).git_global(false).parents(true);
        let exclude = config.exclude_set();
        let walk_root = root_owned.clone();
        let skip_dirs = move |entry: &ignore::DirEntry| {
            if entry.depth() == 0 || !entry.file_type().is_some_and(|t| t.is_dir()) {
                return true;
            }
            let name = entry.file_name();
            !(name == "target" || name == ".git" || exclude.is_match(relative(&walk_root, entry.path())))
        };
        walker.filter_entry(skip_dirs);
        for entry in walker.build() {
            let entry = match entry {
                Ok(entry) => entry,
                Err(e) => {
                    errors.push(DiscoverError { path: given.clone(), message: e.to_string(), fatal: false });
                    continue;
                }
            };
            let path = entry.path();
            if !entry.file_type().is_some_and(|t| t.is_file())
                || !((given_is_file && Lang::of(path).is_none_or(|l| config.lints(l)))
                    || source_lang(path, config).is_some())
            {
                continue;
            }
            let absolute = path.to_owned();
            let rel = relative(&root_owned, &absolute);
            if !given_is_file && !config.wants(&rel) {
                continue;
            }
            if seen.insert(absolute.clone()) {
                let module = packages.module_of(&absolute, &rel);
                targets.push(Target { rel, path: path.to_owned(), module });
            }
        }
    }
    targets.sort();
    (targets, errors)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn module_paths_follow_the_src_layout() {
        let dir = std::env::temp_dir().join(format!("agent-events-modules-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("src/events")).unwrap();
        std::fs::write(dir.join("Cargo.toml"), "[package]\nname = \"my-app\"\n").unwrap();
        let mut packages = Packages::default();
        let mut module = |p: &str| packages.module_of(&dir.join(p), p);
        assert_eq!(module("src/lib.rs"), ["my_app"]);
        assert_eq!(module("src/events/mod.rs"), ["my_app", "events"]);
        assert_eq!(module("src/events/bridge.rs"), ["my_app", "events", "bridge"]);
        assert_eq!(module("tests/it.rs"), ["my_app"]);
        std::fs::remove_dir_all(&dir).unwrap();
        assert_eq!(relative(Path::new("/a/b"), Path::new("/a/b/c/d.rs")), "c/d.rs");
        assert_eq!(relative(Path::new("/a/b"), Path::new("/x/y.rs")), "/x/y.rs");
        assert_eq!(dotted_module("app/events/adapter.py"), ["app", "events", "adapter"]);
        assert_eq!(dotted_module("src/app/__init__.py"), ["app"]);
        assert_eq!(dotted_module("tests/test_x.py"), ["tests", "test_x"]);
    }

    #[test]
    fn a_tree_without_markers_outside_the_current_folder_is_its_own_root() {
        let base = std::env::temp_dir().join(format!("agent-events-roots-{}", std::process::id()));
        let (here, there) = (base.join("here"), base.join("there/app"));
        std::fs::create_dir_all(&here).unwrap();
        std::fs::create_dir_all(&there).unwrap();
        let there = there.canonicalize().unwrap();
        let here = here.canonicalize().unwrap();
        assert_eq!(find_root(&there, &here), there);
        assert_eq!(find_root(&here.join("sub"), &here), here);
        std::fs::remove_dir_all(&base).unwrap();
    }
}
