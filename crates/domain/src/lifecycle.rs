//! The life of a CPTS, from the declaration of interest to the end of its ACI contract:
//! an explicit state machine with a dated history. Each step names the roles allowed to
//! take it and guards that refuse it with a reason (seed 002; ACI 2019 eligibility).

use std::fmt;

use jiff::civil::Date;

use cpts_engine::dates::fr;

/// Who acts: the CPTS (its coordinator or board), the ARS, the CPAM.
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Actor {
    Cpts,
    Ars,
    Cpam,
}

impl Actor {
    pub const ALL: [Actor; 3] = [Actor::Cpts, Actor::Ars, Actor::Cpam];

    pub fn code(self) -> &'static str {
        match self {
            Actor::Cpts => "cpts",
            Actor::Ars => "ars",
            Actor::Cpam => "cpam",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Actor::Cpts => "la CPTS",
            Actor::Ars => "l'ARS",
            Actor::Cpam => "la CPAM",
        }
    }

    pub fn parse(s: &str) -> Result<Actor, String> {
        let s = s.trim().to_lowercase();
        Actor::ALL
            .into_iter()
            .find(|a| a.code() == s)
            .ok_or_else(|| format!("rôle inconnu « {s} » (attendu : cpts, ars ou cpam)"))
    }
}

/// Where a CPTS stands.
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Stage {
    Interest,
    Formalisation,
    LetterValidated,
    Phase1,
    ProjectSubmitted,
    ProjectValidated,
    Signed,
    Renewed,
    Terminated,
    Expired,
}

impl Stage {
    pub const ALL: [Stage; 10] = [
        Stage::Interest,
        Stage::Formalisation,
        Stage::LetterValidated,
        Stage::Phase1,
        Stage::ProjectSubmitted,
        Stage::ProjectValidated,
        Stage::Signed,
        Stage::Renewed,
        Stage::Terminated,
        Stage::Expired,
    ];

    pub fn code(self) -> &'static str {
        match self {
            Stage::Interest => "interet",
            Stage::Formalisation => "formalisation",
            Stage::LetterValidated => "lettre-validee",
            Stage::Phase1 => "phase-1",
            Stage::ProjectSubmitted => "projet-depose",
            Stage::ProjectValidated => "projet-valide",
            Stage::Signed => "contrat-signe",
            Stage::Renewed => "renouvele",
            Stage::Terminated => "resilie",
            Stage::Expired => "echu",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Stage::Interest => "déclaration d'intérêt",
            Stage::Formalisation => "projet en formalisation",
            Stage::LetterValidated => "lettre d'intention validée par l'ARS",
            Stage::Phase1 => "phase 1 (diagnostic territorial, projet de santé)",
            Stage::ProjectSubmitted => "projet de santé déposé",
            Stage::ProjectValidated => "projet de santé validé (non-opposition de l'ARS)",
            Stage::Signed => "contrat ACI signé",
            Stage::Renewed => "contrat ACI renouvelé",
            Stage::Terminated => "contrat résilié",
            Stage::Expired => "contrat arrivé à échéance",
        }
    }

    pub fn from_code(s: &str) -> Option<Stage> {
        Stage::ALL.into_iter().find(|x| x.code() == s)
    }

    /// Under an ACI contract in force.
    pub fn under_contract(self) -> bool {
        matches!(self, Stage::Signed | Stage::Renewed)
    }
}

/// A transition. `Declare` opens the history.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum Step {
    Declare,
    Formalise,
    ValidateLetter,
    StartPhase1,
    SubmitProject,
    ValidateProject,
    OpposeProject,
    Sign,
    Renew,
    Terminate,
    Expire,
}

impl Step {
    pub const ALL: [Step; 11] = [
        Step::Declare,
        Step::Formalise,
        Step::ValidateLetter,
        Step::StartPhase1,
        Step::SubmitProject,
        Step::ValidateProject,
        Step::OpposeProject,
        Step::Sign,
        Step::Renew,
        Step::Terminate,
        Step::Expire,
    ];

    pub fn code(self) -> &'static str {
        match self {
            Step::Declare => "declarer",
            Step::Formalise => "formaliser",
            Step::ValidateLetter => "valider-lettre",
            Step::StartPhase1 => "phase-1",
            Step::SubmitProject => "deposer-projet",
            Step::ValidateProject => "valider-projet",
            Step::OpposeProject => "opposer-projet",
            Step::Sign => "signer",
            Step::Renew => "renouveler",
            Step::Terminate => "resilier",
            Step::Expire => "echeance",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Step::Declare => "déclaration d'intérêt auprès de l'ARS",
            Step::Formalise => "formalisation du projet",
            Step::ValidateLetter => "validation de la lettre d'intention par l'ARS",
            Step::StartPhase1 => "entrée en phase 1",
            Step::SubmitProject => "dépôt du projet de santé",
            Step::ValidateProject => "validation du projet de santé (non-opposition)",
            Step::OpposeProject => "opposition de l'ARS au projet de santé",
            Step::Sign => "signature du contrat ACI",
            Step::Renew => "renouvellement du contrat ACI",
            Step::Terminate => "résiliation du contrat ACI",
            Step::Expire => "arrivée à échéance du contrat",
        }
    }

    pub fn parse(s: &str) -> Result<Step, String> {
        let s = s.trim().to_lowercase();
        Step::ALL.into_iter().find(|x| x.code() == s).ok_or_else(|| {
            let known: Vec<&str> = Step::ALL.iter().map(|x| x.code()).collect();
            format!("étape inconnue « {s} » (étapes : {})", known.join(", "))
        })
    }

    /// The stages this step leaves from (empty: opens the history) and the stage it leads to.
    pub fn edge(self) -> (&'static [Stage], Stage) {
        use Stage::*;
        match self {
            Step::Declare => (&[], Interest),
            Step::Formalise => (&[Interest], Formalisation),
            Step::ValidateLetter => (&[Formalisation], LetterValidated),
            Step::StartPhase1 => (&[LetterValidated], Phase1),
            Step::SubmitProject => (&[Phase1], ProjectSubmitted),
            Step::ValidateProject => (&[ProjectSubmitted], ProjectValidated),
            Step::OpposeProject => (&[ProjectSubmitted], Phase1),
            Step::Sign => (&[ProjectValidated], Signed),
            Step::Renew => (&[Signed, Renewed, Expired], Renewed),
            Step::Terminate => (&[Signed, Renewed], Terminated),
            Step::Expire => (&[Signed, Renewed], Expired),
        }
    }

    /// Who may take the step.
    pub fn roles(self) -> &'static [Actor] {
        match self {
            Step::Declare | Step::Formalise | Step::SubmitProject => &[Actor::Cpts],
            Step::ValidateLetter | Step::ValidateProject | Step::OpposeProject => &[Actor::Ars],
            Step::StartPhase1 => &[Actor::Ars, Actor::Cpts],
            Step::Sign | Step::Renew => &[Actor::Cpam, Actor::Ars],
            Step::Terminate => &[Actor::Cpam],
            Step::Expire => &[Actor::Cpam, Actor::Ars, Actor::Cpts],
        }
    }

    /// Parties that must all sign (the CPTS signs as the contract's holder).
    pub fn signatories(self) -> &'static [Actor] {
        match self {
            Step::Sign | Step::Renew => &[Actor::Cpam, Actor::Ars],
            _ => &[],
        }
    }
}

/// One dated step of the history.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Event {
    pub step: Step,
    pub date: Date,
    pub actor: Actor,
    /// Name of the person or office that acted.
    pub by: String,
    /// Reference of the document (deliberation, ARS letter, signed contract…).
    pub document: Option<String>,
    pub note: Option<String>,
    /// For co-signed steps: every party that signed.
    pub signatories: Vec<Actor>,
}

/// What the guards of contract steps need to know, gathered by the caller.
#[derive(Clone, Debug, Default)]
pub struct Eligibility {
    pub has_territory: bool,
    /// Legal form is an association (L.1434-12-1 CSP).
    pub association: bool,
    /// Date the statutes were checked to meet the ACI criteria.
    pub statutes_checked: Option<Date>,
    /// Codes of socle missions of the version in force missing from the contract.
    pub missing_socles: Vec<String>,
    /// For expiry: the end of the contract in force.
    pub contract_end: Option<Date>,
    /// Whether a contract's terms are given with the step (sign/renew).
    pub contract_given: bool,
}

/// Why a step was refused.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Refusal(pub Vec<String>);

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "refusé : {}", self.0.join(" ; "))
    }
}

impl std::error::Error for Refusal {}

/// The stage reached after a history (`None` before any step).
pub fn stage(history: &[Event]) -> Option<Stage> {
    history.last().map(|e| e.step.edge().1)
}

/// The stage on `on`: the steps recorded by then, and « échu » once the term of the contract in
/// force is over. `contract_end` is that term (exclusive: the last anniversary of the signature);
/// its end follows from the dates, so no recorded step is needed (the « echeance » step only
/// dates it explicitly). A termination is a recorded step, not a date of the term.
pub fn stage_on(history: &[Event], contract_end: Option<Date>, on: Date) -> Option<Stage> {
    let recorded = history.iter().take_while(|e| e.date <= on).last().map(|e| e.step.edge().1)?;
    if recorded.under_contract() && contract_end.is_some_and(|end| end <= on) {
        Some(Stage::Expired)
    } else {
        Some(recorded)
    }
}

/// Check that `ev` may follow `history`. Every reason is given at once.
pub fn check(history: &[Event], ev: &Event, facts: &Eligibility, today: Date) -> Result<Stage, Refusal> {
    let mut why = Vec::new();
    let current = stage(history);
    let (from, to) = ev.step.edge();
    match current {
        None if !from.is_empty() => why.push(format!(
            "{} impossible : aucune étape enregistrée, commencez par la déclaration d'intérêt",
            ev.step.label()
        )),
        Some(s) if !from.contains(&s) => {
            let expected: Vec<&str> = from.iter().map(|x| x.label()).collect();
            why.push(if from.is_empty() {
                format!("la CPTS a déjà un historique (étape actuelle : {})", s.label())
            } else {
                format!(
                    "{} impossible depuis l'étape « {} » (attendu : {})",
                    ev.step.label(),
                    s.label(),
                    expected.join(" ou ")
                )
            });
        }
        _ => {}
    }
    if !ev.step.roles().contains(&ev.actor) {
        let allowed: Vec<&str> = ev.step.roles().iter().map(|a| a.label()).collect();
        why.push(format!("{} : réservé à {} (et non {})", ev.step.label(), allowed.join(" ou "), ev.actor.label()));
    }
    for s in ev.step.signatories() {
        if !ev.signatories.contains(s) && *s != ev.actor {
            why.push(format!("le contrat est cosigné par la CPAM et l'ARS : signature de {} manquante", s.label()));
        }
    }
    if let Some(last) = history.last()
        && ev.date < last.date
    {
        why.push(format!(
            "date du {} antérieure à l'étape précédente ({}, le {})",
            fr(ev.date),
            last.step.label(),
            fr(last.date)
        ));
    }
    if ev.date > today {
        why.push(format!("date du {} dans le futur : on enregistre ce qui a eu lieu", fr(ev.date)));
    }
    if ev.by.trim().is_empty() {
        why.push("indiquez qui a agi".into());
    }
    if matches!(ev.step, Step::Sign | Step::Renew) {
        contract_guards(facts, &mut why);
    }
    if ev.step == Step::Expire {
        match facts.contract_end {
            Some(end) if ev.date < end => why.push(format!(
                "le contrat court jusqu'au {} inclus : pas encore arrivé à échéance",
                fr(cpts_engine::dates::day_before(end).unwrap_or(end))
            )),
            None => why.push("aucun contrat en cours".into()),
            _ => {}
        }
    }
    if why.is_empty() { Ok(to) } else { Err(Refusal(why)) }
}

/// ACI eligibility (art. 5; seed 002): territory, association with the required statutes,
/// and every socle mission of the version in force. The validated projet de santé is the
/// stage the step leaves from.
fn contract_guards(facts: &Eligibility, why: &mut Vec<String>) {
    if !facts.contract_given {
        why.push("les termes du contrat (missions, enveloppes, objectifs) sont à fournir".into());
    }
    if !facts.has_territory {
        why.push("territoire non renseigné : un contrat couvre la population d'un territoire".into());
    }
    if !facts.association {
        why.push("la CPTS doit être une association (article L. 1434-12-1 du code de la santé publique)".into());
    }
    if facts.statutes_checked.is_none() {
        why.push(
            "statuts non vérifiés : pluriprofessionnalité, adhésion de personnes physiques et morales, réception et redistribution des fonds de l'Assurance Maladie, recrutement de personnel"
                .into(),
        );
    }
    if !facts.missing_socles.is_empty() {
        why.push(format!("missions socles absentes du contrat : {}", facts.missing_socles.join(", ")));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::civil::date;

    fn ev(step: Step, d: Date, actor: Actor) -> Event {
        Event {
            step,
            date: d,
            actor,
            by: "x".into(),
            document: None,
            note: None,
            signatories: step.signatories().to_vec(),
        }
    }

    fn eligible() -> Eligibility {
        Eligibility {
            has_territory: true,
            association: true,
            statutes_checked: Some(date(2019, 1, 1)),
            missing_socles: vec![],
            contract_end: None,
            contract_given: true,
        }
    }

    #[test]
    fn full_path_to_signature() {
        let today = date(2021, 1, 1);
        let mut h = Vec::new();
        let steps = [
            (Step::Declare, Actor::Cpts),
            (Step::Formalise, Actor::Cpts),
            (Step::ValidateLetter, Actor::Ars),
            (Step::StartPhase1, Actor::Ars),
            (Step::SubmitProject, Actor::Cpts),
            (Step::OpposeProject, Actor::Ars),
            (Step::SubmitProject, Actor::Cpts),
            (Step::ValidateProject, Actor::Ars),
            (Step::Sign, Actor::Cpam),
        ];
        for (i, (s, a)) in steps.into_iter().enumerate() {
            let e = ev(s, date(2020, 1, 1 + i8::try_from(i).unwrap()), a);
            check(&h, &e, &eligible(), today).unwrap();
            h.push(e);
        }
        assert_eq!(stage(&h), Some(Stage::Signed));
    }

    #[test]
    fn refusals_say_why() {
        let today = date(2021, 1, 1);
        let h = vec![ev(Step::Declare, date(2020, 1, 1), Actor::Cpts)];
        // Phase 1 without a validated letter.
        let e = check(&h, &ev(Step::StartPhase1, date(2020, 2, 1), Actor::Ars), &eligible(), today).unwrap_err();
        assert!(e.to_string().contains("depuis l'étape « déclaration d'intérêt »"), "{e}");
        // Wrong role.
        let e = check(&h, &ev(Step::Formalise, date(2020, 2, 1), Actor::Cpam), &eligible(), today).unwrap_err();
        assert!(e.to_string().contains("réservé à la CPTS"), "{e}");
        // Earlier date, future date.
        let e = check(&h, &ev(Step::Formalise, date(2019, 2, 1), Actor::Cpts), &eligible(), today).unwrap_err();
        assert!(e.to_string().contains("antérieure à l'étape précédente"), "{e}");
        let e = check(&h, &ev(Step::Formalise, date(2022, 2, 1), Actor::Cpts), &eligible(), today).unwrap_err();
        assert!(e.to_string().contains("dans le futur"), "{e}");
        // No contract without validated project; missing eligibility listed together.
        let mut f = eligible();
        f.has_territory = false;
        f.statutes_checked = None;
        f.missing_socles = vec!["crises".into()];
        let mut sign = ev(Step::Sign, date(2020, 2, 1), Actor::Cpam);
        sign.signatories = vec![Actor::Cpam];
        let e = check(&h, &sign, &f, today).unwrap_err();
        assert_eq!(e.0.len(), 5, "{e}");
        assert!(e.to_string().contains("signature de l'ARS manquante"), "{e}");
        assert!(e.to_string().contains("missions socles absentes du contrat : crises"), "{e}");
        // Nothing before the declaration.
        let e = check(&[], &ev(Step::Formalise, date(2020, 2, 1), Actor::Cpts), &eligible(), today).unwrap_err();
        assert!(e.to_string().contains("commencez par la déclaration"), "{e}");
    }

    #[test]
    fn a_contract_past_its_term_is_expired_from_its_dates_and_views_ignore_later_steps() {
        let h = vec![
            ev(Step::Declare, date(2019, 1, 1), Actor::Cpts),
            ev(Step::ValidateProject, date(2019, 6, 1), Actor::Ars),
            ev(Step::Sign, date(2019, 12, 1), Actor::Cpam),
        ];
        let end = Some(date(2024, 12, 1));
        assert_eq!(stage_on(&h, end, date(2024, 11, 30)), Some(Stage::Signed));
        assert_eq!(stage_on(&h, end, date(2024, 12, 1)), Some(Stage::Expired));
        assert_eq!(stage_on(&h, end, date(2019, 7, 1)), Some(Stage::ProjectValidated));
        assert_eq!(stage_on(&h, end, date(2018, 7, 1)), None);
        // Recording the expiry early is refused, naming the term's last day.
        let mut f = eligible();
        f.contract_end = end;
        let e = check(&h, &ev(Step::Expire, date(2024, 6, 1), Actor::Cpam), &f, date(2025, 1, 1)).unwrap_err();
        assert!(e.to_string().contains("court jusqu'au 30/11/2024 inclus"), "{e}");
        let mut t = h.clone();
        t.push(ev(Step::Terminate, date(2022, 3, 1), Actor::Cpam));
        assert_eq!(stage_on(&t, end, date(2026, 1, 1)), Some(Stage::Terminated));
    }

    #[test]
    fn every_stage_is_reachable_and_codes_round_trip() {
        for s in Stage::ALL {
            assert_eq!(Stage::from_code(s.code()), Some(s));
            assert!(Step::ALL.iter().any(|st| st.edge().1 == s), "{s:?}");
        }
        for st in Step::ALL {
            assert_eq!(Step::parse(st.code()), Ok(st));
        }
    }
}
