//! `cpts demo`: the Paris CPTS as they stood on 25 October 2021 (ARS Île-de-France /
//! Assurance Maladie deck of 28/10/2021), on their real arrondissements. DEMO DATA: names and
//! territories from that deck, populations from INSEE; no identifier (SIRET, RNA…) is invented.

use cpts_domain::ids::CptsId;
use cpts_domain::registry::{Identity, Territory};
use cpts_store::{Store, StoreError};

use crate::load::CliError;

/// (identifier, name, arrondissements, situation on 25/10/2021 per the deck).
const PARIS_2021: &[(&str, &str, &[&str], &str)] = &[
    ("cpts-paris-18", "CPTS Paris 18", &["75118"], "contrat ACI signé (décembre 2019)"),
    ("cpts-paris-14", "CPTS Paris 14", &["75114"], "contrat ACI signé (janvier 2020)"),
    ("cpts-paris-13", "CPTS Paris 13", &["75113"], "contrat ACI signé (janvier 2020)"),
    ("cpts-paris-20", "CPTS Paris 20", &["75120"], "contrat ACI signé (novembre 2020)"),
    ("cpts-paris-10", "CPTS Paris 10", &["75110"], "contrat ACI signé (juin 2021)"),
    ("cpts-paris-8", "CPTS Paris 8", &["75108"], "contrat ACI signé (septembre 2021)"),
    ("cpts-paris-12", "CPTS Paris 12", &["75112"], "adhésion à l'ACI prévue en novembre 2021"),
    ("cpts-paris-centre", "CPTS Paris Centre", &["75101", "75102", "75103", "75104"], "phase 1"),
    ("cpts-paris-5", "CPTS Paris 5", &["75105"], "phase 1"),
    ("cpts-paris-6", "CPTS Paris 6", &["75106"], "phase 1"),
    ("cpts-paris-9", "CPTS Paris 9", &["75109"], "phase 1"),
    ("cpts-paris-11", "CPTS Paris 11", &["75111"], "phase 1"),
    ("cpts-paris-15", "CPTS Paris 15", &["75115"], "phase 1"),
    ("cpts-paris-16", "CPTS Paris 16", &["75116"], "phase 1"),
    ("cpts-paris-19", "CPTS Paris 19", &["75119"], "phase 1"),
    ("cpts-paris-17", "CPTS Paris 17", &["75117"], "en cours de formalisation"),
    ("projet-paris-7", "Projet de CPTS Paris 7", &["75107"], "manifestation d'intérêt auprès de l'ARS"),
];

/// Load the demo into `store` (already loaded CPTS are left as they are).
pub async fn load(store: &Store) -> Result<String, CliError> {
    let (mut added, mut kept) = (0, 0);
    for (id, name, codes, _) in PARIS_2021 {
        let cid: CptsId = id.parse().map_err(CliError::Failed)?;
        let identity = Identity {
            name: (*name).to_string(),
            legal_form: "association loi 1901".into(),
            rna: None,
            siret: None,
            finess: None,
            seat: None, // not in the source: left unknown
        };
        let record = match store.create_cpts(&cid, &identity).await {
            Ok(r) => r,
            Err(StoreError::AlreadyExists(_)) => {
                kept += 1;
                continue;
            }
            Err(e) => return Err(CliError::Failed(e.to_string())),
        };
        let communes = codes.iter().map(|c| c.parse()).collect::<Result<_, String>>().map_err(CliError::Failed)?;
        store
            .set_territory(&cid, record.version, &Territory { communes })
            .await
            .map_err(|e| CliError::Failed(e.to_string()))?;
        added += 1;
    }
    let mut out = format!(
        "Données de démonstration : les {} CPTS et projets parisiens au 25 octobre 2021 (support ARS Île-de-France / Assurance Maladie du 28/10/2021), sur leurs arrondissements réels.\n{added} ajoutée(s), {kept} déjà présente(s).\nSituation au 25/10/2021 :\n",
        PARIS_2021.len()
    );
    for (id, _, _, state) in PARIS_2021 {
        out.push_str(&format!("  {id} : {state}\n"));
    }
    Ok(out)
}
