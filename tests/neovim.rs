//! A real editor drives the language server: headless Neovim, its built-in LSP client started on
//! a copy of the legacy fixture, opens a file, waits for the diagnostics, applies the quick fix
//! of one and saves. The file on disk must then be what `cargo agent-events fix` writes.
//!
//! Without Neovim (`nvim`) the test says so and is skipped, unless
//! `AGENT_EVENTS_REQUIRE_SERVICES=1` (as CI sets, after installing it): then it fails.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

const SCRIPT: &str = r#"
local bin, root, file, report = os.getenv('AE_BIN'), os.getenv('AE_ROOT'), os.getenv('AE_FILE'), os.getenv('AE_REPORT')
local function finish(line)
  local f = io.open(report, 'w')
  f:write(line)
  f:close()
  vim.cmd('qall!')
end
vim.cmd('edit ' .. vim.fn.fnameescape(file))
local id = vim.lsp.start_client({
  name = 'agent-events',
  cmd = { bin, 'server' },
  root_dir = root,
  workspace_folders = { { uri = vim.uri_from_fname(root), name = 'root' } },
})
if not id then return finish('FAIL the client did not start') end
vim.lsp.buf_attach_client(0, id)
local found
local seen = vim.wait(60000, function()
  for _, d in ipairs(vim.diagnostic.get(0)) do
    if d.code == 'unused-suppression' then found = d return true end
  end
  return false
end, 50)
if not seen then return finish('FAIL no unused-suppression diagnostic; got ' .. vim.inspect(vim.diagnostic.get(0))) end
local count = #vim.diagnostic.get(0)
local params = vim.lsp.util.make_given_range_params(
  { found.lnum + 1, found.col }, { found.end_lnum + 1, found.end_col }, 0, 'utf-16')
params.context = { diagnostics = {}, only = { 'quickfix' } }
local results = vim.lsp.buf_request_sync(0, 'textDocument/codeAction', params, 60000)
local applied = false
for _, res in pairs(results or {}) do
  for _, action in ipairs(res.result or {}) do
    if not applied and action.title == 'Fix `unused-suppression`' and action.edit then
      vim.lsp.util.apply_workspace_edit(action.edit, 'utf-16')
      applied = true
    end
  end
end
if not applied then return finish('FAIL no quick fix in ' .. vim.inspect(results)) end
vim.cmd('write')
vim.lsp.stop_client(id)
vim.wait(5000, function() return vim.lsp.get_client_by_id(id) == nil end, 50)
finish('OK ' .. count)
"#;

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            if entry.file_name() != "target" {
                copy_dir(&entry.path(), &target);
            }
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

fn neovim() -> Option<PathBuf> {
    let found = Command::new("nvim").arg("--version").output().is_ok_and(|o| o.status.success());
    if found {
        return Some(PathBuf::from("nvim"));
    }
    let required = std::env::var_os("AGENT_EVENTS_REQUIRE_SERVICES").is_some_and(|v| v == "1");
    assert!(!required, "Neovim (`nvim`) is not installed, and AGENT_EVENTS_REQUIRE_SERVICES=1 requires it");
    eprintln!(
        "SKIPPED: Neovim (`nvim`) is not installed (`apt-get install neovim`); the editor test did not run"
    );
    None
}

#[test]
fn neovim_applies_a_quick_fix_and_saves() {
    let Some(nvim) = neovim() else { return };
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/legacy-backend");
    let dir = tempfile::tempdir().unwrap();
    let (edited, expected) = (dir.path().join("edited"), dir.path().join("expected"));
    copy_dir(&fixture, &edited);
    copy_dir(&fixture, &expected);
    let edited = edited.canonicalize().unwrap();
    let binary = env!("CARGO_BIN_EXE_cargo-agent-events");

    let script = dir.path().join("drive.lua");
    std::fs::write(&script, SCRIPT).unwrap();
    let report = dir.path().join("report.txt");
    let file = edited.join("src/tools.rs");
    let mut child = Command::new(nvim)
        .args(["--headless", "-n", "-i", "NONE", "-u", "NONE", "-c"])
        .arg(format!("luafile {}", script.display()))
        .env("AE_BIN", binary)
        .env("AE_ROOT", &edited)
        .env("AE_FILE", &file)
        .env("AE_REPORT", &report)
        .current_dir(&edited)
        .spawn()
        .expect("start Neovim");
    let deadline = Instant::now() + Duration::from_secs(180);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("Neovim did not finish in 180 s");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let outcome = std::fs::read_to_string(&report)
        .unwrap_or_else(|_| format!("no report (Neovim exited with {status})"));
    assert!(outcome.starts_with("OK "), "{outcome}");
    let count: usize = outcome[3..].trim().parse().unwrap();
    assert!(count > 5, "the file's diagnostics: {count}");

    // What `fix` writes for the file (its only safe fix is that one).
    let fixed = Command::new(binary).args(["fix", "src/tools.rs"]).current_dir(&expected).output().unwrap();
    assert!(fixed.status.success(), "{}", String::from_utf8_lossy(&fixed.stderr));
    let want = std::fs::read_to_string(expected.join("src/tools.rs")).unwrap();
    let got = std::fs::read_to_string(&file).unwrap();
    assert_ne!(
        got,
        std::fs::read_to_string(fixture.join("src/tools.rs")).unwrap(),
        "the file was saved changed"
    );
    assert_eq!(got, want, "the editor's quick fix writes what `fix` writes");
}
