//! The `cpts` binary end to end: outputs, exit codes, and clear errors on bad input.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)] // tests fail by panicking

mod browser;
mod common;
mod faults;

use std::path::PathBuf;
use std::process::Command;

use common::{cpts, ok, on_db, refused, root, sign_args, text};

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
    // One total everywhere, the lettre d'intention payment said apart: the schedule's total, its
    // yearly table (a line for the letter, before the contract) and `funding simulate`.
    let out = text(&cpts(&["funding", "schedule", "examples/cpts-exemple.yaml"])).0;
    assert!(
        out.contains("Total versé 1 783 700,69 € = droits 1 783 700,69 €, dont 17 500,00 € versés à la validation de la lettre d'intention"),
        "{out}"
    );
    let row = |start: &str| out.lines().find(|l| l.starts_with(start)).unwrap_or_else(|| panic!("{out}")).to_string();
    assert!(row("lettre d'intention").contains("20/04/2022") && row("lettre d'intention").ends_with("17 500,00 €"));
    assert!(row("Total  ").ends_with("1 783 700,69 €"), "{out}");
    let sim = text(&cpts(&["funding", "simulate", "--reform", "projet-cnam-2019-04", "examples/cpts-exemple.yaml"])).0;
    assert!(sim.contains("lettre d'intention compris") && sim.contains("1 783 700,69 €"), "{sim}");
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
fn hostile_case_reform_and_test_files_are_refused_quickly_in_french() {
    // 80 000 nested brackets (160 KB): refused at once, naming the line.
    let deep = temp("deep.yaml", format!("cpts: x\ncontract: {}", "[".repeat(80_000)).as_bytes());
    let started = std::time::Instant::now();
    let o = cpts(&["funding", "year", deep.to_str().unwrap()]);
    let (_, err) = text(&o);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(err.contains("ligne 2") && err.contains("imbrication trop profonde"), "{err}");
    assert!(started.elapsed().as_secs() < 2);

    // A system file given as a reform: named as not a reform, its content never quoted.
    let passwd =
        temp("passwd", b"root:$6$Zx8secret$hash:0:0:root:/root:/bin/bash\nbin:x:2:2::/bin:/usr/sbin/nologin\n");
    let o = cpts(&["funding", "simulate", "--reform", passwd.to_str().unwrap(), "examples"]);
    let (_, err) = text(&o);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(err.contains("n'est pas une réforme cpts") && !err.contains("Zx8secret"), "{err}");

    // Amounts in hexadecimal: refused, naming the field.
    let case = std::fs::read_to_string(root().join("examples/cpts-2020.yaml")).unwrap();
    let hex = temp("hex.yaml", case.replace("fixed: 40000", "fixed: 0x10").as_bytes());
    let (_, err) = text(&cpts(&["funding", "year", hex.to_str().unwrap()]));
    assert!(err.contains("contract.missions[0].fixed") && err.contains("« 0x10 »"), "{err}");

    // A test run that ran no test is a failure.
    let empty = temp("empty-tests.yaml", b"tests: []\n");
    let o = cpts(&["funding", "test", empty.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    assert!(text(&o).1.contains("aucun test exécuté"));
    let dir = std::env::temp_dir().join(format!("cpts-cli-{}-no-tests", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let o = cpts(&["funding", "test", dir.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    assert!(text(&o).1.contains("aucun test exécuté"));
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
fn demo_national_writes_a_labelled_synthetic_france_into_the_store_given_once() {
    // Three CPTS: the first stages only (the whole France is docs/synthetic.md's command).
    let d = db("national.sqlite");
    let o = cpts(&["demo", "--national", "--cpts", "3", "--store", &d]);
    let (out, err) = text(&o);
    assert!(o.status.success(), "{err}");
    assert!(out.contains("France SYNTHÉTIQUE") && out.contains("3 CPTS sur"), "{out}");
    let list = ok(&d, &["list"]);
    assert_eq!(list.lines().filter(|l| l.starts_with("cpts-synth-") && l.contains("CPTS synthétique")).count(), 3, "{list}");
    // Written once: a second run says the store already holds it, and writes nothing.
    let o = cpts(&["demo", "--national", "--cpts", "3", "--store", &d]);
    assert_eq!(o.status.code(), Some(1));
    assert!(text(&o).1.contains("contient déjà la France synthétique"), "{}", text(&o).1);
    // Its options go with --national only.
    let o = cpts(&["demo", "--cpts", "3"]);
    assert_eq!(o.status.code(), Some(2));
    let _ = std::fs::remove_file(&d);
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
    let o = cpts(&["--db", &d, "create", "Mauvais", "--siret", "12345678900016"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o).1.contains("clé de contrôle"));
}

const MEMBERS_HEADER: &str = "Nom;Prénom;PROFESSION;N° RPPS;Commune d'exercice;Date d'adhésion\n";

#[test]
fn member_files_import_export_and_round_trip() {
    let d = db("members.sqlite");
    assert!(cpts(&["--db", &d, "demo"]).status.success());
    let mut bytes = b"\xef\xbb\xbf".to_vec();
    bytes.extend_from_slice(
        format!("{MEMBERS_HEADER}Martin;Anne;Infirmière;10000000009;75118;01/03/2021\nDurand;Paul;médecin généraliste;;Paris 17e Arrondissement;2021-04-15\nLeroy;Julie;pharmacienne;;Paris 18e;2021-05-01\n").as_bytes(),
    );
    let f = temp("good.csv", &bytes);
    let o = cpts(&["--db", &d, "members", "import", "cpts-paris-18", f.to_str().unwrap()]);
    let (out, err) = text(&o);
    assert!(o.status.success(), "{err}");
    // « Paris 18e » is how `cpts list` prints the arrondissement: a file may name it so.
    assert!(out.contains("3 membre(s) importé(s)") && out.contains("1 exerce(nt) hors du territoire"), "{out}");
    // Export to XLSX, import into another CPTS: the same members.
    let x = std::env::temp_dir().join(format!("cpts-cli-{}/m.xlsx", std::process::id()));
    assert!(cpts(&["--db", &d, "members", "export", "cpts-paris-18", "-o", x.to_str().unwrap()]).status.success());
    assert!(cpts(&["--db", &d, "members", "import", "cpts-paris-17", x.to_str().unwrap()]).status.success());
    let a = text(&cpts(&["--db", &d, "members", "list", "cpts-paris-18"])).0;
    let b = text(&cpts(&["--db", &d, "members", "list", "cpts-paris-17"])).0;
    assert_eq!(a.lines().skip(1).filter(|l| l.contains("Martin") || l.contains("Durand")).count(), 2);
    assert!(b.contains("Martin") && b.contains("10000000009") && b.contains("15/04/2021"), "{b}");
    // A CSV export reads back too.
    let c = std::env::temp_dir().join(format!("cpts-cli-{}/m.csv", std::process::id()));
    assert!(cpts(&["--db", &d, "members", "export", "cpts-paris-17", "-o", c.to_str().unwrap()]).status.success());
    assert!(std::fs::read(&c).unwrap().starts_with(b"\xef\xbb\xbfNom;"));
    // Importing the same file again adds nothing (members without RPPS included) and is not refused.
    let o = cpts(&["--db", &d, "members", "import", "cpts-paris-18", f.to_str().unwrap()]);
    assert!(o.status.success(), "{}", text(&o).1);
    assert!(text(&o).0.contains("0 ajout(s), 0 correction(s), 0 départ(s), 3 inchangé(s)"), "{}", text(&o).0);
    assert!(text(&cpts(&["--db", &d, "members", "list", "cpts-paris-18"])).0.contains("3 membre(s)"));
}

#[test]
fn members_are_corrected_ended_removed_and_replaced_from_an_edited_export() {
    let d = db("members-edit.sqlite");
    ok(&d, &["create", "CPTS Edit"]);
    let f = temp(
        "edit.csv",
        format!("{MEMBERS_HEADER}Martin;Anne;infirmier;10000000009;75118;01/03/2021\nDurand;Paul;médecin généraliste;;75118;15/04/2021\nLeroy;Julie;pharmacien;;75118;01/05/2021\n").as_bytes(),
    );
    ok(&d, &["members", "import", "cpts-edit", f.to_str().unwrap()]);
    // A departure: shown in its column, not counted among the active members.
    let out = ok(&d, &["members", "leave", "cpts-edit", "1", "--on", "30/06/2023"]);
    assert!(out.contains("Départ enregistré : Anne Martin (n° 1) le 30/06/2023"), "{out}");
    let list = ok(&d, &["members", "list", "cpts-edit"]);
    assert!(list.contains("2 membre(s) actif(s)") && list.contains("1 autre(s)") && list.contains("30/06/2023"), "{list}");
    assert!(list.contains("Départ"), "{list}");
    // A correction and a removal, both kept in the history.
    let out = ok(&d, &["members", "edit", "cpts-edit", "2", "--first-name", "Pierre"]);
    assert!(out.contains("Membre n° 2 corrigé (Prénom)"), "{out}");
    ok(&d, &["members", "remove", "cpts-edit", "3"]);
    let history = ok(&d, &["members", "history", "cpts-edit"]);
    assert!(history.contains("Paul") && history.contains("suppression") && history.contains("Leroy"), "{history}");
    assert!(refused(&d, &["members", "edit", "cpts-edit", "9", "--last-name", "X"]).contains("membre n° 9 introuvable"));
    // An edited export: refused in an addition (saying why), shown then applied in replacement.
    let x = std::env::temp_dir().join(format!("cpts-cli-{}/edit-export.csv", std::process::id()));
    ok(&d, &["members", "export", "cpts-edit", "-o", x.to_str().unwrap()]);
    let exported = std::fs::read_to_string(&x).unwrap();
    let edited = exported.replace("Pierre", "Jean") + "Petit;Léa;infirmier;;75118;01/01/2024;\n";
    let edited = edited.lines().filter(|l| !l.starts_with("Martin")).collect::<Vec<_>>().join("\n");
    std::fs::write(&x, edited).unwrap();
    let e = refused(&d, &["members", "import", "cpts-edit", x.to_str().unwrap()]);
    assert!(e.contains("diffère du membre enregistré n° 2 (Prénom)") && e.contains("--mode remplacement"), "{e}");
    let args = ["members", "import", "cpts-edit", x.to_str().unwrap(), "--mode", "remplacement", "--left-on", "31/12/2024"];
    let dry = ok(&d, &[&args[..], &["--dry-run"]].concat());
    assert!(dry.contains("1 ajout(s), 1 correction(s), 0 départ(s), 0 inchangé(s)"), "{dry}");
    assert!(dry.contains("~ n° 2 Pierre Durand") && dry.contains("+ ligne") && dry.contains("rien n'a été enregistré"), "{dry}");
    assert!(ok(&d, &["members", "list", "cpts-edit"]).contains("Pierre"));
    let done = ok(&d, &args);
    assert!(done.contains("1 membre(s) importé(s), 1 corrigé(s)"), "{done}");
    let list = ok(&d, &["members", "list", "cpts-edit"]);
    assert!(list.contains("Jean") && list.contains("Petit") && !list.contains("Pierre"), "{list}");
    // Martin (absent but already gone) keeps his departure; nothing duplicated.
    assert!(list.contains("Martin") && list.matches("Durand").count() == 1, "{list}");
}

#[test]
fn a_bad_member_file_reports_every_line_and_stores_nothing() {
    let d = db("bad-members.sqlite");
    assert!(cpts(&["--db", &d, "demo"]).status.success());
    let csv = format!(
        "{MEMBERS_HEADER}Martin;Anne;infirmier;10000000003;75118;01/03/2021\n\
         Durand;Paul;astronaute;;75118;01/03/2021\n\
         Petit;Léa;pharmacien;;Atlantide;01/03/2021\n\
         Roux;Jean;sage-femme;;75118;31/02/2021\n\
         Blanc;;orthophoniste;;75118;01/03/2021\n\
         Noir;Marc;infirmier;10000000009;75118;01/03/2021\n\
         Gris;Ève;infirmier;10000000009;75118;01/03/2021\n"
    );
    let f = temp("bad.csv", csv.as_bytes());
    let o = cpts(&["--db", &d, "members", "import", "cpts-paris-18", f.to_str().unwrap()]);
    let err = text(&o).1;
    assert_eq!(o.status.code(), Some(2), "{err}");
    for expected in [
        "6 erreur(s), rien n'a été enregistré",
        "ligne 2, colonne « RPPS » : RPPS « 10000000003 » invalide",
        "ligne 3, colonne « Profession » : « astronaute » inconnu",
        "ligne 4, colonne « Commune d'exercice » : commune inconnue",
        "ligne 5, colonne « Date d'adhésion » : date impossible « 31/02/2021 »",
        "ligne 6, colonne « Prénom » : valeur manquante",
        "ligne 8, colonne « RPPS » : RPPS 10000000009 déjà présent ligne 7",
    ] {
        assert!(err.contains(expected), "missing « {expected} » in:\n{err}");
    }
    assert!(text(&cpts(&["--db", &d, "members", "list", "cpts-paris-18"])).0.contains("0 membre(s)"));
    let latin1 = temp("latin1-members.csv", b"Nom;Pr\xe9nom;Profession;Commune d'exercice;Date d'adh\xe9sion\n");
    let o = cpts(&["--db", &d, "members", "import", "cpts-paris-18", latin1.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o).1.contains("pas en UTF-8"));
    let missing = temp("missing-col.csv", "Nom;Prénom\nA;B\n".as_bytes());
    let err = text(&cpts(&["--db", &d, "members", "import", "cpts-paris-18", missing.to_str().unwrap()])).1;
    assert!(err.contains("colonne « Profession » : colonne absente"), "{err}");
}

#[test]
fn an_import_killed_midway_leaves_the_store_as_it_was() {
    use std::io::{BufRead, BufReader};
    use std::process::Stdio;
    let d = db("killed.sqlite");
    assert!(cpts(&["--db", &d, "create", "CPTS Kill"]).status.success());
    let mut csv = String::from(MEMBERS_HEADER);
    for i in 0..300_000 {
        csv.push_str(&format!("Nom{i};Prénom{i};infirmier;;75118;01/03/2021\n"));
    }
    let f = temp("big.csv", csv.as_bytes());
    let mut child = Command::new(env!("CARGO_BIN_EXE_cpts"))
        .args(["--db", &d, "members", "import", "cpts-kill", f.to_str().unwrap()])
        .current_dir(root())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Wait until rows are being written inside the transaction, then kill -9.
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let seen = lines.by_ref().map_while(Result::ok).find(|l| l.contains("lignes écrites (transaction en cours)"));
    assert!(seen.is_some(), "the import never reported progress");
    child.kill().unwrap();
    let status = child.wait().unwrap();
    assert!(!status.success(), "the import finished before it could be killed");
    // The store opens, is intact, and holds nothing of the killed import.
    let list = text(&cpts(&["--db", &d, "members", "list", "cpts-kill"]));
    assert!(list.0.contains("0 membre(s)"), "{list:?}");
    assert!(text(&cpts(&["--db", &d, "show", "cpts-kill"])).0.contains("version 1"));
    // And a complete import still works afterwards.
    assert!(cpts(&["--db", &d, "members", "import", "cpts-kill", f.to_str().unwrap()]).status.success());
    assert!(text(&cpts(&["--db", &d, "members", "list", "cpts-kill"])).0.contains("300000 membre(s)"));
}

#[test]
fn governance_history_and_structures_from_the_command_line() {
    let d = db("gov.sqlite");
    assert!(cpts(&["--db", &d, "demo"]).status.success());
    let add = |role: &str, person: &str, from: &str| {
        cpts(&["--db", &d, "governance", "add", "cpts-paris-14", "--role", role, "--person", person, "--from", from])
    };
    assert!(add("présidente", "Dr Exemple A", "01/01/2020").status.success());
    let o = add("président", "Dr Exemple B", "01/01/2022");
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o).1.contains("deux présidents en même temps"));
    assert!(cpts(&["--db", &d, "governance", "end", "cpts-paris-14", "1", "--until", "31/12/2021"]).status.success());
    assert!(add("président", "Dr Exemple B", "01/01/2022").status.success());
    // Roles in the feminine as in the masculine.
    let o = add("coordinatrice", "C. Exemple", "2020-06-01");
    assert!(o.status.success(), "{}", text(&o).1);
    let list = text(&cpts(&["--db", &d, "governance", "list", "cpts-paris-14", "--on", "2021-06-01"])).0;
    assert!(
        list.contains("Dr Exemple A") && list.contains("31/12/2021") && list.contains("en fonction au 01/06/2021"),
        "{list}"
    );
    assert!(list.contains("Dr Exemple B") && list.contains("en cours"));
    let o = cpts(&[
        "--db",
        &d,
        "structures",
        "add",
        "cpts-paris-14",
        "--name",
        "Centre de santé Exemple",
        "--kind",
        "centre de santé",
        "--commune",
        "75114",
        "--finess",
        "750000001",
        "--joined",
        "01/02/2021",
    ]);
    assert!(o.status.success(), "{}", text(&o).1);
    let o = cpts(&[
        "--db",
        &d,
        "structures",
        "add",
        "cpts-paris-14",
        "--name",
        "X",
        "--kind",
        "cirque",
        "--commune",
        "Atlantide",
        "--joined",
        "32/01/2021",
    ]);
    assert_eq!(o.status.code(), Some(2));
    let err = text(&o).1;
    assert!(err.contains("« cirque » inconnu") && err.contains("commune inconnue") && err.contains("date"), "{err}");
    assert!(text(&cpts(&["--db", &d, "structures", "list", "cpts-paris-14"])).0.contains("1 structure(s)"));
}

/// `ledger pay` paid by the CPAM's accounting office, with more options.
fn pay_args<'a>(id: &'a str, line: &'a str, on: &'a str, more: &[&'a str]) -> Vec<&'a str> {
    let mut args = vec!["ledger", "pay", id, line, "--on", on, "--by", "CPAM Paris, agence comptable"];
    args.extend_from_slice(more);
    args
}

#[test]
fn from_interest_to_contract_payments_and_termination() {
    let d = db("lifecycle.sqlite");
    ok(&d, &["create", "CPTS Test Nord"]);
    ok(&d, &["territory", "set", "cpts-test-nord", "--version", "1", "75118"]);
    let id = "cpts-test-nord";
    let step =
        |s: &str, on: &str, who: &str| ok(&d, &["lifecycle", "step", id, s, "--on", on, "--as", who, "--by", "x"]);
    step("declarer", "2019-01-10", "cpts");
    // Out of order, wrong role: refused with the reason, nothing recorded.
    let e = refused(&d, &["lifecycle", "step", id, "phase-1", "--on", "2019-02-01", "--as", "ars", "--by", "x"]);
    assert!(e.contains("impossible depuis l'étape « déclaration d'intérêt »"), "{e}");
    let e = refused(&d, &["lifecycle", "step", id, "formaliser", "--on", "2019-02-01", "--as", "cpam", "--by", "x"]);
    assert!(e.contains("réservé à la CPTS"), "{e}");
    step("formaliser", "2019-02-01", "cpts");
    step("valider-lettre", "2019-03-01", "ars");
    step("phase-1", "2019-03-02", "ars");
    step("deposer-projet", "2019-09-01", "cpts");
    step("valider-projet", "2019-10-01", "ars");
    let annex = temp(
        "annexe.yaml",
        "signed: 2020-01-15\npopulation: 38000\nmissions:\n  - {code: acces_soins, fixed: 20000, variable: 10000, objectives: [{indicator: mt, target: 100, weight: 100}]}\n  - {code: parcours, fixed: 15000, variable: 0}\n  - {code: prevention, fixed: 12345.67, variable: 0}\n".as_bytes(),
    );
    let annex = annex.to_str().unwrap();
    let sign = [
        "contract",
        "sign",
        id,
        "--file",
        annex,
        "--on",
        "2020-01-15",
        "--as",
        "cpam",
        "--by",
        "CPAM",
        "--cosigned-by",
        "ars",
    ];
    // Statutes not checked yet: refused, no contract, no ledger line.
    let e = refused(&d, &sign);
    assert!(e.contains("statuts non vérifiés"), "{e}");
    assert!(ok(&d, &["ledger", "show", id]).contains("Aucune ligne"));
    ok(&d, &["lifecycle", "statutes", id, "--on", "2019-11-01"]);
    let out = ok(&d, &sign);
    assert!(out.contains("CPAM Paris (75), ARS Île-de-France"), "{out}");
    // Signed on 15/01/2020 for 5 years: in force in 2020, échu from its dates once over.
    assert!(ok(&d, &["lifecycle", "show", id, "--on", "2020-02-01"]).contains("étape : contrat ACI signé"));
    let now = ok(&d, &["lifecycle", "show", id]);
    assert!(
        now.contains("étape : contrat arrivé à échéance (terme du contrat le 14/01/2025, d'après ses dates)"),
        "{now}"
    );

    let e = refused(&d, &["contract", "start", id, "acces_soins", "--on", "2019-12-01"]);
    assert!(e.contains("avant la signature du contrat"), "{e}");
    ok(&d, &["contract", "start", id, "acces_soins", "--on", "2020-01-15"]);
    let cal = ok(&d, &["contract", "calendar", id, "--on", "2020-08-01"]);
    let row = |name: &str| cal.lines().find(|l| l.starts_with(name)).unwrap().to_string();
    assert!(row("acces_soins").contains("15/07/2020") && row("acces_soins").trim_end().ends_with("démarrée"), "{cal}");
    assert!(row("parcours").trim_end().ends_with("à venir"), "{cal}");
    let alerts = ok(&d, &["alerts", id, "--on", "2020-12-20", "--days", "30"]);
    assert!(alerts.contains("Organisation de parcours pluriprofessionnels autour du patient : démarrage attendu au plus tard le 15/01/2021") || alerts.contains("démarrage à faire d'ici le 15/01/2021"), "{alerts}");

    // Pay what is due: the operating allocation (50 000 €) and the access advance (15 000 €).
    let ledger = ok(&d, &["ledger", "show", id, "--on", "2020-02-01"]);
    let due: Vec<String> = ledger
        .lines()
        .filter(|l| l.trim_end().ends_with("exigible"))
        .map(|l| l.split_whitespace().next().unwrap().to_string())
        .collect();
    assert_eq!(due.len(), 2, "{ledger}");
    let e = refused(&d, &pay_args(id, &due[0], "2020-02-01", &["--amount", "999999"]));
    assert!(e.contains("supérieur au reste dû"), "{e}");
    // An ACI line is paid in one transfer: a part is refused with the rule.
    let e = refused(&d, &pay_args(id, &due[0], "2020-02-01", &["--amount", "1000"]));
    assert!(e.contains("une ligne ACI se règle en une fois"), "{e}");
    // Who paid is required.
    let e = refused(&d, &["ledger", "pay", id, &due[0], "--on", "2020-02-01"]);
    assert!(e.contains("--by"), "{e}");
    for line in &due {
        ok(&d, &pay_args(id, line, "2020-02-01", &["--reference", "VIR-2020-0042"]));
    }
    let e = refused(&d, &pay_args(id, &due[0], "2020-02-02", &[]));
    assert!(e.contains("déjà entièrement réglée"), "{e}");
    // Who paid and the transfer's reference are shown with each payment.
    let ledger = ok(&d, &["ledger", "show", id, "--on", "2020-02-01"]);
    assert!(
        ledger.contains("Paiements :")
            && ledger.contains("par CPAM Paris, agence comptable — virement VIR-2020-0042"),
        "{ledger}"
    );
    // The ledger as JSON (integer cents, ISO dates) and as CSV/XLSX files.
    let j: serde_json::Value =
        serde_json::from_str(&ok(&d, &["ledger", "show", id, "--on", "2020-02-01", "--json"])).unwrap();
    assert_eq!(j["on"], "2020-02-01", "{j}");
    let operating = j["lines"].as_array().unwrap().iter().find(|l| l["source"]["component"] == "operating").unwrap();
    assert_eq!(
        (&operating["due"], &operating["amount_cents"], &operating["paid_cents"], &operating["status"]),
        (
            &serde_json::json!("2020-01-15"),
            &serde_json::json!(5_000_000),
            &serde_json::json!(5_000_000),
            &serde_json::json!("paid")
        ),
        "{j}"
    );
    assert_eq!(j["payments"][0]["reference"], "VIR-2020-0042", "{j}");
    let csv = std::env::temp_dir().join(format!("cpts-ledger-{}.csv", std::process::id()));
    let out = ok(&d, &["ledger", "export", id, csv.to_str().unwrap(), "--on", "2020-02-01"]);
    assert!(out.contains("ligne(s) exportée(s)"), "{out}");
    let text = std::fs::read_to_string(&csv).unwrap();
    assert!(text.contains("N°;Échéance;Financeur;Objet;Montant;Payé;Reste dû;Statut"), "{text}");
    assert!(text.contains("50 000,00 €;50 000,00 €;0,00 €;payé"), "{text}");
    let xlsx = csv.with_extension("xlsx");
    ok(&d, &["ledger", "export", id, xlsx.to_str().unwrap()]);
    assert!(std::fs::read(&xlsx).unwrap().starts_with(b"PK"));
    let e = refused(&d, &["ledger", "export", id, csv.with_extension("txt").to_str().unwrap()]);
    assert!(e.contains("extension attendue .csv ou .xlsx"), "{e}");

    // An amendment dated before the contract is refused; a valid one is recorded.
    let bad = temp("avenant-bad.yaml", b"effective: 2019-06-01\npopulation: 45000\n");
    let e = refused(&d, &["contract", "amend", id, "--file", bad.to_str().unwrap()]);
    assert!(e.contains("pas après la signature du contrat"), "{e}");
    let good = temp(
        "avenant.yaml",
        "effective: 2020-06-01\npopulation: 45000\nreason: rattachement d'une commune\n".as_bytes(),
    );
    ok(&d, &["contract", "amend", id, "--file", good.to_str().unwrap()]);
    assert!(ok(&d, &["contract", "show", id]).contains("effectif le 01/06/2020 : population 45000"));

    // Terminated on 1 July 2020: 168 days of 366 are due; the excess advances are to repay.
    let out = ok(
        &d,
        &[
            "contract",
            "terminate",
            id,
            "--reason",
            "missions non mises en œuvre",
            "--on",
            "2020-07-01",
            "--as",
            "cpam",
            "--by",
            "CPAM",
        ],
    );
    assert!(out.contains("27 049,18 € à reverser"), "{out}");
    assert!(out.contains("5 819,67 € à reverser"), "{out}");
    let ledger = ok(&d, &["ledger", "show", id, "--on", "2020-07-02"]);
    assert!(ledger.contains("à reverser : 32 868,85 €"), "{ledger}");
    assert!(ok(&d, &["lifecycle", "show", id]).contains("étape : contrat résilié"));
    // Terminated in year 1: its report still gates the balances and stays awaited, never late.
    let alerts = ok(&d, &["alerts", id, "--days", "0"]);
    assert!(
        alerts
            .contains("- à faire : rapport d'activité de l'année 1 à rédiger et soumettre (année close le 30/06/2020"),
        "{alerts}"
    );
    assert!(!alerts.contains("échu") && !alerts.contains("démarrage"), "{alerts}");
    // As of a day before the termination, it was not known: missions were awaited.
    let before = ok(&d, &["alerts", id, "--on", "2020-06-20", "--days", "30"]);
    assert!(!before.contains("rapport d'activité"), "{before}");
    let e = refused(&d, &["contract", "start", id, "parcours", "--on", "2020-08-01"]);
    assert!(e.contains("contrat résilié"), "{e}");
}

#[test]
fn the_demo_shows_paris_in_october_2021() {
    let d = db("demo-2021.sqlite");
    ok(&d, &["demo"]);
    assert!(
        ok(&d, &["lifecycle", "show", "cpts-paris-18", "--on", "2021-10-25"]).contains("étape : contrat ACI signé")
    );
    // Its contract ended on 30/11/2024: échu from the dates, and the alerts say so.
    let now = ok(&d, &["lifecycle", "show", "cpts-paris-18"]);
    assert!(now.contains("étape : contrat arrivé à échéance (terme du contrat le 30/11/2024"), "{now}");
    let alerts = ok(&d, &["alerts", "cpts-paris-18"]);
    assert!(alerts.contains("- à faire : contrat ACI n° 1 échu : arrivé à son terme le 30/11/2024"), "{alerts}");
    assert!(alerts.contains("rapport d'activité de l'année 5 à rédiger et soumettre (année close le 30/11/2024"));
    assert!(!alerts.contains("! en retard : rapport"), "{alerts}");
    // A view as of a date ignores what came after it: acces_soins was deployed on 01/02/2021.
    let cal = ok(&d, &["contract", "calendar", "cpts-paris-18", "--on", "2020-01-01"]);
    let row = cal.lines().find(|l| l.starts_with("acces_soins")).unwrap();
    assert!(!row.contains("01/02/2021") && !row.contains("01/03/2020") && row.trim_end().ends_with("à venir"), "{cal}");
    let old = ok(&d, &["alerts", "cpts-paris-18", "--on", "2020-06-01", "--days", "30"]);
    assert!(!old.contains("échu") && !old.contains("rapport d'activité"), "{old}");
    assert!(ok(&d, &["lifecycle", "show", "cpts-paris-5"]).contains("étape : phase 1"));
    assert!(ok(&d, &["lifecycle", "show", "projet-paris-7"]).contains("étape : déclaration d'intérêt"));
    let c = ok(&d, &["contract", "show", "cpts-paris-10"]);
    assert!(c.contains("Signé le 01/06/2021") && c.contains("DÉMONSTRATION"), "{c}");
    let l = ok(&d, &["ledger", "show", "cpts-paris-5", "--on", "2021-10-25"]);
    assert!(l.contains("ARS Île-de-France — FIR") && l.contains("15 000,00 €"), "{l}");
    // Natural order: cpts-paris-5 before cpts-paris-10.
    let list = ok(&d, &["list"]);
    let at = |id: &str| list.find(&format!("{id} ")).unwrap_or_else(|| panic!("{id}: {list}"));
    assert!(at("cpts-paris-5") < at("cpts-paris-6") && at("cpts-paris-9") < at("cpts-paris-10"), "{list}");
    let signed = ["cpts-paris-18", "cpts-paris-14", "cpts-paris-13", "cpts-paris-20", "cpts-paris-10", "cpts-paris-8"];
    for id in signed {
        assert!(ok(&d, &["contract", "calendar", id, "--on", "2021-10-25"]).contains("acces_soins"), "{id}");
    }
    assert!(refused(&d, &["contract", "show", "cpts-paris-12"]).contains("aucun contrat ACI"));
}

#[test]
fn a_db_that_is_not_a_cpts_store_is_refused_at_once() {
    let text_file = temp("not-a-db.txt", b"Nom;Prenom\nMartin;Anne\n");
    let started = std::time::Instant::now();
    let err = refused(text_file.to_str().unwrap(), &["list"]);
    assert!(err.contains("not-a-db.txt n'est pas une base SQLite"), "{err}");
    assert_eq!(std::fs::read(&text_file).unwrap(), b"Nom;Prenom\nMartin;Anne\n");
    let err = refused("/dev/null", &["list"]);
    assert!(err.contains("n'est pas un fichier ordinaire"), "{err}");
    let err = refused("postgres://cpts:secret@127.0.0.1:1/cpts", &["list"]);
    assert!(err.contains("connexion refusée par le serveur PostgreSQL à 127.0.0.1:1"), "{err}");
    assert!(!err.contains("secret"), "{err}");
    assert!(started.elapsed() < std::time::Duration::from_secs(5), "{:?}", started.elapsed());
}

#[test]
fn names_with_control_characters_or_too_long_are_refused_and_stored_ones_are_printed_escaped() {
    let d = db("hostile-text.sqlite");
    let err = refused(&d, &["create", "CPTS \u{1b}]52;c;ZXZpbA==\u{7}", "--id", "cpts-x"]);
    assert!(err.contains("nom de la CPTS : caractère de contrôle U+001B interdit"), "{err}");
    assert!(!err.contains('\u{1b}') && !err.contains('\u{7}'), "{err:?}");
    let err = refused(&d, &["create", &"N".repeat(320), "--id", "cpts-x"]);
    assert!(err.contains("nom de la CPTS : 320 caractères, 200 au plus"), "{err}");
    assert!(ok(&d, &["list"]).contains("Aucune CPTS"));
    // A store written by an older cpts may hold anything: write it behind cpts's back.
    ok(&d, &["create", "CPTS Sage", "--id", "cpts-sage"]);
    ok(&d, &["create", "CPTS Longue", "--id", "cpts-longue"]);
    let conn = format!("sqlite://{d}");
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    rt.block_on(async {
        use sqlx::Connection;
        sqlx::any::install_default_drivers();
        let mut c = sqlx::AnyConnection::connect(&conn).await.unwrap();
        sqlx::query("UPDATE cpts SET name = $1 WHERE id = 'cpts-sage'")
            .bind("Sage\u{1b}[2J\u{1b}]52;c;ZXZpbA==\u{7}\u{202e}")
            .execute(&mut c)
            .await
            .unwrap();
        sqlx::query("UPDATE cpts SET name = $1 WHERE id = 'cpts-longue'")
            .bind("L".repeat(100_000))
            .execute(&mut c)
            .await
            .unwrap();
        c.close().await.unwrap();
    });
    let list = ok(&d, &["list"]);
    assert!(list.contains("Sage\\u{1b}[2J\\u{1b}]52;c;ZXZpbA==\\u{7}\\u{202e}"), "{list}");
    assert!(list.len() < 2_000, "{}", list.len());
    let show = ok(&d, &["show", "cpts-sage"]);
    assert!(!show.contains('\u{1b}') && !show.contains('\u{202e}') && show.contains("Sage\\u{1b}"), "{show}");
}

#[test]
fn a_name_that_gives_no_identifier_asks_for_one_with_id() {
    let d = db("no-id.sqlite");
    let err = refused(&d, &["create", "★ ★ ★"]);
    assert!(err.contains("ne donne pas d'identifiant") && err.contains("choisissez un identifiant avec --id"), "{err}");
    let err = refused(&d, &["create", &"Santé ".repeat(20)]);
    assert!(err.contains("avec --id"), "{err}");
    assert!(ok(&d, &["create", "★ ★ ★", "--id", "cpts-etoiles"]).contains("cpts-etoiles"));
}

#[test]
fn free_texts_and_documents_are_checked_before_anything_is_recorded() {
    let d = db("free-texts.sqlite");
    ok(&d, &["create", "CPTS Textes", "--id", "cpts-textes"]);
    let step = |extra: &[&str]| {
        let mut a = vec!["lifecycle", "step", "cpts-textes", "declarer", "--on", "2024-01-10", "--as", "cpts"];
        a.extend_from_slice(extra);
        refused(&d, &a)
    };
    let err = step(&["--by", "Dr\u{1b}[8mcaché"]);
    assert!(err.contains("--by : caractère de contrôle U+001B"), "{err}");
    let long_note = "n".repeat(20_001);
    let err = step(&["--by", "Dr A", "--note", &long_note]);
    assert!(err.contains("--note : 20001 caractères, 20000 au plus"), "{err}");
    let err = step(&["--by", "Dr A", "--document", "réf.\u{202e}fdp.exe"]);
    assert!(err.contains("--document : caractère de contrôle U+202E"), "{err}");
    // A multi-line note is fine, and nothing of the refusals above was recorded.
    ok(
        &d,
        &[
            "lifecycle",
            "step",
            "cpts-textes",
            "declarer",
            "--on",
            "2024-01-10",
            "--as",
            "cpts",
            "--by",
            "Dr A",
            "--note",
            "l1\nl2",
        ],
    );
    let huge = temp("huge-annex.yaml", &vec![b' '; (1 << 20) + 1]);
    let err = refused(&d, &sign_args("cpts-textes", huge.to_str().unwrap(), "2024-11-04"));
    assert!(err.contains("fichier trop gros : 1048576 octets au plus"), "{err}");
}

/// An XLSX built part by part (the hostile ones of issue 10 cannot be made by a spreadsheet).
fn xlsx(sheet: &str, shared: &str) -> Vec<u8> {
    use std::io::Write;
    let mut out = std::io::Cursor::new(Vec::new());
    let mut z = zip::ZipWriter::new(&mut out);
    let o = zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
    let ns = "http://schemas.openxmlformats.org";
    let parts = [
        (
            "[Content_Types].xml",
            format!(
                r#"<?xml version="1.0"?><Types xmlns="{ns}/package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/></Types>"#
            ),
        ),
        (
            "_rels/.rels",
            format!(
                r#"<?xml version="1.0"?><Relationships xmlns="{ns}/package/2006/relationships"><Relationship Id="rId1" Type="{ns}/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>"#
            ),
        ),
        (
            "xl/workbook.xml",
            format!(
                r#"<?xml version="1.0"?><workbook xmlns="{ns}/spreadsheetml/2006/main" xmlns:r="{ns}/officeDocument/2006/relationships"><sheets><sheet name="Membres" sheetId="1" r:id="rId1"/></sheets></workbook>"#
            ),
        ),
        (
            "xl/_rels/workbook.xml.rels",
            format!(
                r#"<?xml version="1.0"?><Relationships xmlns="{ns}/package/2006/relationships"><Relationship Id="rId1" Type="{ns}/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/><Relationship Id="rId2" Type="{ns}/officeDocument/2006/relationships/sharedStrings" Target="sharedStrings.xml"/></Relationships>"#
            ),
        ),
        ("xl/sharedStrings.xml", shared.to_string()),
        (
            "xl/worksheets/sheet1.xml",
            format!(
                r#"<?xml version="1.0"?><worksheet xmlns="{ns}/spreadsheetml/2006/main"><sheetData>{sheet}</sheetData></worksheet>"#
            ),
        ),
    ];
    for (name, text) in parts {
        z.start_file(name, o).unwrap();
        z.write_all(text.as_bytes()).unwrap();
    }
    z.finish().unwrap();
    out.into_inner()
}

const SST: &str = r#"<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" uniqueCount="1"><si><t>Nom</t></si></sst>"#;

/// A member file that must be refused; its error.
fn refused_import(d: &str, id: &str, name: &str, bytes: &[u8]) -> String {
    let f = temp(name, bytes);
    refused(d, &["members", "import", id, f.to_str().unwrap()])
}

#[test]
fn hostile_xlsx_member_files_are_refused_without_crashing() {
    let d = db("hostile-xlsx.sqlite");
    ok(&d, &["create", "CPTS Hostile"]);
    let import = |name: &str, bytes: &[u8]| refused_import(&d, "cpts-hostile", name, bytes);
    // A1 and XFD1048576: the grid between them is never allocated.
    let far = r#"<row r="1"><c r="A1" t="s"><v>0</v></c></row><row r="1048576"><c r="XFD1048576"><v>1</v></c></row>"#;
    let e = import("far.xlsx", &xlsx(far, SST));
    assert!(e.contains("ligne 1048576 : plus de 64 colonnes"), "{e}");
    // Declared shared-string counts are not allocated.
    for n in ["18446744073709551615", "4000000000"] {
        let e = import(
            "count.xlsx",
            &xlsx(
                r#"<row r="1"><c r="A1" t="s"><v>0</v></c></row>"#,
                &SST.replace("uniqueCount=\"1\"", &format!("uniqueCount=\"{n}\"")),
            ),
        );
        assert!(e.contains("textes partagés"), "{n}: {e}");
    }
    // A header cell of 100 000 characters: refused, and not echoed back.
    let long = format!(r#"<row r="1"><c r="A1" t="inlineStr"><is><t>{}</t></is></c></row>"#, "x".repeat(100_000));
    let e = import("long.xlsx", &xlsx(&long, SST));
    assert!(e.contains("ligne 1, colonne « A » : cellule de plus de 32767 caractères"), "{e}");
    assert!(e.len() < 1_000, "{} bytes of error", e.len());
    // An unknown header of 5 000 characters is quoted shortened.
    let e = import("header.csv", format!("{};Nom\nx;y\n", "h".repeat(5_000)).as_bytes());
    assert!(e.contains("colonne inconnue") && e.len() < 2_000, "{} bytes: {e}", e.len());
    // A file above the size cap is refused before it is read (a sparse file: nothing written).
    let big = temp("big.xlsx", b"");
    std::fs::File::options().write(true).open(&big).unwrap().set_len((128 << 20) + 1).unwrap();
    let e = refused(&d, &["members", "import", "cpts-hostile", big.to_str().unwrap()]);
    assert!(e.contains("fichier de plus de 128 Mo"), "{e}");
    std::fs::remove_file(&big).unwrap();
    assert!(ok(&d, &["members", "list", "cpts-hostile"]).contains("0 membre(s)"));
}

#[test]
fn member_csv_errors_name_the_right_line_quote_and_encoding() {
    let d = db("csv-errors.sqlite");
    ok(&d, &["create", "CPTS Lignes"]);
    let import = |name: &str, bytes: &[u8]| refused_import(&d, "cpts-lignes", name, bytes);
    let header = MEMBERS_HEADER.trim_end();
    // Blank lines, with LF and CRLF endings: lines 4 and 6 as a text editor numbers them.
    for eol in ["\n", "\r\n"] {
        let text = [
            header,
            "",
            "",
            "Martin;Anne;astronaute;;75118;01/03/2021",
            "",
            "Durand;Paul;infirmier;;75118;31/02/2021",
            "",
        ]
        .join(eol);
        let e = import("blank.csv", text.as_bytes());
        assert!(e.contains("ligne 4, colonne « Profession » : « astronaute » inconnu"), "{eol:?}: {e}");
        assert!(e.contains("ligne 6, colonne « Date d'adhésion » : date impossible"), "{eol:?}: {e}");
    }
    // An unclosed quote is named where it opens, not as missing values on line 2.
    let e = import("quote.csv", format!("{MEMBERS_HEADER}Martin;Anne;infirmier;;75118;01/03/2021\nDurand;\"Paul;infirmier;;75118;01/03/2021\nPetit;Léa;infirmier;;75118;01/03/2021\n").as_bytes());
    assert!(e.contains("ligne 3, colonne « B » : guillemet ouvert ici et jamais fermé"), "{e}");
    assert!(!e.contains("valeur manquante"), "{e}");
    // UTF-16 (Excel's « Texte Unicode »), with or without its mark, and random bytes.
    let utf16: Vec<u8> =
        [0xFF, 0xFE].into_iter().chain(MEMBERS_HEADER.encode_utf16().flat_map(u16::to_le_bytes)).collect();
    assert!(import("utf16.csv", &utf16).contains("le fichier est en UTF-16"));
    let be: Vec<u8> = "Nom;Prenom\n".encode_utf16().flat_map(u16::to_be_bytes).collect();
    assert!(import("utf16be.csv", &be).contains("le fichier est en UTF-16"));
    let random: Vec<u8> = (0u32..300).map(|i| u8::try_from(i.wrapping_mul(2_654_435_761) >> 24).unwrap()).collect();
    let e = import("random.csv", &random);
    assert!(e.contains("pas un tableau CSV ou XLSX") && !e.contains("Windows-1252"), "{e}");
    // 300 bad rows: the first 100 errors, then how many more.
    let mut many = String::from(MEMBERS_HEADER);
    for i in 0..300 {
        many.push_str(&format!("Nom{i};P;astronaute;;75118;01/03/2021\n"));
    }
    let e = import("many.csv", many.as_bytes());
    assert!(e.contains("300 erreur(s), rien n'a été enregistré"), "{e}");
    assert_eq!(e.matches("  - ligne ").count(), 100, "{e}");
    assert!(e.trim_end().ends_with("… et 200 autres erreurs"), "{e}");
    assert!(ok(&d, &["members", "list", "cpts-lignes"]).contains("0 membre(s)"));
}

#[test]
fn exports_never_overwrite_the_open_database() {
    // A store whose file name ends in .csv: only the path comparison can protect it.
    let d = db("store.csv");
    ok(&d, &["create", "CPTS Export"]);
    let members =
        temp("export-members.csv", format!("{MEMBERS_HEADER}Martin;Anne;infirmier;;75118;01/03/2021\n").as_bytes());
    ok(&d, &["members", "import", "cpts-export", members.to_str().unwrap()]);
    let before = std::fs::metadata(&d).unwrap().len();
    let dir = std::path::Path::new(&d).parent().unwrap();
    let dotted = dir.join("..").join(dir.file_name().unwrap()).join("store.csv");
    let linked = dir.join("linked.csv");
    let _ = std::fs::remove_file(&linked);
    std::fs::hard_link(&d, &linked).unwrap();
    for output in [d.clone(), dotted.to_str().unwrap().to_string(), linked.to_str().unwrap().to_string()] {
        let e = refused(&d, &["members", "export", "cpts-export", "-o", &output]);
        assert!(e.contains("est la base de données ouverte (--db)") && e.contains("rien n'a été écrit"), "{e}");
        let e = refused(&d, &["values", "export", "cpts-export", &output]);
        assert!(e.contains("est la base de données ouverte (--db)"), "{e}");
    }
    let e = refused(&d, &["members", "export", "cpts-export", "-o", dir.join("copie.sqlite").to_str().unwrap()]);
    assert!(e.contains("extension attendue .csv ou .xlsx"), "{e}");
    assert!(!dir.join("copie.sqlite").exists());
    // The store is intact and still opens.
    assert_eq!(std::fs::metadata(&d).unwrap().len(), before);
    assert!(ok(&d, &["members", "list", "cpts-export"]).contains("1 membre(s)"));
    let _ = std::fs::remove_file(&linked);
}

#[test]
fn csv_exports_neutralise_formulas_and_xlsx_keeps_them_as_text() {
    let d = db("formulas.sqlite");
    ok(&d, &["create", "CPTS Formules"]);
    ok(&d, &["create", "CPTS Copie"]);
    let names = ["=HYPERLINK(\"http://x\";\"clic\")", "=cmd|' /C calc'!A0", "+1+1", "@SUM(A1)", "-2+3"];
    let mut csv = String::from(MEMBERS_HEADER);
    for n in names {
        csv.push_str(&format!("\"{}\";Anne;infirmier;;75118;01/03/2021\n", n.replace('"', "\"\"")));
    }
    let f = temp("formulas.csv", csv.as_bytes());
    ok(&d, &["members", "import", "cpts-formules", f.to_str().unwrap()]);
    let out = std::env::temp_dir().join(format!("cpts-cli-{}/formulas-out.csv", std::process::id()));
    ok(&d, &["members", "export", "cpts-formules", "-o", out.to_str().unwrap()]);
    let text = String::from_utf8(std::fs::read(&out).unwrap()).unwrap();
    for n in names {
        let cell = n.replace('"', "\"\"");
        assert!(
            text.contains(&format!("'{cell}")) || text.contains(&format!("\"'{cell}\"")),
            "{n} not neutralised:\n{text}"
        );
    }
    // XLSX cells are strings: the names come back as typed.
    let x = std::env::temp_dir().join(format!("cpts-cli-{}/formulas-out.xlsx", std::process::id()));
    ok(&d, &["members", "export", "cpts-formules", "-o", x.to_str().unwrap()]);
    ok(&d, &["members", "import", "cpts-copie", x.to_str().unwrap()]);
    let list = ok(&d, &["members", "list", "cpts-copie"]);
    for n in names {
        assert!(list.contains(n), "{n} missing in:\n{list}");
    }
}

/// clap speaks French: help headings and flags, usage errors, values refused, and every date
/// option reads JJ/MM/AAAA as well as AAAA-MM-JJ.
#[test]
fn the_command_line_speaks_french_and_reads_both_date_syntaxes() {
    let help = text(&cpts(&["values", "set", "--help"])).0;
    for expected in ["Utilisation : cpts values set", "Arguments:", "Options:", "-h, --help", "Afficher l'aide"] {
        assert!(help.contains(expected), "« {expected} » absent de :\n{help}");
    }
    assert!(help.contains("<PÉRIODE>  ") && help.contains("Période : mois"), "{help}");
    let top = text(&cpts(&["--help"])).0;
    assert!(top.contains("Commandes:") && top.contains("-V, --version") && top.contains("Afficher la version"), "{top}");
    for english in ["Usage", "Print help", "Commands", "[default", "Print version"] {
        assert!(!help.contains(english) && !top.contains(english), "« {english} » :\n{top}\n{help}");
    }
    let alerts = text(&cpts(&["alerts", "--help"])).0;
    assert!(alerts.contains("Horizon en jours (par défaut 30)"), "{alerts}");
    assert!(alerts.contains("--on <DATE>") && alerts.contains("(JJ/MM/AAAA ou AAAA-MM-JJ ; par défaut aujourd'hui)"));

    let d = std::env::temp_dir().join(format!("cpts-french-{}.sqlite", std::process::id()));
    let _ = std::fs::remove_file(&d);
    let d = d.to_str().unwrap();
    let e = refused(d, &["list", "--onn", "2021-01-01"]);
    assert!(e.starts_with("erreur : argument inattendu « --onn » ; vouliez-vous dire « --on » ?"), "{e}");
    assert!(e.contains("Utilisation : cpts list") && e.contains("Pour plus d'informations, essayez « --help »."), "{e}");
    let e = refused(d, &["list", "--on", "2021-13-45"]);
    assert!(
        e.starts_with("erreur : valeur « 2021-13-45 » invalide pour « --on <DATE> » : date « 2021-13-45 » illisible : attendu JJ/MM/AAAA ou AAAA-MM-JJ"),
        "{e}"
    );
    let e = refused(d, &["achievement", "x", "--year", "un"]);
    assert!(e.contains("valeur « un » invalide pour « --year <ANNÉE> » : nombre entier attendu"), "{e}");
    let e = refused(d, &["valeurs"]);
    assert!(e.starts_with("erreur : commande inconnue « valeurs »"), "{e}");
    let e = refused(d, &["report", "show"]);
    assert!(e.starts_with("erreur : argument(s) obligatoire(s) manquant(s) : --year <ANNÉE>, <ID>"), "{e}");
    for e in [&e, &refused(d, &["list", "--on", "x"])] {
        assert!(!e.contains("error:") && !e.contains("Usage") && !e.contains("failed to parse"), "{e}");
    }
    // Both syntaxes, the same day.
    assert_eq!(ok(d, &["list", "--on", "25/10/2021"]), ok(d, &["list", "--on", "2021-10-25"]));
    ok(d, &["create", "CPTS Dates"]);
    let on = ["alerts", "cpts-dates", "--on"];
    assert_eq!(ok(d, &[&on[..], &["01/03/2022"]].concat()), ok(d, &[&on[..], &["2022-03-01"]].concat()));
    // Convention installments take both syntaxes too, in French errors.
    fn convention(installment: &str) -> Vec<&str> {
        let mut args = vec!["convention", "add", "cpts-dates", "--kind", "ars", "--funder", "ARS", "--purpose"];
        args.extend(["Phase 1", "--amount", "30000", "--from", "2024-03-01", "--to", "2025-03-01"]);
        args.extend(["--installment", installment, "--installment", "2025-03-01=15000"]);
        args
    }
    ok(d, &convention("15/03/2024=15000"));
    let e = refused(d, &convention("15/13/2024=15000"));
    assert!(e.contains("échéance « 15/13/2024=15000 » : date impossible") && !e.contains("invalid"), "{e}");
}

#[test]
fn an_account_acts_within_its_role_and_scope_and_the_audit_says_who_did_what() {
    let d = db("accounts.sqlite");
    ok(&d, &["demo"]);
    ok(&d, &["user", "add", "marie", "--name", "Marie Durand", "--role", "coordinateur", "--scope", "cpts-paris-18"]);
    ok(&d, &["user", "add", "cpam29", "--name", "CPAM du Finistère", "--role", "agent-cpam", "--scope", "29"]);
    // A password too short (here: none on standard input) is refused, nothing created.
    let e = refused(&d, &["user", "add", "paul", "--name", "Paul", "--password-stdin"]);
    assert!(e.contains("mot de passe"), "{e}");
    assert!(!ok(&d, &["user", "list"]).contains("paul"));
    // Marie sees her CPTS only; another is « introuvable »; accounts are not hers to manage.
    let list = ok(&d, &["--user", "marie", "list"]);
    assert!(list.contains("cpts-paris-18") && !list.contains("cpts-paris-17"), "{list}");
    let e = refused(&d, &["--user", "marie", "lifecycle", "show", "cpts-paris-17"]);
    assert!(e.contains("introuvable"), "{e}");
    let o = on_db(&d, &["--user", "marie", "user", "list"]);
    assert_eq!(o.status.code(), Some(3), "{}", text(&o).1);
    assert!(text(&o).1.contains("non autorisé"));
    // The CPAM of Finistère sees no Paris CPTS at all.
    assert!(!ok(&d, &["--user", "cpam29", "list"]).contains("cpts-paris"));
    // An unknown account, named by CPTS_USER, acts on nothing.
    let o = std::process::Command::new(env!("CARGO_BIN_EXE_cpts"))
        .args(["--db", &d, "list"])
        .env("CPTS_USER", "inconnu")
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(3));
    assert!(text(&o).1.contains("inconnu ou désactivé"), "{}", text(&o).1);
    // Marie's write is in the audit with her login and role, before/after in JSON.
    ok(&d, &["--user", "marie", "structures", "add", "cpts-paris-18", "--name", "MSP Ordener", "--kind", "msp", "--commune", "75118", "--joined", "2021-01-04"]);
    let audit = ok(&d, &["audit", "--cpts", "cpts-paris-18", "--login", "marie", "--json"]);
    let rows: serde_json::Value = serde_json::from_str(&audit).unwrap();
    let rows = rows.as_array().unwrap();
    assert_eq!(rows.len(), 1, "{audit}");
    assert_eq!(rows[0]["role"], "coordinateur");
    assert_eq!(rows[0]["action"], "structures");
    assert_eq!(rows[0]["after"]["structure"]["name"], "MSP Ordener");
    // Without an account: the local operator, recorded as such.
    assert!(ok(&d, &["audit", "--login", "operateur-local", "--limit", "1"]).contains("operateur-local"));
}

#[test]
fn identities_are_linked_listed_and_unlinked_by_the_national_admin_only() {
    let d = db("identities.sqlite");
    ok(&d, &["user", "add", "marie", "--name", "Marie Durand"]);
    let linked = ok(&d, &["user", "link", "marie", "psc", "100 0000 0017"]);
    assert!(linked.contains("« 10000000017 » rattachée au compte « marie »"), "{linked}");
    ok(&d, &["user", "link", "marie", "proconnect", "Marie.Durand@ARS.sante.fr"]);
    let list = ok(&d, &["user", "links"]);
    assert!(list.starts_with("2 identité(s)"), "{list}");
    assert!(list.contains("Pro Santé Connect") && list.contains("10000000017") && list.contains("marie.durand@ars.sante.fr"), "{list}");
    // A bad RPPS key, an unknown provider: refused, nothing linked.
    let e = refused(&d, &["user", "link", "marie", "psc", "10000000018"]);
    assert!(e.contains("clé de contrôle"), "{e}");
    let e = refused(&d, &["user", "link", "marie", "franceconnect", "x"]);
    assert!(e.contains("fournisseur d'identité inconnu"), "{e}");
    // Only the national level links: marie has no role.
    let o = on_db(&d, &["--user", "marie", "user", "link", "marie", "psc", "10000000025"]);
    assert_eq!(o.status.code(), Some(3), "{}", text(&o).1);
    ok(&d, &["user", "unlink", "psc", "10000000017"]);
    assert!(ok(&d, &["user", "links"]).starts_with("1 identité(s)"));
    // Each link and unlink is in the audit.
    let audit = ok(&d, &["audit", "--json"]);
    assert_eq!(audit.matches("10000000017").count(), 2, "{audit}");
    // A bad identity file stops `serve` with a French message.
    let f = temp("identite.yaml", b"psc:\n  issuer: https://exemple.fr\n  inconnu: 1\n");
    let o = on_db(&d, &["serve", "--bind", "127.0.0.1:0", "--identity", f.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o).1);
    assert!(text(&o).1.contains("fichier d'identité illisible"), "{}", text(&o).1);
}

/// `cpts audit verify`, `cpts backup` (logical and SQLite copy) and `cpts restore`: a round
/// trip gives the same CPTS, ledgers and audit chain; a non-empty store is refused unless
/// --remplacer; a tampered log is named at its row, exit 1.
#[test]
fn backup_restore_and_audit_verify_from_the_command_line() {
    let (a, b) = (db("sauve-a.sqlite"), db("sauve-b.sqlite"));
    assert!(cpts(&["demo", "--national", "--cpts", "3", "--store", &a]).status.success());
    let intact = ok(&a, &["audit", "verify"]);
    assert!(intact.starts_with("Journal d'audit intact : ") && intact.contains(" lignes, empreinte finale "), "{intact}");
    let rows: u64 = intact.split_whitespace().nth(4).unwrap().parse().unwrap();
    let hash = intact.split_whitespace().last().unwrap().to_string();
    let (file, copy) = (db("sauve.jsonl"), db("sauve-copie.sqlite"));
    assert!(ok(&a, &["backup", &file]).contains("Sauvegarde écrite"));
    assert!(ok(&a, &["backup", &copy]).contains("Copie de la base SQLite"));
    assert!(refused(&a, &["backup", &file]).contains("existe déjà"));
    // The copy is a store as is.
    assert_eq!(ok(&copy, &["audit", "verify"]), intact);
    // Restored elsewhere: same lists and ledgers, the chain on, one row more (the restore's).
    assert!(ok(&b, &["restore", &file]).contains("Sauvegarde restaurée"));
    for args in [&["list", "--on", "2026-11-30"][..], &["ledger", "check"][..]] {
        assert_eq!(ok(&b, args), ok(&a, args), "{args:?}");
    }
    let again = ok(&b, &["audit", "verify"]);
    assert!(again.starts_with(&format!("Journal d'audit intact : {} lignes", rows + 1)), "{again}");
    let last = ok(&b, &["audit", "--limit", "2", "--json"]);
    assert!(last.contains("\"action\": \"restauration\""), "{last}");
    assert!(refused(&b, &["restore", &file]).contains("--remplacer"));
    assert!(ok(&b, &["restore", &file, "--remplacer"]).contains("Sauvegarde restaurée"));
    assert!(refused(&b, &["restore", &copy]).contains("copie de base SQLite"));
    // Only the national admin (or the local operator) may: a coordinator is refused (exit 3).
    let o = on_db(&b, &["--user", "personne", "audit", "verify"]);
    assert_ne!(o.status.code(), Some(0));
    // A row edited in the file, behind cpts's back: named, exit 1.
    let conn = std::process::Command::new("sqlite3")
        .args([&a, "DROP TRIGGER audit_no_update; UPDATE audit SET login = 'x' WHERE id = 2;"])
        .status();
    if conn.is_ok_and(|s| s.success()) {
        let o = on_db(&a, &["audit", "verify"]);
        let (_, err) = text(&o);
        assert_eq!(o.status.code(), Some(1), "{err}");
        assert!(err.contains("ligne n° 2 modifiée"), "{err}");
    }
    assert!(!hash.is_empty());
}
