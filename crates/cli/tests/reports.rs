//! Indicator values, achievement and the activity report, end to end through the `cpts`
//! binary: all-or-nothing imports (CSV with BOM and decimal commas, XLSX), corrections kept
//! in the history, the golden variable part (7 040,00 €), the report's review from draft to
//! validation with the balance released in the ledger, and the PDF/CSV/XLSX exports.
//!
//! Each test runs on a fresh SQLite file, and on a fresh PostgreSQL database too when
//! CPTS_TEST_POSTGRES_URL is set (scripts/with-postgres.sh; required with CI=true).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)] // tests fail by panicking

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::{ok, on_db, refused, sign_args, text};

fn dir() -> PathBuf {
    let dir = std::env::temp_dir().join(format!("cpts-cli-reports-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn temp(name: &str, content: &[u8]) -> PathBuf {
    let p = dir().join(name);
    std::fs::write(&p, content).unwrap();
    p
}

fn path(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// A fresh database on each engine: (engine, --db argument). SQLite always; PostgreSQL when
/// CPTS_TEST_POSTGRES_URL (an admin URL) is set, a new database created with `psql`.
fn dbs(name: &str) -> Vec<(&'static str, String)> {
    let file = dir().join(format!("{name}.sqlite"));
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", file.display()));
    }
    let mut out = vec![("sqlite", path(&file).to_string())];
    match std::env::var("CPTS_TEST_POSTGRES_URL") {
        Ok(admin) => {
            // CREATE DATABASE copies template1: one at a time.
            static LOCK: std::sync::Mutex<()> = std::sync::Mutex::new(());
            let _guard = LOCK.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            let db = format!("cpts_cli_reports_{}_{}", std::process::id(), name.replace('-', "_"));
            for sql in [format!("DROP DATABASE IF EXISTS {db}"), format!("CREATE DATABASE {db}")] {
                let o = Command::new("psql")
                    .args([admin.as_str(), "-v", "ON_ERROR_STOP=1", "-q", "-c", &sql])
                    .output()
                    .unwrap_or_else(|e| panic!("psql introuvable ({e}) : il crée la base PostgreSQL de test"));
                assert!(o.status.success(), "{sql} : {}", text(&o).1);
            }
            let url = match admin.rsplit_once('/') {
                Some((base, _)) => format!("{base}/{db}"),
                None => panic!("CPTS_TEST_POSTGRES_URL sans base"),
            };
            out.push(("postgres", url));
        }
        Err(_) => assert!(
            std::env::var("CI").is_err(),
            "CI=true mais CPTS_TEST_POSTGRES_URL n'est pas défini : PostgreSQL est requis"
        ),
    }
    out
}

const ID: &str = "cpts-test-rapport";
const NAME: &str = "CPTS Test Rapport";

/// The golden annex shared by the domain, store and CLI tests (figures in its comments).
const ANNEX: &str = include_str!("../../../tests/reports/golden-annex.yaml");

const DRAFT: &str = "summary: Première année de la CPTS Test Rapport.
actions:
  - {title: Cellule médecin traitant, mission: acces_soins, from: 2021-02-01, to: 2021-12-31, description: Orientation des patients sans médecin traitant, professionals: 12}
expenses:
  - {item: Coordination, amount: 45000}
  - {item: Système d'information, amount: 3500.50}
";

/// A CPTS from its declaration of interest to the golden contract, signed by the CPAM and
/// co-signed by the ARS on 1 January 2021 (statutes checked, territory Paris 18e).
fn signed(d: &str, tag: &str) {
    ok(d, &["create", NAME]);
    ok(d, &["territory", "set", ID, "--version", "1", "75118"]);
    for (step, on, who) in [
        ("declarer", "2019-01-10", "cpts"),
        ("formaliser", "2019-02-01", "cpts"),
        ("valider-lettre", "2019-03-01", "ars"),
        ("phase-1", "2019-03-02", "ars"),
        ("deposer-projet", "2019-09-01", "cpts"),
        ("valider-projet", "2019-10-01", "ars"),
    ] {
        ok(d, &["lifecycle", "step", ID, step, "--on", on, "--as", who, "--by", "x"]);
    }
    ok(d, &["lifecycle", "statutes", ID, "--on", "2019-11-01"]);
    let annex = temp(&format!("{tag}-annexe.yaml"), ANNEX.as_bytes());
    let out = ok(d, &sign_args(ID, path(&annex), "2021-01-01"));
    assert!(out.contains("signé le 01/01/2021 par CPAM Paris (75), ARS Île-de-France"), "{out}");
    assert!(out.contains("jusqu'au 31/12/2025 inclus"), "{out}");
}

const HEADER: &str = "CPTS;Indicateur;Période;Valeur;Numérateur;Dénominateur";

/// A values file: UTF-8 with BOM, `;`, French headers, lines ended by `eol`.
fn csv_bytes(rows: &[String], eol: &str) -> Vec<u8> {
    let mut bytes = b"\xef\xbb\xbf".to_vec();
    bytes.extend_from_slice(HEADER.as_bytes());
    for r in rows {
        bytes.extend_from_slice(eol.as_bytes());
        bytes.extend_from_slice(r.as_bytes());
    }
    bytes.extend_from_slice(eol.as_bytes());
    bytes
}

fn csv_file(name: &str, rows: &[String]) -> PathBuf {
    temp(name, &csv_bytes(rows, "\n"))
}

/// The golden year: 7 patients a month (84), SNP 65 answered of 100 requests a month (65 %),
/// written with decimal commas and both period spellings.
fn golden_rows() -> Vec<String> {
    let mut rows = Vec::new();
    for m in 1..=12 {
        rows.push(format!("{ID};patients_sans_mt_aides;2021-{m:02};7;;"));
        rows.push(format!("{ID};snp_taux_reponse;{m:02}/2021;;65,0;100"));
    }
    rows
}

fn import_golden(d: &str, tag: &str) {
    let f = csv_file(&format!("{tag}-golden.csv"), &golden_rows());
    let out = ok(d, &["values", "import", path(&f), "--as", "cpts", "--by", "Coordinatrice"]);
    assert!(out.contains("24 valeur(s) enregistrée(s) (lot n° 1, 1 CPTS), dont 0 correction(s)"), "{out}");
}

/// The data lines of a table (after the header and its rule).
fn body(table: &str) -> Vec<&str> {
    table.lines().skip(2).filter(|l| !l.trim().is_empty()).collect()
}

#[test]
fn a_values_import_is_all_or_nothing_and_round_trips_through_xlsx_and_csv() {
    for (engine, d) in dbs("import") {
        let tag = format!("{engine}-import");
        signed(&d, &tag);
        // Good rows with four bad ones among them: lines 2.. in the file.
        let mut rows = golden_rows();
        rows.insert(3, format!("{ID};couverture_vaccinale;2021;50;;")); // line 5
        rows.insert(8, format!("{ID};patients_sans_mt_aides;2020-12;3;;")); // line 10
        rows.insert(15, format!("{ID};patients_sans_mt_aides;2022-02;sept;;")); // line 17
        rows.push(format!("{ID};snp_taux_reponse;2022-03;120,5;;")); // line 29
        assert_eq!(rows.len(), 28);
        let bad = csv_file(&format!("{tag}-bad.csv"), &rows);
        let o = on_db(&d, &["values", "import", path(&bad), "--as", "cpts", "--by", "Coordinatrice"]);
        let (out, err) = text(&o);
        assert!(!o.status.success(), "[{engine}] a bad file was accepted: {out}");
        assert_eq!(o.status.code(), Some(2), "[{engine}] {err}");
        for expected in [
            format!("{} : import refusé, rien n'a été enregistré (4 erreur(s))", path(&bad)).as_str(),
            "ligne 5, colonne « Indicateur » : indicateur « couverture_vaccinale » absent des objectifs du contrat n° 1",
            "ligne 10, colonne « Période » : la période 2020-12 commence le 01/12/2020, avant le contrat signé le 01/01/2021",
            "ligne 17, colonne « Valeur » : « sept » n'est pas un nombre",
            "ligne 29, colonne « Valeur » : pourcentage 120,5 supérieur à 100",
        ] {
            assert!(err.contains(expected), "[{engine}] missing « {expected} » in:\n{err}");
        }
        assert_eq!(err.matches("ligne ").count(), 4, "[{engine}] only the bad lines are named:\n{err}");
        assert!(ok(&d, &["values", "list", ID]).contains(&format!("Aucune valeur pour {ID}.")), "[{engine}]");
        assert!(body(&ok(&d, &["values", "history", ID])).is_empty(), "[{engine}] nothing in the history");

        // The good rows alone import.
        import_golden(&d, &tag);
        let list = ok(&d, &["values", "list", ID]);
        assert_eq!(body(&list).len(), 24, "[{engine}] {list}");
        let row = body(&list).into_iter().find(|l| l.contains("snp_taux_reponse") && l.contains("2021-07")).unwrap();
        assert_eq!(row.split_whitespace().collect::<Vec<_>>(), ["snp_taux_reponse", "2021-07", "65", "65", "100"]);

        // Exported to XLSX and imported again: accepted, the same values, all unchanged: no
        // batch, no correction, nothing added to the history.
        let x = dir().join(format!("{tag}-valeurs.xlsx"));
        assert!(ok(&d, &["values", "export", ID, path(&x)]).contains("24 valeur(s) exportée(s)"));
        assert!(std::fs::read(&x).unwrap().starts_with(b"PK"), "[{engine}] not an XLSX file");
        let out = ok(&d, &["values", "import", path(&x), "--as", "cpam", "--by", "Agent CPAM"]);
        assert_eq!(out, "Aucune valeur enregistrée : 24 inchangée(s), identique(s) aux valeurs actuelles.\n");
        assert_eq!(ok(&d, &["values", "list", ID]), list, "[{engine}] the XLSX round trip changed values");
        let history = ok(&d, &["values", "history", ID]);
        assert_eq!(body(&history).len(), 24, "{history}");
        assert!(!history.contains("corrigée"), "{history}");

        // The same through CSV: BOM, `;`, the import's header.
        let c = dir().join(format!("{tag}-valeurs.csv"));
        ok(&d, &["values", "export", ID, path(&c)]);
        let bytes = std::fs::read(&c).unwrap();
        assert!(bytes.starts_with(format!("\u{feff}{HEADER}").as_bytes()), "{}", String::from_utf8_lossy(&bytes));
        let out = ok(&d, &["values", "import", path(&c), "--as", "cpts", "--by", "Coordinatrice"]);
        assert!(out.contains("24 inchangée(s)"), "{out}");
        assert_eq!(ok(&d, &["values", "list", ID]), list, "[{engine}] the CSV round trip changed values");
        assert_eq!(body(&ok(&d, &["values", "history", ID])).len(), 24);
        // The file with one value changed and the CPTS named by its name: one correction.
        let mut rows = golden_rows();
        rows[0] = format!("{NAME};patients_sans_mt_aides;2021-01;8;;");
        let f = csv_file(&format!("{tag}-one-change.csv"), &rows);
        let out = ok(&d, &["values", "import", path(&f), "--as", "cpts", "--by", "Coordinatrice"]);
        assert!(out.starts_with("1 valeur(s) enregistrée(s) (lot n° 2, 1 CPTS), dont 1 correction(s)"), "{out}");
        assert!(out.contains("23 inchangée(s), non enregistrée(s)"), "{out}");
        assert_eq!(body(&ok(&d, &["values", "history", ID])).len(), 25);
        // 29 lines naming an unknown CPTS: one error saying what to write.
        let rows: Vec<String> =
            (1..=12).map(|m| format!("Paris Nord;patients_sans_mt_aides;2021-{m:02};7;;")).collect();
        let f = csv_file(&format!("{tag}-unknown.csv"), &rows);
        let e = refused(&d, &["values", "import", path(&f), "--as", "cpts", "--by", "x"]);
        assert!(e.contains("(1 erreur(s))") && e.contains("ligne 2, colonne « CPTS » : CPTS « Paris Nord » inconnue : indiquez l'identifiant de la CPTS (ex. cpts-paris-18) ou son nom exact (et 11 autres lignes)"), "{e}");
        ok(&d, &["values", "set", ID, "patients_sans_mt_aides", "2021-01", "7", "--as", "cpts", "--by", "x"]);
        // Never onto the open database: refused, nothing written, the store intact.
        if engine == "sqlite" {
            let e = refused(&d, &["values", "export", ID, &d]);
            assert!(e.contains("extension attendue .csv ou .xlsx"), "{e}");
            assert_eq!(ok(&d, &["values", "list", ID]), list, "the store changed");
        }
        // The golden figures still hold.
        assert!(ok(&d, &["achievement", ID, "--year", "1"]).contains("Part variable de l'année : 7 040,00 €"));
    }
}

#[test]
fn a_correction_keeps_the_old_value_in_the_history() {
    for (engine, d) in dbs("correction") {
        let tag = format!("{engine}-correction");
        signed(&d, &tag);
        import_golden(&d, &tag);
        let by = ["--as", "cpts", "--by", "Coordinatrice"];
        let mut set = vec!["values", "set", ID, "patients_sans_mt_aides", "2021-03", "9"];
        set.extend_from_slice(&by);
        let out = ok(&d, &set);
        assert!(out.contains("1 valeur(s) enregistrée(s) (lot n° 2, 1 CPTS), dont 1 correction(s)"), "{out}");
        let mut set =
            vec!["values", "set", ID, "snp_taux_reponse", "2021-04", "--numerator", "70", "--denominator", "100"];
        set.extend_from_slice(&by);
        assert!(ok(&d, &set).contains("dont 1 correction(s)"));

        let h = ok(&d, &["values", "history", ID, "--indicator", "patients_sans_mt_aides"]);
        let march: Vec<Vec<&str>> =
            h.lines().filter(|l| l.contains(" 2021-03 ")).map(|l| l.split_whitespace().collect()).collect();
        assert_eq!(march.len(), 2, "[{engine}] {h}");
        let old = march.iter().find(|w| w[2] == "7").unwrap_or_else(|| panic!("{h}"));
        assert_eq!(old[3], "1", "{h}");
        assert!(old.join(" ").ends_with("corrigée (lot 2)"), "[{engine}] {h}");
        assert!(old.join(" ").contains(&format!("import ({tag}-golden.csv)")), "{h}");
        let new = march.iter().find(|w| w[2] == "9").unwrap_or_else(|| panic!("{h}"));
        assert_eq!(new[3], "2", "{h}");
        assert!(new.join(" ").contains("saisie Coordinatrice (cpts)"), "{h}");
        assert_eq!(new.last(), Some(&"actuelle"), "[{engine}] {h}");
        assert!(!h.contains("snp_taux_reponse"), "--indicator filters: {h}");
        let h = ok(&d, &["values", "history", ID, "--indicator", "snp_taux_reponse"]);
        assert!(
            h.lines().any(|l| l.contains(" 2021-04 ") && l.contains(" 65 ") && l.contains("corrigée (lot 3)")),
            "{h}"
        );
        assert!(h.lines().any(|l| l.contains(" 2021-04 ") && l.contains(" 70 ") && l.trim_end().ends_with("actuelle")));

        // The current values are the corrected ones.
        let list = ok(&d, &["values", "list", ID]);
        let row = |ind: &str, p: &str| -> Vec<String> {
            let l = list.lines().find(|l| l.starts_with(ind) && l.contains(p)).unwrap_or_else(|| panic!("{list}"));
            l.split_whitespace().map(str::to_string).collect()
        };
        assert_eq!(row("patients_sans_mt_aides", "2021-03")[2], "9");
        assert_eq!(row("snp_taux_reponse", "2021-04")[2..], ["70", "70", "100"]);
        assert_eq!(body(&list).len(), 24, "a correction adds no value: {list}");
        let a = ok(&d, &["achievement", ID, "--year", "1"]);
        assert!(a.lines().any(|l| l.starts_with("Patients sans médecin traitant") && l.contains(" 86 ")), "{a}");

        // A refused correction changes nothing.
        let mut bad = vec!["values", "set", ID, "patients_sans_mt_aides", "2020-12", "9"];
        bad.extend_from_slice(&by);
        let e = refused(&d, &bad);
        assert!(e.contains("Saisie refusée, rien n'a été enregistré") && e.contains("avant le contrat"), "{e}");
        assert_eq!(body(&ok(&d, &["values", "history", ID])).len(), 26, "[{engine}]");
    }
}

#[test]
fn the_achievement_of_the_golden_year_is_7040_euros() {
    for (engine, d) in dbs("achievement") {
        let tag = format!("{engine}-achievement");
        signed(&d, &tag);
        // Without values, each indicator counts for its baseline: nothing earned yet.
        let a = ok(&d, &["achievement", ID, "--year", "1"]);
        assert!(a.contains("Part variable de l'année : 0,00 €"), "[{engine}] {a}");
        import_golden(&d, &tag);
        let a = ok(&d, &["achievement", ID, "--year", "1"]);
        assert!(a.contains("contrat n° 1, année 1 (du 01/01/2021 au 31/12/2021) – provisoire"), "[{engine}] {a}");
        let cells = |start: &str| -> Vec<String> {
            let l = a.lines().find(|l| l.starts_with(start)).unwrap_or_else(|| panic!("{a}"));
            l.rsplit("  ").map(|c| c.trim().to_string()).filter(|c| !c.is_empty()).collect()
        };
        // Columns from the right: coverage, weight, achieved, target, baseline, value.
        let p = cells("Patients sans médecin traitant");
        assert_eq!(p[..6], ["12/12 mois", "60 %", "84 %", "100", "0", "84"], "[{engine}] {a}");
        let s = cells("Taux de réponse aux demandes de soins non programmés");
        assert_eq!(s[..6], ["12/12 mois", "40 %", "50 %", "80", "50", "65"], "[{engine}] {a}");
        assert!(a.contains("part variable : 7 040,00 €"), "{a}");
        assert!(a.contains("10 000,00 € × taux d'atteinte pondéré 70,4 % = 7 040,00 €"), "{a}");
        assert!(a.contains("Part variable de l'année : 7 040,00 €"), "[{engine}] {a}");
        let e = refused(&d, &["achievement", ID, "--year", "6"]);
        assert!(e.contains("année 6 hors du contrat n° 1 (1 à 5)"), "{e}");
    }
}

/// `cpts report VERB` on year 1 by ROLE/BY on ON, with the text comments and answers need.
fn step(verb: &'static str, role: &'static str, by: &'static str, on: &'static str) -> Vec<&'static str> {
    let mut v = vec!["report", verb, ID, "--year", "1", "--as", role, "--by", by, "--on", on];
    match verb {
        "comment" | "return" => v.extend_from_slice(&["--text", "Détail des créneaux ?"]),
        "answer" => v.extend_from_slice(&["--text", "Voir annexe."]),
        _ => {}
    }
    v
}

/// `cpts report draft` on year 1 with FILE, by the CPTS.
fn draft_args<'a>(file: &'a Path, by: &'a str, on: &'a str) -> Vec<&'a str> {
    vec!["report", "draft", ID, "--year", "1", "--file", path(file), "--as", "cpts", "--by", by, "--on", on]
}

/// The golden report's review, each step as the tests below expect it.
fn review_until_answer(d: &str, tag: &str) {
    let draft = temp(&format!("{tag}-rapport.yaml"), DRAFT.as_bytes());
    let out = ok(d, &draft_args(&draft, "Coordinatrice", "2021-11-15"));
    assert!(out.contains("(version 1) : étape « rédaction » enregistrée ; statut « brouillon »"), "{out}");
    import_golden(d, tag);
    ok(d, &step("submit", "cpts", "Coordinatrice", "2022-01-20"));
    ok(d, &step("comment", "ars", "Agent ARS", "2022-01-25"));
    ok(d, &step("answer", "cpts", "Coordinatrice", "2022-01-26"));
}

/// Lines of the year-1 variable balance in a ledger listing.
fn variable_balance(ledger: &str) -> Vec<&str> {
    ledger.lines().filter(|l| l.contains("ACI n° 1, année 1 — Accès aux soins – part variable — solde")).collect()
}

#[test]
fn the_report_goes_from_draft_to_validation_and_releases_the_balance() {
    for (engine, d) in dbs("workflow") {
        let tag = format!("{engine}-workflow");
        signed(&d, &tag);
        let e = refused(&d, &step("submit", "cpts", "Coordinatrice", "2022-01-20"));
        assert!(e.contains("pas de rapport pour l'année 1 : commencez par « cpts report draft »"), "{e}");
        assert!(ok(&d, &["report", "list"]).contains("Aucun rapport d'activité."));

        // A draft naming a mission outside the contract is refused.
        let bad = temp(
            &format!("{tag}-bad.yaml"),
            b"summary: x\nactions:\n  - {title: X, mission: qualite, from: 2021-02-01}\n",
        );
        let e = refused(&d, &draft_args(&bad, "C", "2021-11-15"));
        assert!(e.contains(&format!("{} : ", path(&bad))), "the error names the file: {e}");
        assert!(e.contains("mission « qualite » absente du contrat"), "{e}");
        let draft = temp(&format!("{tag}-rapport.yaml"), DRAFT.as_bytes());
        let out = ok(&d, &draft_args(&draft, "Coordinatrice", "2021-11-15"));
        assert!(
            out.contains("Rapport de l'année 1 (version 1) : étape « rédaction » enregistrée ; statut « brouillon ».")
        );

        // No value yet: refused, naming the indicators.
        let e = refused(&d, &step("submit", "cpts", "Coordinatrice", "2022-01-20"));
        assert!(e.contains("indicateurs du contrat sans valeur pour l'année"), "[{engine}] {e}");
        assert!(e.contains("« patients_sans_mt_aides » (aucune valeur)") && e.contains("« snp_taux_reponse »"), "{e}");
        import_golden(&d, &tag);
        // Inside the year: refused; by the ARS: refused.
        let e = refused(&d, &step("submit", "cpts", "Coordinatrice", "2021-12-01"));
        assert!(e.contains("soumission le 01/12/2021 avant la fin de l'année 1 (dernier jour : 31/12/2021)"), "{e}");
        assert!(!e.contains("sans valeur"), "{e}");
        let e = refused(&d, &step("submit", "ars", "Agent ARS", "2022-01-20"));
        assert!(e.contains("soumission réservée à la CPTS"), "{e}");
        let e = refused(&d, &step("validate", "cpam", "Agent CPAM", "2022-01-21"));
        assert!(e.contains("validation impossible : le rapport est « brouillon »"), "{e}");

        let out = ok(&d, &step("submit", "cpts", "Coordinatrice", "2022-01-20"));
        assert!(out.contains("étape « soumission » enregistrée ; statut « soumis »"), "{out}");
        let out = ok(&d, &step("comment", "ars", "Agent ARS", "2022-01-25"));
        assert!(out.contains("étape « commentaire » enregistrée ; statut « en revue »"), "{out}");
        let e = refused(&d, &step("answer", "cpam", "Agent CPAM", "2022-01-26"));
        assert!(e.contains("refusé"), "{e}");
        let out = ok(&d, &step("answer", "cpts", "Coordinatrice", "2022-01-26"));
        assert!(out.contains("étape « réponse » enregistrée ; statut « en revue »"), "{out}");

        // Before validation the variable balance waits for the report.
        let ledger = ok(&d, &["ledger", "show", ID]);
        let before = variable_balance(&ledger);
        assert_eq!(before.len(), 1, "{ledger}");
        assert!(before[0].contains("10 000,00 €"), "{ledger}");
        assert!(before[0].trim_end().ends_with("prévu (rapport d'activité de l'année 1 à valider)"), "{ledger}");

        // Only the CPAM validates.
        let e = refused(&d, &step("validate", "ars", "Agent ARS", "2022-02-01"));
        assert!(e.contains("validation réservée à la CPAM (l'ARS ne peut pas)"), "[{engine}] {e}");
        let e = refused(&d, &step("validate", "cpts", "Coordinatrice", "2022-02-01"));
        assert!(e.contains("validation réservée à la CPAM (la CPTS ne peut pas)"), "[{engine}] {e}");
        assert_eq!(variable_balance(&ok(&d, &["ledger", "show", ID])), before, "a refusal changes nothing");
        let out = ok(&d, &step("validate", "cpam", "Agent CPAM", "2022-02-01"));
        assert!(out.contains("Rapport de l'année 1 (version 1) validé le 01/02/2022."), "[{engine}] {out}");
        assert!(out.contains("Grand livre : 1 ligne(s) ajoutée(s), 1 annulée(s)."), "{out}");
        assert!(out.contains("année 1, Accès aux soins – part variable, solde : 7 040,00 € (01/01/2022)"), "{out}");

        // The 7 040,00 € balance is due; the planned 10 000,00 € is cancelled.
        for on in [None, Some("2022-02-01")] {
            let mut args = vec!["ledger", "show", ID];
            if let Some(on) = on {
                args.extend_from_slice(&["--on", on]);
            }
            let ledger = ok(&d, &args);
            let after = variable_balance(&ledger);
            assert_eq!(after.len(), 1, "[{engine}] {ledger}");
            let cells: Vec<&str> = after[0].split("  ").map(str::trim).filter(|c| !c.is_empty()).collect();
            assert_eq!(
                cells[1..],
                [
                    "01/01/2022",
                    "CPAM Paris (75) — ACI",
                    "ACI n° 1, année 1 — Accès aux soins – part variable — solde",
                    "7 040,00 €",
                    "0,00 €",
                    "exigible"
                ],
                "[{engine}] {ledger}"
            );
        }
        let all = ok(&d, &["ledger", "show", ID, "--all"]);
        let lines = variable_balance(&all);
        assert_eq!(lines.len(), 2, "{all}");
        assert!(lines.iter().any(|l| l.contains("10 000,00 €") && l.trim_end().ends_with("annulé")), "{all}");
        let contract = ok(&d, &["contract", "show", ID]);
        assert!(contract.contains("Rapports validés : année 1 le 01/02/2022"), "{contract}");
        let a = ok(&d, &["achievement", ID, "--year", "1"]);
        assert!(
            a.contains("résultats du rapport validé") && a.contains("Part variable de l'année : 7 040,00 €"),
            "{a}"
        );

        // A value corrected in the validated year is stored, with a warning: the report and
        // the ledger keep the validated results.
        let ledger = ok(&d, &["ledger", "show", ID]);
        let set = ["values", "set", ID, "patients_sans_mt_aides", "2021-03", "9", "--as", "cpts", "--by", "x"];
        let out = ok(&d, &set);
        assert!(out.contains("dont 1 correction(s)"), "{out}");
        assert!(
            out.contains("Attention : 1 valeur(s) de cpts-test-rapport comptent dans l'année 1 du contrat n° 1, dont le rapport est validé : elles sont enregistrées, mais le rapport validé garde ses résultats et le grand livre ses montants."),
            "[{engine}] {out}"
        );
        assert_eq!(ok(&d, &["ledger", "show", ID]), ledger, "[{engine}] the ledger changed");
        assert!(ok(&d, &["achievement", ID, "--year", "1"]).contains("Part variable de l'année : 7 040,00 €"));
        ok(&d, &["values", "set", ID, "patients_sans_mt_aides", "2021-03", "7", "--as", "cpts", "--by", "x"]);

        // Validated: it no longer changes; a new draft is version 2.
        let e = refused(&d, &step("comment", "cpam", "Agent CPAM", "2022-02-02"));
        assert!(e.contains("la version 1 du rapport est validée : elle ne change plus"), "[{engine}] {e}");
        let e = refused(&d, &step("validate", "cpam", "Agent CPAM", "2022-02-01"));
        assert!(e.contains("ne change plus"), "{e}");
        let out = ok(&d, &draft_args(&draft, "Coordinatrice", "2022-03-01"));
        assert!(
            out.contains("Rapport de l'année 1 (version 2) : étape « rédaction » enregistrée ; statut « brouillon ».")
        );
        let list = ok(&d, &["report", "list", ID]);
        let rows: Vec<Vec<&str>> = body(&list).iter().map(|l| l.split_whitespace().collect()).collect();
        assert_eq!(rows.len(), 2, "{list}");
        assert_eq!(rows[0][..5], [ID, "1", "1", "1", "validé"], "{list}");
        assert_eq!(rows[1][..5], [ID, "1", "1", "2", "brouillon"], "{list}");
        assert!(list.contains("validation le 01/02/2022 par Agent CPAM"), "{list}");
        let v1 = ok(&d, &["report", "show", ID, "--year", "1", "--version", "1"]);
        assert!(v1.contains("validé"), "{v1}");
        // The validated balance stays as it was.
        assert_eq!(variable_balance(&ok(&d, &["ledger", "show", ID])).len(), 1);
    }
}

/// Whether a poppler tool runs; without it the test fails on CI and is skipped elsewhere.
fn poppler(tool: &str) -> bool {
    if Command::new(tool).arg("-v").output().is_ok() {
        return true;
    }
    assert!(
        std::env::var("CI").is_err(),
        "CI=true mais `{tool}` est introuvable : installer poppler-utils pour vérifier le PDF"
    );
    eprintln!("note : `{tool}` introuvable (poppler-utils), vérification du PDF sautée");
    false
}

#[test]
fn the_validated_report_exports_to_pdf_csv_and_xlsx() {
    for (engine, d) in dbs("export") {
        let tag = format!("{engine}-export");
        signed(&d, &tag);
        review_until_answer(&d, &tag);
        // The registry's identifiers are printed on the report, as they stood when it was
        // validated (a validated version is frozen).
        let shown = ok(&d, &["show", ID]);
        let version = shown.split("— version ").nth(1).and_then(|v| v.split_whitespace().next()).unwrap().to_string();
        let edit = ["edit", ID, "--version", &version, "--siret", "123 456 789 00015", "--finess", "750012345"];
        ok(&d, &[&edit[..], &["--seat", "75118"]].concat());
        ok(&d, &step("validate", "cpam", "Agent CPAM", "2022-02-01"));
        let pdf = dir().join(format!("{tag}-rapport.pdf"));
        let out = ok(&d, &["report", "export", ID, "--year", "1", path(&pdf)]);
        assert!(out.contains("Rapport de l'année 1 (version 1, validé) exporté dans"), "{out}");
        let bytes = std::fs::read(&pdf).unwrap();
        assert!(bytes.starts_with(b"%PDF-"), "[{engine}] not a PDF");
        assert!(bytes.windows(5).any(|w| w == b"%%EOF"), "[{engine}] truncated PDF");

        if poppler("pdfinfo") {
            let o = Command::new("pdfinfo").arg(&pdf).output().unwrap();
            let (info, err) = text(&o);
            assert!(o.status.success(), "[{engine}] pdfinfo : {err}");
            let pages: u32 = info
                .lines()
                .find_map(|l| l.strip_prefix("Pages:"))
                .map(|p| p.trim().parse().unwrap())
                .unwrap_or_else(|| panic!("{info}"));
            assert!(pages >= 1, "{info}");
            assert!(info.contains("Rapport d'activité"), "{info}");
        }
        if poppler("pdftotext") {
            let o = Command::new("pdftotext").args(["-layout", path(&pdf), "-"]).output().unwrap();
            let (t, err) = text(&o);
            assert!(o.status.success(), "[{engine}] pdftotext : {err}");
            let t = t.replace('\u{a0}', " ");
            for expected in [
                "Rapport d'activité",
                NAME,
                "CPAM Paris (75)",
                "ARS Île-de-France",
                "Version 1 – statut : validé",
                "Cellule médecin traitant",
                "Patients sans médecin traitant",
                "7 040,00 €",
                "Part variable totale de l'année : 7 040,00 €.",
                "48 500,50 €",
                "Dialogue de gestion",
                "Détail des créneaux ?",
                "Agent CPAM (cpam)",
            ] {
                assert!(t.contains(expected), "[{engine}] missing « {expected} » in the PDF:\n{t}");
            }
            // Arrows set in Symbol read as arrows (not « -> »); rates as a reader expects.
            assert!(t.contains("→ atteinte 84 %"), "[{engine}] no arrow in the PDF:\n{t}");
            assert!(!t.contains("->"), "[{engine}] « -> » in the PDF:\n{t}");
            assert!(t.contains("taux d'atteinte pondéré 70,4 %"), "[{engine}]\n{t}");
            // Identifiers, the variable part as a table, a signature block.
            for expected in [
                "SIRET : 12345678900015 ; FINESS : 750012345 ; siège : Paris 18e Arrondissement (75118)",
                "Enveloppe annuelle",
                "Signatures",
                "Rapport validé le 01/02/2022 par Agent CPAM.",
                "Pour la CPTS :",
                "Pour l'Assurance Maladie :",
            ] {
                assert!(t.contains(expected), "[{engine}] missing « {expected} » in the PDF:\n{t}");
            }
            let row = t.lines().find(|l| l.contains("10 000,00 €")).unwrap_or_else(|| panic!("{t}"));
            assert!(row.contains("70,4 %") && row.contains("7 040,00 €"), "[{engine}] variable row: {row}");
        }

        // The year-1 operating allocation (50 000 €, due at signature) is paid.
        let ledger = ok(&d, &["ledger", "show", ID]);
        let line = ledger
            .lines()
            .find(|l| l.contains("année 1 — Fonctionnement"))
            .and_then(|l| l.split_whitespace().next())
            .unwrap_or_else(|| panic!("{ledger}"))
            .to_string();
        ok(&d, &["ledger", "pay", ID, &line, "--on", "2021-01-15", "--by", "CPAM"]);
        let csv = dir().join(format!("{tag}-rapport.csv"));
        ok(&d, &["report", "export", ID, "--year", "1", path(&csv)]);
        let bytes = std::fs::read(&csv).unwrap();
        assert!(bytes.starts_with(b"\xef\xbb\xbf"), "[{engine}] no BOM");
        let s = String::from_utf8(bytes).unwrap();
        assert!(s.lines().any(|l| l == "Indicateurs"), "{s}");
        assert!(s.contains("Indicateur;Valeur;Référence;Cible;Atteinte;Poids;Couverture"), "{s}");
        assert!(s.contains(";84;0;100;84 %;60 %;12/12 mois"), "{s}");
        // Its header (contract, year, version, status), the variable part per mission with its
        // total, and the year's entitlement against paid and still due.
        assert!(
            s.contains("\n\"Contrat ACI n° 1 signé le 01/01/2021 ; année 1")
                && s.contains("\nVersion 1 – statut : validé\n"),
            "{s}"
        );
        assert!(
            s.contains("Mission;Enveloppe annuelle;Jours de l'année;Atteinte pondérée;Montant\n")
                && s.contains("Total de la part variable;;;;7 040,00 €"),
            "{s}"
        );
        assert!(
            s.contains("Composante;Droit de l'année;Payé;Reste dû\n")
                && s.contains("\nFonctionnement;50 000,00 €;50 000,00 €;0,00 €\n")
                && s.contains("\nTotal;104 040,00 €;50 000,00 €;54 040,00 €\n"),
            "{s}"
        );
        // A payment after the validation leaves the validated version as it was.
        let ledger = ok(&d, &["ledger", "show", ID]);
        let balance = variable_balance(&ledger)[0].split_whitespace().next().unwrap().to_string();
        ok(&d, &["ledger", "pay", ID, &balance, "--on", "2022-02-10", "--by", "CPAM"]);
        ok(&d, &["report", "export", ID, "--year", "1", path(&csv)]);
        assert_eq!(std::fs::read_to_string(&csv).unwrap(), s, "[{engine}]");
        let xlsx = dir().join(format!("{tag}-rapport.xlsx"));
        ok(&d, &["report", "export", ID, "--year", "1", path(&xlsx)]);
        assert!(std::fs::read(&xlsx).unwrap().starts_with(b"PK"), "[{engine}] not an XLSX file");

        let e = refused(&d, &["report", "export", ID, "--year", "1", path(&dir().join("rapport.docx"))]);
        assert!(e.contains("extension attendue .pdf, .csv ou .xlsx"), "{e}");
        if engine == "sqlite" {
            let e = refused(&d, &["report", "export", ID, "--year", "1", &d]);
            assert!(e.contains("extension attendue .pdf, .csv ou .xlsx"), "{e}");
            assert!(ok(&d, &["report", "list"]).contains("validé"), "the store changed");
        }
        let e = refused(&d, &["report", "export", ID, "--year", "2", path(&pdf)]);
        assert!(e.contains("pas de rapport pour l'année 2"), "{e}");
    }
}

/// A report version shows its year as it stood on its last day: printed after a later
/// deployment (and years after the year), the PDF and the CSV are the same bytes.
#[test]
fn a_validated_report_is_the_same_document_after_a_later_deployment() {
    for (engine, d) in dbs("frozen") {
        let tag = format!("{engine}-frozen");
        signed(&d, &tag);
        review_until_answer(&d, &tag);
        ok(&d, &step("validate", "cpam", "Agent CPAM", "2022-02-01"));
        let export = |name: &str| {
            let f = dir().join(format!("{tag}-{name}"));
            let _ = std::fs::remove_file(&f);
            ok(&d, &["report", "export", ID, "--year", "1", path(&f)]);
            std::fs::read(&f).unwrap()
        };
        let (pdf, csv) = (export("v1.pdf"), export("v1.csv"));
        let shown = ok(&d, &["report", "show", ID, "--year", "1"]);
        let missions: Vec<&str> = shown.lines().filter(|l| l.contains("(socle)")).collect();
        assert_eq!(missions.len(), 3, "[{engine}] {shown}");
        assert!(missions.iter().all(|l| l.contains("démarrée") && !l.contains("en retard")), "[{engine}] {shown}");
        assert!(shown.contains("Situation au 31/12/2021"), "{shown}");
        ok(&d, &["contract", "deploy", ID, "parcours", "--on", "2022-06-01"]);
        assert!(ok(&d, &["contract", "calendar", ID]).contains("01/06/2022"));
        assert_eq!(ok(&d, &["report", "show", ID, "--year", "1"]), shown, "[{engine}]");
        assert!(export("v1-again.pdf") == pdf, "[{engine}] the PDF changed");
        assert_eq!(String::from_utf8(export("v1-again.csv")).unwrap(), String::from_utf8(csv).unwrap(), "[{engine}]");
    }
}

/// Excel's « CSV UTF-8 » ends lines with CRLF, and people leave blank lines: the error must
/// still name the line as the spreadsheet numbers it (the csv crate's own line numbers are one
/// short there: BurntSushi/rust-csv#395 and #208).
#[test]
fn errors_name_the_right_line_with_crlf_and_blank_lines() {
    for (engine, d) in dbs("crlf") {
        let tag = format!("{engine}-crlf");
        signed(&d, &tag);
        let rows = [
            format!("{ID};patients_sans_mt_aides;2021-05;7;;"),
            format!("{ID};couverture_vaccinale;2021;50;;"), // line 3
        ];
        let f = temp(&format!("{tag}-crlf.csv"), &csv_bytes(&rows, "\r\n"));
        let e = refused(&d, &["values", "import", path(&f), "--as", "cpts", "--by", "x"]);
        assert!(e.contains("ligne 3, colonne « Indicateur »"), "[{engine}] CRLF:\n{e}");
        let blank = [rows[0].clone(), String::new(), rows[1].clone()]; // line 4 after a blank line
        let f = temp(&format!("{tag}-blank.csv"), &csv_bytes(&blank, "\n"));
        let e = refused(&d, &["values", "import", path(&f), "--as", "cpts", "--by", "x"]);
        assert!(e.contains("ligne 4, colonne « Indicateur »"), "[{engine}] blank line:\n{e}");
    }
}

/// A file naming thousands of unknown CPTS: one listing of the store, not two queries per id,
/// and an error list that shows the first errors and counts the rest.
#[test]
fn many_unknown_cpts_give_a_short_error_list_quickly() {
    for (engine, d) in dbs("unknown") {
        ok(&d, &["create", NAME]);
        let rows: Vec<String> =
            (0..5_000).map(|i| format!("cpts-inconnue-{i};patients_sans_mt_aides;2021-05;7;;")).collect();
        let f = csv_file(&format!("{engine}-unknown.csv"), &rows);
        let started = std::time::Instant::now();
        let e = refused(&d, &["values", "import", path(&f), "--as", "cpts", "--by", "x"]);
        assert!(e.contains("import refusé, rien n'a été enregistré (5000 erreur(s))"), "[{engine}] {e}");
        assert!(e.contains("ligne 2, colonne « CPTS » : CPTS « cpts-inconnue-0 » inconnue"), "[{engine}] {e}");
        assert!(e.trim_end().ends_with("… et 4900 autres erreurs"), "[{engine}] {e}");
        assert!(e.lines().count() < 110, "[{engine}] {} lines", e.lines().count());
        assert!(started.elapsed() < std::time::Duration::from_secs(20), "[{engine}] {:?}", started.elapsed());
    }
}
