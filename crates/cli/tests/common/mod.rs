//! Running the `cpts` binary from the end-to-end tests.

#![allow(dead_code)] // each test binary uses its own subset

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

pub fn cpts(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_cpts")).args(args).current_dir(root()).output().unwrap()
}

pub fn text(o: &Output) -> (String, String) {
    (String::from_utf8(o.stdout.clone()).unwrap(), String::from_utf8(o.stderr.clone()).unwrap())
}

/// Run a command on a database.
pub fn on_db(d: &str, args: &[&str]) -> Output {
    let mut all = vec!["--db", d];
    all.extend_from_slice(args);
    cpts(&all)
}

/// Run a command on a database; assert it succeeds; return its output.
pub fn ok(d: &str, args: &[&str]) -> String {
    let o = on_db(d, args);
    let (out, err) = text(&o);
    assert!(o.status.success(), "{args:?} : {err}");
    out
}

/// Run a command that must be refused with exit code 2 (not a panic); return its error.
pub fn refused(d: &str, args: &[&str]) -> String {
    let o = on_db(d, args);
    let (out, err) = text(&o);
    assert_eq!(o.status.code(), Some(2), "{args:?} aurait dû être refusé : {out}{err}");
    assert!(!err.contains("panicked"), "{err}");
    err
}

/// `contract sign` of an annex by the CPAM, co-signed by the ARS.
pub fn sign_args<'a>(id: &'a str, annex: &'a str, on: &'a str) -> [&'a str; 13] {
    ["contract", "sign", id, "--file", annex, "--on", on, "--as", "cpam", "--by", "CPAM", "--cosigned-by", "ars"]
}
