//! The `cpts` binary end to end: outputs, exit codes, and clear errors on bad input.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)] // tests fail by panicking

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn cpts(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_cpts")).args(args).current_dir(root()).output().unwrap()
}

fn text(o: &Output) -> (String, String) {
    (String::from_utf8(o.stdout.clone()).unwrap(), String::from_utf8(o.stderr.clone()).unwrap())
}

fn temp(name: &str, content: &[u8]) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("cpts-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let p = dir.join(name);
    std::fs::write(&p, content).unwrap();
    p
}

#[test]
fn year_table_explains_every_amount() {
    let o = cpts(&["funding", "year", "examples/cpts-exemple.yaml", "--year", "1"]);
    let (out, err) = text(&o);
    assert!(o.status.success(), "{err}");
    assert!(out.contains("taille 2"));
    assert!(out.contains("Total"));
    assert!(out.contains("238 200,69 €"), "{out}");
    assert!(out.contains("Explications"));
    assert!(out.contains("[S] Dotation annuelle de fonctionnement"));
    assert!(out.contains("Marques :"));
}

#[test]
fn year_json_has_cents_lines_and_sources() {
    let o = cpts(&["funding", "year", "examples/cpts-exemple.yaml", "--year", "2", "--json"]);
    assert!(o.status.success());
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let lines = v["lines"].as_array().unwrap();
    let sum: i64 = lines.iter().map(|l| l["amount_cents"].as_i64().unwrap()).sum();
    assert_eq!(v["total_cents"].as_i64().unwrap(), sum);
    assert_eq!(v["tier"], 2);
    assert!(lines.iter().all(|l| !l["explanation"].as_str().unwrap().is_empty()));
    let op = lines.iter().find(|l| l["component"] == "operating").unwrap();
    assert_eq!(op["amount_cents"], 10_500_000);
    assert_eq!(op["sources"][0]["grade"], "S");
    assert_eq!(op["sources"][0]["parameter"], "operating_allocation");
    assert!(op["flags"].as_array().unwrap().iter().any(|f| f.as_str().unwrap().contains("[S]")));
}

#[test]
fn schedule_payments_add_up() {
    let o = cpts(&["funding", "schedule", "examples/cpts-exemple.yaml", "--json"]);
    assert!(o.status.success());
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let paid: i64 = v["payments"].as_array().unwrap().iter().map(|p| p["amount_cents"].as_i64().unwrap()).sum();
    assert_eq!(paid, v["total_entitlement_cents"].as_i64().unwrap());
    assert_eq!(v["payments"][0]["kind"], "one_off");
    assert_eq!(v["payments"][0]["amount_cents"], 1_750_000);
    let table = cpts(&["funding", "schedule", "examples/cpts-exemple.yaml", "--detail"]);
    assert!(text(&table).0.contains("Calcul des versements"));
}

#[test]
fn simulate_lists_each_case_and_the_total() {
    let o = cpts(&["funding", "simulate", "--reform", "projet-cnam-2019-04", "examples"]);
    let (out, err) = text(&o);
    assert!(o.status.success(), "{err}");
    assert!(out.contains("Total (2 contrats)"));
    assert!(out.contains("-240 000,00 €"), "{out}");
    assert!(out.contains("an 1 : 2 → 3"));
    let j = cpts(&["funding", "simulate", "--reform", "projet-cnam-2019-04", "examples", "--json"]);
    let v: serde_json::Value = serde_json::from_slice(&j.stdout).unwrap();
    assert_eq!(v["diff_cents"], -24_000_000);
}

#[test]
fn rules_listing_check_and_case_files() {
    let o = cpts(&["funding", "rules", "--grade", "U", "--json"]);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert!(v.as_array().unwrap().iter().all(|x| x["grade"] == "U" && x["value"] == "inconnu"));
    assert!(cpts(&["funding", "check"]).status.success());
    let t = cpts(&["funding", "test", "tests/funding"]);
    assert!(t.status.success());
    assert!(text(&t).0.contains(" passed, 0 failed"));
}

#[test]
fn bad_case_files_get_clear_errors_and_exit_codes() {
    let bad = temp(
        "bad.yaml",
        b"cpts: x\ncontract:\n  signed: 2020-01-15\n  population: -3\n  missions:\n    - {code: acces, fixed: 1}\n",
    );
    let o = cpts(&["funding", "year", bad.to_str().unwrap()]);
    let (_, err) = text(&o);
    assert_eq!(o.status.code(), Some(2));
    assert!(err.contains("bad.yaml"));
    assert!(err.contains("champ `contract.population` : population négative"));
    assert!(err.contains("champ `contract.missions[0].code` : code de mission inconnu « acces »"));
    assert!(!err.contains("panicked"));

    let latin1 = temp("latin1.yaml", b"cpts: CPTS d'\xe9t\xe9\n");
    let o = cpts(&["funding", "year", latin1.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o).1.contains("pas en UTF-8"));

    let missing = temp(
        "missing.yaml",
        b"cpts: x\ncontract:\n  signed: 2020-01-15\n  population: 1000\n  missions:\n    - {code: acces_soins, start: 2020-01-15, variable: 0}\n",
    );
    let o = cpts(&["funding", "year", missing.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    assert!(text(&o).1.contains("enveloppe fixe manquante"));

    let o = cpts(&["funding", "year", "examples/cpts-exemple.yaml", "--year", "9"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(text(&o).1.contains("le contrat compte 5 années"));

    let o = cpts(&["funding", "simulate", "--reform", "nulle-part", "examples"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o).1.contains("réforme « nulle-part » introuvable"));
}

#[test]
fn utf8_bom_is_accepted() {
    let mut bytes = b"\xef\xbb\xbf".to_vec();
    bytes.extend_from_slice(&std::fs::read(root().join("examples/cpts-2020.yaml")).unwrap());
    let f = temp("bom.yaml", &bytes);
    assert!(cpts(&["funding", "year", f.to_str().unwrap()]).status.success());
}

#[test]
fn a_rules_folder_with_a_gap_is_refused() {
    let dir = std::env::temp_dir().join(format!("cpts-rules-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    for f in ["sources.yaml", "versions.yaml", "missions.yaml"] {
        std::fs::copy(root().join("rules/aci").join(f), dir.join(f)).unwrap();
    }
    let params = std::fs::read_to_string(root().join("rules/aci/parameters.yaml")).unwrap();
    std::fs::write(dir.join("parameters.yaml"), params.replacen("until: 2022-03-30", "until: 2022-03-01", 1)).unwrap();
    let o = cpts(&["--rules", dir.to_str().unwrap(), "funding", "check"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o).1.contains("trou"));
    std::fs::write(dir.join("parameters.yaml"), params).unwrap();
    assert!(cpts(&["--rules", dir.to_str().unwrap(), "funding", "check"]).status.success());
}

#[test]
fn a_closed_pipe_is_not_a_panic() {
    use std::io::Read;
    use std::process::Stdio;
    let mut child = Command::new(env!("CARGO_BIN_EXE_cpts"))
        .args(["funding", "schedule", "examples/cpts-exemple.yaml", "--detail"])
        .current_dir(root())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take()); // the reader goes away at once
    let mut err = String::new();
    child.stderr.take().unwrap().read_to_string(&mut err).unwrap();
    child.wait().unwrap();
    assert!(!err.contains("panicked"), "{err}");
}

fn db(name: &str) -> String {
    let dir = std::env::temp_dir().join(format!("cpts-cli-db-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let p = dir.join(name);
    let _ = std::fs::remove_file(&p);
    p.to_str().unwrap().to_string()
}

#[test]
fn demo_then_list_shows_paris_with_real_populations_and_tiers() {
    let d = db("demo.sqlite");
    let o = cpts(&["--db", &d, "demo"]);
    let (out, err) = text(&o);
    assert!(o.status.success(), "{err}");
    assert!(out.contains("Données de démonstration"));
    let o = cpts(&["--db", &d, "list", "--on", "2021-10-25"]);
    let (out, _) = text(&o);
    let line = out.lines().find(|l| l.starts_with("cpts-paris-18 ")).unwrap();
    assert!(line.contains("183 127") && line.trim_end().ends_with('4'), "{line}");
    let centre = out.lines().find(|l| l.starts_with("cpts-paris-centre ")).unwrap();
    assert!(centre.contains("94 472") && centre.trim_end().ends_with('3'), "{centre}");
    assert_eq!(out.lines().filter(|l| l.starts_with("cpts-") || l.starts_with("projet-")).count(), 17);
    // Loading the demo again changes nothing.
    assert!(text(&cpts(&["--db", &d, "demo"])).0.contains("0 ajoutée(s), 17 déjà présente(s)"));
    assert!(text(&cpts(&["--db", &d, "territory", "overlaps"])).0.contains("Aucun chevauchement"));
}

#[test]
fn territory_edits_report_overlaps_and_refuse_stale_or_bad_input() {
    let d = db("edit.sqlite");
    assert!(cpts(&["--db", &d, "demo"]).status.success());
    assert!(cpts(&["--db", &d, "create", "CPTS Test Nord", "--seat", "Paris 18e Arrondissement"]).status.success());
    let o = cpts(&[
        "--db",
        &d,
        "territory",
        "set",
        "cpts-test-nord",
        "--version",
        "1",
        "75118",
        "Paris 17e Arrondissement",
    ]);
    let (out, err) = text(&o);
    assert!(o.status.success(), "{err}");
    assert!(out.contains("chevauchement avec cpts-paris-18 : 1 commune(s), 183 127 habitants"), "{out}");
    let o = text(&cpts(&["--db", &d, "territory", "overlaps"])).0;
    assert!(o.contains("2 chevauchement(s)"), "{o}");
    // A save from the stale version 1 is refused, and nothing changes.
    let o = cpts(&["--db", &d, "territory", "set", "cpts-test-nord", "--version", "1", "75101"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o).1.contains("modifiée par quelqu'un d'autre"));
    let o = cpts(&["--db", &d, "territory", "set", "cpts-test-nord", "--version", "2", "99999", "Saint-Denis"]);
    assert_eq!(o.status.code(), Some(2));
    let err = text(&o).1;
    assert!(err.contains("code INSEE inconnu") && err.contains("plusieurs communes"), "{err}");
    let show = text(&cpts(&["--db", &d, "show", "cpts-test-nord"])).0;
    assert!(show.contains("version 2") && show.contains("75117") && show.contains("75118"), "{show}");
    let o = cpts(&["--db", &d, "create", "Mauvais", "--siret", "73282932000075"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o).1.contains("clé de contrôle"));
}
