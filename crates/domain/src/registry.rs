//! The CPTS registry: identity, territory (population, tier, overlaps), members,
//! structures and governance. Pure: decisions only, no storage.

use std::collections::{BTreeMap, BTreeSet};

use cpts_engine::compute::{NoTrace, tier_of};
use cpts_engine::rules::{BoundarySide, RuleSet, Tier};
use jiff::civil::Date;
use serde::{Deserialize, Serialize};

use crate::geo::Geo;
use crate::ids::{Finess, InseeCode, Rna, Rpps, Siret};
use crate::text::{self, Kind};

/// Member files are read in their own module; found here too, with the members.
pub use crate::members::members_from;

/// Defines a closed list with its French labels (what users type and read).
macro_rules! labelled {
    ($(#[$doc:meta])* $name:ident { $($variant:ident => $label:literal),* $(,)? }) => {
        $(#[$doc])*
        #[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(rename_all = "snake_case")]
        pub enum $name { $($variant),* }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),*];

            pub fn label(self) -> &'static str {
                match self { $($name::$variant => $label),* }
            }

            /// Stable code for storage.
            pub fn code(self) -> &'static str {
                match self { $($name::$variant => stringify!($variant)),* }
            }

            pub fn from_code(code: &str) -> Option<$name> {
                $name::ALL.iter().copied().find(|v| v.code() == code)
            }

            /// From a French label or a code, accents and case folded.
            pub fn parse(s: &str) -> Result<$name, String> {
                let f = crate::geo::fold(s).replace(' ', "_");
                $name::ALL
                    .iter()
                    .copied()
                    .find(|v| {
                        let label = crate::geo::fold(v.label()).replace(' ', "_");
                        // Feminine forms: infirmière, pharmacienne, chirurgienne-dentiste, coordinatrice…
                        let feminine = [format!("{label}e"), format!("{label}ne"), label.replacen("ien_", "ienne_", 1), label.replacen("eur_", "euse_", 1), label.replace("teur", "trice")];
                        label == f || feminine.contains(&f) || crate::geo::fold(&format!("{v:?}")) == f.replace('_', "")
                    })
                    .ok_or_else(|| format!(
                        "« {} » inconnu ; valeurs possibles : {}",
                        crate::text::quoted(s),
                        $name::ALL.iter().map(|v| v.label()).collect::<Vec<_>>().join(", ")
                    ))
            }
        }
    };
}

labelled!(
    /// Professions of members (fixed list).
    Profession {
        MedecinGeneraliste => "médecin généraliste",
        AutreSpecialiste => "autre spécialiste",
        Infirmier => "infirmier",
        Pharmacien => "pharmacien",
        MasseurKinesitherapeute => "masseur-kinésithérapeute",
        SageFemme => "sage-femme",
        ChirurgienDentiste => "chirurgien-dentiste",
        Orthophoniste => "orthophoniste",
        Orthoptiste => "orthoptiste",
        PedicurePodologue => "pédicure-podologue",
        Biologiste => "biologiste",
        Psychologue => "psychologue",
        Dieteticien => "diététicien",
        Ergotherapeute => "ergothérapeute",
        Psychomotricien => "psychomotricien",
        Autre => "autre profession",
    }
);

labelled!(
    /// Kinds of member structures.
    StructureKind {
        Msp => "MSP",
        CentreDeSante => "centre de santé",
        Esp => "ESP",
        Ess => "ESS",
        EtablissementDeSante => "établissement de santé",
        Essms => "ESSMS",
        Dac => "DAC",
        Autre => "autre structure",
    }
);

labelled!(
    /// Governance roles.
    Role {
        President => "président",
        Tresorier => "trésorier",
        Secretaire => "secrétaire",
        Coordinateur => "coordinateur",
        Bureau => "membre du bureau",
        ComitePilotage => "membre du comité de pilotage",
    }
);

/// Natural order of identifiers and names: digit runs compare as numbers, so « cpts-paris-5 »
/// comes before « cpts-paris-10 ».
pub fn natural_cmp(a: &str, b: &str) -> std::cmp::Ordering {
    fn chunks(s: &str) -> Vec<(bool, &str)> {
        let mut out = Vec::new();
        let mut start = 0;
        let mut digits = None;
        for (i, c) in s.char_indices() {
            let d = c.is_ascii_digit();
            if digits.is_some_and(|x| x != d) {
                out.push((digits == Some(true), s.get(start..i).unwrap_or("")));
                start = i;
            }
            digits = Some(d);
        }
        out.push((digits == Some(true), s.get(start..).unwrap_or("")));
        out
    }
    let (x, y) = (chunks(a), chunks(b));
    for (p, q) in x.iter().zip(&y) {
        let o = match (p, q) {
            // Numbers by value: fewer significant digits is smaller, then digit by digit.
            ((true, m), (true, n)) => {
                let (m, n) = (m.trim_start_matches('0'), n.trim_start_matches('0'));
                m.len().cmp(&n.len()).then_with(|| m.cmp(n))
            }
            ((_, m), (_, n)) => m.cmp(n),
        };
        if o.is_ne() {
            return o;
        }
    }
    x.len().cmp(&y.len()).then_with(|| a.cmp(b))
}

/// The identity of a CPTS.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Identity {
    pub name: String,
    /// Legal form; CPTS are associations loi 1901 (L.1434-12-1 CSP).
    pub legal_form: String,
    pub rna: Option<Rna>,
    pub siret: Option<Siret>,
    pub finess: Option<Finess>,
    pub seat: Option<InseeCode>,
}

impl Identity {
    pub fn validate(&self, geo: &Geo) -> Result<(), String> {
        self.check_text()?;
        if let Some(seat) = &self.seat {
            geo.commune(seat).ok_or_else(|| format!("commune du siège inconnue : {seat}"))?;
        }
        Ok(())
    }
}

impl Identity {
    /// The user texts only (no commune lookup): what the store checks before any write.
    pub fn check_text(&self) -> Result<(), String> {
        if self.name.trim().is_empty() {
            return Err("nom de la CPTS vide".into());
        }
        text::check("nom de la CPTS", &self.name, Kind::Name)?;
        text::check("forme juridique", &self.legal_form, Kind::Name)
    }
}

/// A territory: communes or arrondissements of one COG edition.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Territory {
    pub communes: BTreeSet<InseeCode>,
}

/// A territory's figures.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TerritorySummary {
    pub population: u64,
    pub tier: Tier,
    pub departements: BTreeSet<String>,
    pub regions: BTreeSet<String>,
}

impl Territory {
    /// Build from user input (codes or names); every unknown or ambiguous entry is reported.
    pub fn from_inputs(geo: &Geo, inputs: &[String]) -> Result<Territory, Vec<String>> {
        let mut communes = BTreeSet::new();
        let mut errors = Vec::new();
        for i in inputs.iter().filter(|i| !i.trim().is_empty()) {
            match geo.resolve(i) {
                Ok(c) => {
                    communes.insert(c.code.clone());
                }
                Err(e) => errors.push(e),
            }
        }
        let t = Territory { communes };
        if let Err(e) = t.validate(geo) {
            errors.push(e);
        }
        if errors.is_empty() { Ok(t) } else { Err(errors) }
    }

    /// Not empty, known codes, and no city listed with its own arrondissements.
    pub fn validate(&self, geo: &Geo) -> Result<(), String> {
        if self.communes.is_empty() {
            return Err("territoire vide : au moins une commune".into());
        }
        for code in &self.communes {
            let c = geo.commune(code).ok_or_else(|| format!("code INSEE inconnu : {code}"))?;
            if let Some(parent) = &c.parent
                && self.communes.contains(parent)
            {
                return Err(format!(
                    "{} et son arrondissement {} se recouvrent : gardez l'un ou l'autre",
                    parent, c.name
                ));
            }
        }
        Ok(())
    }

    /// The arrondissement-level codes covered (a whole city counts as all its arrondissements).
    pub fn units(&self, geo: &Geo) -> BTreeSet<InseeCode> {
        let mut out = BTreeSet::new();
        for code in &self.communes {
            let arr = geo.arrondissements(code);
            if arr.is_empty() {
                out.insert(code.clone());
            } else {
                out.extend(arr.into_iter().map(|a| a.code.clone()));
            }
        }
        out
    }

    /// Population (INSEE, see `geo::SOURCE`), tier under the rules in force on `date`,
    /// départements and régions touched.
    pub fn summary(
        &self,
        geo: &Geo,
        rules: &RuleSet,
        date: Date,
        side: Option<BoundarySide>,
    ) -> Result<TerritorySummary, String> {
        self.validate(geo)?;
        let mut population: u64 = 0;
        let (mut departements, mut regions) = (BTreeSet::new(), BTreeSet::new());
        for code in &self.communes {
            let Some(c) = geo.commune(code) else { continue };
            let p = c.population.ok_or_else(|| format!("{} ({code}) : pas de population INSEE", c.name))?;
            population = population.checked_add(p).ok_or("population trop grande")?;
            departements.insert(c.departement.clone());
            regions.insert(c.region.clone());
        }
        let tier = tier_of(rules, population, date, side, &mut NoTrace).map_err(|e| e.to_string())?;
        Ok(TerritorySummary { population, tier, departements, regions })
    }
}

/// The contract's parties besides the CPTS: the CPAM of the seat (or of the single département
/// when the seat is unknown) and the ARS of the région (seed 002: « c'est la CPAM du siège qui signe »).
pub fn parties(geo: &Geo, seat: Option<&InseeCode>, summary: &TerritorySummary) -> Result<(String, String), String> {
    let dep =
        match (seat.and_then(|s| geo.commune(s)), summary.departements.len()) {
            (Some(c), _) => c.departement.clone(),
            (None, 1) => summary.departements.first().cloned().ok_or("département inconnu")?,
            _ => return Err(
                "territoire sur plusieurs départements : renseignez le siège de la CPTS (commune de son adresse) pour désigner la CPAM"
                    .into(),
            ),
        };
    let region = match (seat.and_then(|s| geo.commune(s)), summary.regions.len()) {
        (Some(c), _) => c.region.clone(),
        (None, 1) => summary.regions.first().cloned().ok_or("région inconnue")?,
        _ => return Err("territoire sur plusieurs régions : renseignez le siège pour désigner l'ARS".into()),
    };
    Ok((
        format!("CPAM {} ({dep})", geo.departement_name(&dep).unwrap_or("?")),
        format!("ARS {}", geo.region_name(&region).unwrap_or("?")),
    ))
}

/// Communes claimed by two CPTS.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Overlap {
    pub a: String,
    pub b: String,
    pub communes: Vec<InseeCode>,
    pub population: u64,
}

/// Every pair of CPTS whose territories share communes (a city and its arrondissements overlap).
pub fn overlaps(geo: &Geo, territories: &[(String, &Territory)]) -> Vec<Overlap> {
    let mut claims: BTreeMap<InseeCode, Vec<usize>> = BTreeMap::new();
    for (i, (_, t)) in territories.iter().enumerate() {
        for u in t.units(geo) {
            claims.entry(u).or_default().push(i);
        }
    }
    let mut pairs: BTreeMap<(usize, usize), Vec<InseeCode>> = BTreeMap::new();
    for (code, who) in claims {
        for (k, a) in who.iter().enumerate() {
            for b in who.iter().skip(k + 1) {
                pairs.entry((*a, *b)).or_default().push(code.clone());
            }
        }
    }
    pairs
        .into_iter()
        .filter_map(|((a, b), communes)| {
            let population = communes.iter().filter_map(|c| geo.commune(c).and_then(|x| x.population)).sum();
            Some(Overlap { a: territories.get(a)?.0.clone(), b: territories.get(b)?.0.clone(), communes, population })
        })
        .collect()
}

/// A health professional member.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Member {
    pub last_name: String,
    pub first_name: String,
    pub profession: Profession,
    pub rpps: Option<Rpps>,
    pub commune: InseeCode,
    pub joined: Date,
    pub left: Option<Date>,
}

impl Member {
    pub fn validate(&self, geo: &Geo) -> Result<(), String> {
        self.check_text()?;
        geo.commune(&self.commune).ok_or_else(|| format!("commune d'exercice inconnue : {}", self.commune))?;
        if self.left.is_some_and(|l| l < self.joined) {
            return Err("date de départ avant la date d'adhésion".into());
        }
        Ok(())
    }

    /// A member on `day`: joined by then and not yet left (the departure day is the first day out).
    pub fn active_on(&self, day: Date) -> bool {
        self.joined <= day && self.left.is_none_or(|l| day < l)
    }

    /// The user texts only: what the store checks before any write.
    pub fn check_text(&self) -> Result<(), String> {
        if self.last_name.trim().is_empty() {
            return Err("nom vide".into());
        }
        text::check("nom", &self.last_name, Kind::Name)?;
        text::check("prénom", &self.first_name, Kind::Name)
    }

    /// Practising outside the territory (flagged, not refused).
    pub fn outside(&self, geo: &Geo, t: &Territory) -> bool {
        self.outside_units(geo, &t.units(geo))
    }

    /// As `outside`, with the territory's units computed once (`Territory::units`) for many members.
    pub fn outside_units(&self, geo: &Geo, units: &BTreeSet<InseeCode>) -> bool {
        let arr = geo.arrondissements(&self.commune);
        if arr.is_empty() { !units.contains(&self.commune) } else { arr.iter().all(|a| !units.contains(&a.code)) }
    }
}

/// A member structure.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Structure {
    pub name: String,
    pub kind: StructureKind,
    pub finess: Option<Finess>,
    pub commune: InseeCode,
    pub joined: Date,
    pub left: Option<Date>,
}

impl Structure {
    /// The user texts only: what the store checks before any write.
    pub fn check_text(&self) -> Result<(), String> {
        if self.name.trim().is_empty() {
            return Err("nom de la structure vide".into());
        }
        text::check("nom de la structure", &self.name, Kind::Name)
    }
}

/// A governance mandate, dated so the history can be read.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Mandate {
    pub role: Role,
    pub person: String,
    pub from: Date,
    pub until: Option<Date>,
}

impl Mandate {
    /// The user texts only: what the store checks before any write.
    pub fn check_text(&self) -> Result<(), String> {
        if self.person.trim().is_empty() {
            return Err("titulaire du mandat vide".into());
        }
        text::check("titulaire du mandat", &self.person, Kind::Name)
    }

    pub fn active_on(&self, d: Date) -> bool {
        self.from <= d && self.until.is_none_or(|u| d <= u)
    }
}

/// Single-holder roles cannot have two holders on the same day.
pub fn check_mandates(mandates: &[Mandate]) -> Result<(), String> {
    for (i, a) in mandates.iter().enumerate() {
        if a.until.is_some_and(|u| u < a.from) {
            return Err(format!("{} : fin de mandat avant son début", a.person));
        }
        let single = matches!(a.role, Role::President | Role::Tresorier | Role::Secretaire);
        for b in mandates.iter().skip(i + 1) {
            let overlap = a.from <= b.until.unwrap_or(Date::MAX) && b.from <= a.until.unwrap_or(Date::MAX);
            if single && a.role == b.role && overlap {
                return Err(format!("deux {}s en même temps : {} et {}", a.role.label(), a.person, b.person));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::civil::date;

    #[test]
    fn governance_roles_in_feminine_and_masculine() {
        for (typed, role) in [
            ("présidente", Role::President),
            ("Président", Role::President),
            ("trésorière", Role::Tresorier),
            ("secrétaire", Role::Secretaire),
            ("coordinatrice", Role::Coordinateur),
            ("Coordinateur", Role::Coordinateur),
            ("membre du bureau", Role::Bureau),
        ] {
            assert_eq!(Role::parse(typed), Ok(role), "{typed}");
        }
        assert!(Role::parse("coordinatrix").is_err());
    }

    #[test]
    fn identifiers_sort_in_natural_order() {
        let mut ids =
            vec!["cpts-paris-10", "cpts-paris-5", "projet-paris-7", "cpts-paris-18", "cpts-paris-05b", "cpts-lyon"];
        ids.sort_by(|a, b| natural_cmp(a, b));
        assert_eq!(
            ids,
            ["cpts-lyon", "cpts-paris-5", "cpts-paris-05b", "cpts-paris-10", "cpts-paris-18", "projet-paris-7"]
        );
        assert_eq!(natural_cmp("a-05", "a-5"), "a-05".cmp("a-5"), "equal numbers fall back to the text");
    }

    fn geo() -> Geo {
        Geo::builtin().unwrap()
    }

    #[test]
    fn paris_18_population_and_tier() {
        let g = geo();
        let rules = RuleSet::builtin().unwrap();
        let t = Territory::from_inputs(&g, &["75118".into()]).unwrap();
        let s = t.summary(&g, &rules, date(2019, 12, 15), None).unwrap();
        assert_eq!(s.population, 183_127);
        assert_eq!(s.tier, Tier(4));
        let centre =
            Territory::from_inputs(&g, &["75101".into(), "75102".into(), "75103".into(), "75104".into()]).unwrap();
        let s = centre.summary(&g, &rules, date(2021, 10, 25), None).unwrap();
        assert_eq!(
            s.population,
            15_114 + 19_847 + 32_179 + g.commune(&"75104".parse().unwrap()).unwrap().population.unwrap()
        );
        assert_eq!(s.regions.iter().collect::<Vec<_>>(), vec!["11"]);
    }

    #[test]
    fn bad_territories_are_refused() {
        let g = geo();
        assert!(Territory::from_inputs(&g, &[]).unwrap_err()[0].contains("vide"));
        let e = Territory::from_inputs(&g, &["75056".into(), "75118".into()]).unwrap_err();
        assert!(e[0].contains("se recouvrent"));
        let e = Territory::from_inputs(&g, &["99999".into(), "Nullepart".into()]).unwrap_err();
        assert_eq!(e.len(), 3);
    }

    #[test]
    fn overlaps_are_found_with_their_population() {
        let g = geo();
        let a = Territory::from_inputs(&g, &["75118".into(), "75117".into()]).unwrap();
        let b = Territory::from_inputs(&g, &["75118".into()]).unwrap();
        let paris = Territory::from_inputs(&g, &["Paris".into()]).unwrap();
        let c = Territory::from_inputs(&g, &["Lyon 1er Arrondissement".into()]).unwrap();
        let o = overlaps(&g, &[("A".into(), &a), ("B".into(), &b), ("Paris".into(), &paris), ("C".into(), &c)]);
        assert_eq!(o.len(), 3, "{o:?}");
        let ab = o.iter().find(|x| x.a == "A" && x.b == "B").unwrap();
        assert_eq!(ab.communes.len(), 1);
        assert_eq!(ab.population, 183_127);
        assert!(o.iter().any(|x| x.a == "A" && x.b == "Paris" && x.communes.len() == 2));
        assert!(!o.iter().any(|x| x.a == "C" || x.b == "C"));
    }

    #[test]
    fn labels_parse_as_users_write_them() {
        assert_eq!(Profession::parse("Médecin généraliste"), Ok(Profession::MedecinGeneraliste));
        assert_eq!(Profession::parse("masseur kinesitherapeute"), Ok(Profession::MasseurKinesitherapeute));
        assert_eq!(StructureKind::parse("msp"), Ok(StructureKind::Msp));
        assert_eq!(Profession::parse("Infirmière"), Ok(Profession::Infirmier));
        assert_eq!(Profession::parse("pharmacienne"), Ok(Profession::Pharmacien));
        assert_eq!(Profession::parse("chirurgienne-dentiste"), Ok(Profession::ChirurgienDentiste));
        assert_eq!(Profession::parse("masseuse-kinésithérapeute"), Ok(Profession::MasseurKinesitherapeute));
        assert!(Profession::parse("astronaute").unwrap_err().contains("valeurs possibles"));
    }

    #[test]
    fn mandates_and_members() {
        let m = |role, p: &str, a, b| Mandate { role, person: p.into(), from: a, until: b };
        assert!(
            check_mandates(&[
                m(Role::President, "A", date(2020, 1, 1), Some(date(2021, 12, 31))),
                m(Role::President, "B", date(2022, 1, 1), None),
                m(Role::Bureau, "C", date(2020, 1, 1), None),
                m(Role::Bureau, "D", date(2020, 1, 1), None),
            ])
            .is_ok()
        );
        assert!(
            check_mandates(&[
                m(Role::President, "A", date(2020, 1, 1), None),
                m(Role::President, "B", date(2022, 1, 1), None)
            ])
            .is_err()
        );
        let g = geo();
        let t = Territory::from_inputs(&g, &["75118".into()]).unwrap();
        let member = Member {
            last_name: "Martin".into(),
            first_name: "Anne".into(),
            profession: Profession::Infirmier,
            rpps: None,
            commune: "75117".parse().unwrap(),
            joined: date(2020, 1, 1),
            left: None,
        };
        assert!(member.validate(&g).is_ok());
        assert!(member.outside(&g, &t));
    }
}
