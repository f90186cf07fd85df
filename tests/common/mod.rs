//! What the fixture tests share: the expectation marks of a fixture.

use std::collections::BTreeSet;
use std::path::Path;

/// A finding's place and rule: `(path relative to the fixture, 1-based line, rule id)`.
pub type Site = (String, usize, String);

/// The marks of a fixture: in every file with extension `ext`, a line holding `marker` (`// expect: `
/// or `# expect: `) followed by comma-separated rule ids; then the lines of `expect-extra.txt`
/// (`path:line: rule`) for findings whose line cannot carry a mark.
pub fn marks(root: &Path, ext: &str, marker: &str) -> BTreeSet<Site> {
    let mut marks = BTreeSet::new();
    let mut stack = vec![root.to_owned()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                let name = path.file_name().unwrap().to_string_lossy();
                if !name.starts_with('.') && name != "target" && name != "__pycache__" {
                    stack.push(path);
                }
                continue;
            }
            if path.extension().is_none_or(|e| e != ext) {
                continue;
            }
            let rel = path.strip_prefix(root).unwrap().to_string_lossy().replace('\\', "/");
            for (i, line) in std::fs::read_to_string(&path).unwrap().lines().enumerate() {
                if let Some((_, rules)) = line.split_once(marker) {
                    for rule in rules.split(',') {
                        marks.insert((rel.clone(), i + 1, rule.trim().to_owned()));
                    }
                }
            }
        }
    }
    for line in std::fs::read_to_string(root.join("expect-extra.txt")).unwrap().lines() {
        if line.trim().is_empty() {
            continue;
        }
        let (place, rule) = line.split_once(": ").unwrap();
        let (path, line) = place.rsplit_once(':').unwrap();
        marks.insert((path.to_owned(), line.parse().unwrap(), rule.trim().to_owned()));
    }
    marks
}
