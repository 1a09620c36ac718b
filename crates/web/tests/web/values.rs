//! Indicator values in the web app: a value typed in the form, CSV and XLSX files imported all
//! or nothing (every bad line listed), the chart and its CSV, and refusals that write nothing.

use axum::http::StatusCode;
use cpts_app::testkit::admin;

use crate::common::{Client, MINE, Reply, World, audit_rows, signed, worlds};

pub const VALUES: &str = "/cpts/cpts-paris-18/indicateurs";

/// A file sent through the import form.
pub async fn upload(c: &mut Client, path: &str, name: &str, bytes: &[u8]) -> Reply {
    c.upload(path, name, bytes, &[]).await
}

async fn stored(w: &World) -> Vec<String> {
    let id = MINE.parse().unwrap();
    w.app.values(&admin(), &id, None).await.unwrap().iter().map(|e| format!("{} {} {}", e.indicator, e.period, e.reading.value)).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_coordinator_types_a_value_and_imports_files_all_or_nothing() {
    for w in worlds().await {
        let e = w.engine;
        let mut c = signed(&w, "coord").await;
        let page = c.get(VALUES).await;
        assert_eq!(page.status, StatusCode::OK, "[{e}]");
        assert!(page.body.contains("Saisir une valeur") && page.body.contains("Aucune valeur enregistrée"), "[{e}]");
        let start = audit_rows(&w.app).await;

        // Typed, with a decimal comma: stored, one audit row, a confirmation after the redirect.
        let r = c.post(&format!("{VALUES}/saisie"), &[("indicateur", "snp_taux_reponse"), ("periode", "2021-01"), ("valeur", "65,5")]).await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "[{e}] {}", r.body);
        assert_eq!(r.location(), format!("{VALUES}?enregistre=1&inchangees=0"));
        assert_eq!(audit_rows(&w.app).await, start + 1, "[{e}]");
        assert_eq!(stored(&w).await, ["snp_taux_reponse 2021-01 65,5"], "[{e}]");
        let page = c.get(r.location()).await;
        assert!(page.body.contains("1 valeur(s) enregistrée(s)"), "[{e}]");
        // The chart (accessible SVG), its table and its CSV.
        assert!(page.body.contains("role=\"img\"") && page.body.contains("<title id=\"graphique-snp_taux_reponse-t\">"), "[{e}]");
        assert!(page.body.contains("saisie") && page.body.contains("Compte coord pour la CPTS"), "[{e}] provenance shown");
        let csv = c.get(&format!("{VALUES}/snp_taux_reponse/serie.csv")).await;
        assert_eq!(csv.status, StatusCode::OK, "[{e}]");
        assert!(csv.body.contains("2021-01;65,5;;;1;80"), "[{e}] {}", csv.body);

        // A wrong typed value: 422, the form kept, the error next to its field, nothing written.
        let r = c.post(&format!("{VALUES}/saisie"), &[("indicateur", "snp_taux_reponse"), ("periode", "2021-13"), ("valeur", "abc")]).await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "[{e}]");
        assert!(r.body.contains("role=\"alert\"") && r.body.contains("href=\"#periode\""), "[{e}] {}", r.body);
        assert!(r.body.contains("value=\"abc\"") && r.body.contains("aria-invalid=\"true\""), "[{e}]");
        assert_eq!(audit_rows(&w.app).await, start + 1, "[{e}]");

        // A CSV file: stored whole, one audit row.
        let file = "CPTS;Indicateur;Période;Valeur;Numérateur;Dénominateur\ncpts-paris-18;patients_sans_mt_aides;2021-01;7;;\ncpts-paris-18;snp_taux_reponse;2021-02;;65;100\n";
        let r = upload(&mut c, &format!("{VALUES}/import"), "valeurs.csv", file.as_bytes()).await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "[{e}] {}", r.body);
        assert_eq!(audit_rows(&w.app).await, start + 2, "[{e}]");
        assert_eq!(stored(&w).await.len(), 3, "[{e}]");
        assert!(c.get(VALUES).await.body.contains("import (valeurs.csv)"), "[{e}]");

        // An XLSX workbook, built as the export writes it.
        let header: Vec<String> = cpts_app::values::VALUE_HEADER.iter().map(|h| h.to_string()).collect();
        let rows = vec![vec!["cpts-paris-18".into(), "patients_sans_mt_aides".into(), "2021-02".into(), "8".into(), String::new(), String::new()]];
        let xlsx = cpts_render::sheets_xlsx([("Valeurs", header.as_slice(), rows.as_slice())]).unwrap();
        let r = upload(&mut c, &format!("{VALUES}/import"), "valeurs.xlsx", &xlsx).await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "[{e}] {}", r.body);
        assert_eq!(audit_rows(&w.app).await, start + 3, "[{e}]");
        assert_eq!(stored(&w).await.len(), 4, "[{e}]");

        // Two bad lines: 422, both listed with their line and column, nothing stored.
        let before = stored(&w).await;
        let bad = "CPTS;Indicateur;Période;Valeur\ncpts-paris-18;patients_sans_mt_aides;2021-03;9\ncpts-paris-18;patients_sans_mt_aides;2021-13;9\ncpts-paris-18;indicateur_inconnu;2021-03;1\n";
        let r = upload(&mut c, &format!("{VALUES}/import"), "mauvais.csv", bad.as_bytes()).await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "[{e}]");
        assert!(r.body.contains("mauvais.csv : import refusé, rien n'a été enregistré (2 erreurs)"), "[{e}] {}", r.body);
        assert!(r.body.contains("ligne 3, colonne « Période »") && r.body.contains("ligne 4, colonne « Indicateur »"), "[{e}] {}", r.body);
        assert_eq!(stored(&w).await, before, "[{e}]");
        assert_eq!(audit_rows(&w.app).await, start + 3, "[{e}]");

        // Too large: refused with a clear message, nothing read.
        let big = vec![b'a'; (10 << 20) + 10];
        let r = upload(&mut c, &format!("{VALUES}/import"), "gros.csv", &big).await;
        assert_eq!(r.status, StatusCode::PAYLOAD_TOO_LARGE, "[{e}]");
        assert!(r.body.contains("dépasse 10 Mo"), "[{e}]");
        // Without the token in the URL: refused by the guard.
        let mut other = signed(&w, "coord").await;
        other.csrf = Some("faux".into());
        assert_eq!(upload(&mut other, &format!("{VALUES}/import"), "v.csv", file.as_bytes()).await.status, StatusCode::FORBIDDEN);
        assert_eq!(audit_rows(&w.app).await, start + 3, "[{e}]");
    }
}
