//! The web application in a real browser: `cpts serve --demo` on a free port, then
//! crates/web/tests/browser/run.mjs (playwright-core driving Debian's Chromium, axe-core) walks
//! each demo role's journeys, checks accessibility and rewrites docs/screenshots/.
//!
//! Needs node and /usr/bin/chromium (`.ci/run` installs them). Without them the test says
//! « skipped: … » and passes, except under CI (CI set), where it fails.

use std::fs::File;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use crate::common::root;

/// The demo server, killed (and its temporary store removed) when dropped.
struct Server {
    child: Child,
    url: String,
    /// `login=password`, one per demo account.
    accounts: Vec<String>,
    log: PathBuf,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        // `serve --demo` keeps its store in <tmp>/cpts-demo-<pid>.
        let _ = std::fs::remove_dir_all(std::env::temp_dir().join(format!("cpts-demo-{}", self.child.id())));
    }
}

fn scratch() -> PathBuf {
    let dir = std::env::temp_dir().join(format!("cpts-cli-browser-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Start `cpts serve --demo --bind 127.0.0.1:0`; read the accounts and the address it prints.
fn serve() -> Server {
    let log = scratch().join("serve.stderr");
    let mut child = Command::new(env!("CARGO_BIN_EXE_cpts"))
        .args(["serve", "--demo", "--bind", "127.0.0.1:0"])
        .current_dir(root())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(File::create(&log).unwrap())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let mut server = Server { child, url: String::new(), accounts: vec![], log };
    // A thread reads stdout to its end (the pipe never fills); lines come through a channel so
    // that a server that never says where it listens fails the test instead of hanging it.
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let deadline = Instant::now() + Duration::from_secs(180);
    let mut said = String::new();
    while server.url.is_empty() {
        let left = deadline.saturating_duration_since(Instant::now());
        let Ok(line) = rx.recv_timeout(left) else {
            let err = std::fs::read_to_string(&server.log).unwrap_or_default();
            panic!("cpts serve --demo n'a pas donné son adresse :\n{said}\n{err}");
        };
        said.push_str(&line);
        said.push('\n');
        if let Some(rest) = line.strip_prefix("cpts sert sur ") {
            server.url = rest.split_whitespace().next().unwrap().to_owned();
        } else if let Some(account) = demo_account(&line) {
            server.accounts.push(account);
        }
    }
    assert_eq!(server.accounts.len(), 5, "comptes de démonstration attendus : 5\n{said}");
    server
}

/// `  <login> <password>  <role> (<scope>)` → `login=password`.
fn demo_account(line: &str) -> Option<String> {
    let rest = line.strip_prefix("  ")?;
    let mut words = rest.split_whitespace();
    let (login, password) = (words.next()?, words.next()?);
    password.starts_with("demo-").then(|| format!("{login}={password}"))
}

/// Something the browser tests need is missing: fail under CI, else say it and skip.
fn missing(what: &str) {
    let ci = std::env::var_os("CI").is_some_and(|v| !v.is_empty());
    assert!(!ci, "tests dans le navigateur impossibles sous CI : {what} (.ci/run doit l'installer)");
    // Straight to stderr: libtest's capture would hide the line from a developer.
    let _ = writeln!(std::io::stderr(), "skipped: tests dans le navigateur — {what}");
}

fn has_node() -> bool {
    Command::new("node")
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// node_modules missing, or older than package-lock.json (a dependency changed since `npm ci`).
fn npm_deps_stale(dir: &Path) -> bool {
    let modified = |p: &Path| std::fs::metadata(p).and_then(|m| m.modified()).ok();
    match (modified(&dir.join("node_modules/.package-lock.json")), modified(&dir.join("package-lock.json"))) {
        (Some(installed), Some(wanted)) => installed < wanted,
        _ => true,
    }
}

fn chromium() -> PathBuf {
    std::env::var_os("CPTS_CHROMIUM").map_or_else(|| PathBuf::from("/usr/bin/chromium"), PathBuf::from)
}

/// Run `cmd` with its output in `out`, killed after `limit`; its exit status and output.
fn run_logged(mut cmd: Command, out: &Path, limit: Duration) -> (bool, String) {
    let file = File::create(out).unwrap();
    let mut child = cmd.stdin(Stdio::null()).stdout(file.try_clone().unwrap()).stderr(file).spawn().unwrap();
    let deadline = Instant::now() + limit;
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break Some(s);
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    let mut text = std::fs::read_to_string(out).unwrap_or_default();
    if status.is_none() {
        text.push_str(&format!("\n(arrêté au bout de {} s)", limit.as_secs()));
    }
    (status.is_some_and(|s| s.success()), text)
}

#[test]
fn journeys_accessibility_and_screenshots() {
    let chromium = chromium();
    if !chromium.exists() {
        missing(&format!("Chromium absent ({}) : apt-get install chromium", chromium.display()));
        return;
    }
    if !has_node() {
        missing("node absent : apt-get install nodejs npm");
        return;
    }
    let dir = root().join("crates/web/tests/browser");
    if npm_deps_stale(&dir) {
        let mut npm = Command::new("npm");
        npm.args(["ci", "--no-audit", "--no-fund"]).current_dir(&dir);
        let (ok, out) = run_logged(npm, &scratch().join("npm-ci.log"), Duration::from_secs(300));
        assert!(ok, "npm ci dans {} :\n{out}", dir.display());
    }
    let server = serve();
    let mut node = Command::new("node");
    node.arg("run.mjs")
        .current_dir(&dir)
        .env("CPTS_URL", &server.url)
        .env("CPTS_ACCOUNTS", server.accounts.join(" "))
        .env("CPTS_CHROMIUM", &chromium)
        .env("CPTS_SCREENSHOTS", root().join("docs/screenshots"));
    let (ok, out) = run_logged(node, &scratch().join("run.log"), Duration::from_secs(600));
    println!("{out}");
    let server_log = std::fs::read_to_string(&server.log).unwrap_or_default();
    assert!(ok, "tests dans le navigateur en échec :\n{out}\n--- journal du serveur ---\n{server_log}");
    for shot in ["connexion", "coordinateur-tableau-de-bord", "cpam-tableau-de-bord", "cpam-cpts-paris-18"] {
        assert!(root().join(format!("docs/screenshots/{shot}.png")).exists(), "capture {shot}.png absente");
    }
}
