//! The registry: create a CPTS, read it (today, or as recorded on a date), edit its identity
//! and its territory, find the communes two CPTS claim; its member structures and its
//! governance (mandates). The members are in `members.rs`.

use std::collections::BTreeMap;

use cpts_domain::ids::{CptsId, Finess, InseeCode, Rna, Siret};
use cpts_domain::registry::{Identity, Mandate, Structure, StructureKind, Territory, TerritorySummary, overlaps};
use cpts_engine::dates::parse_french;
use cpts_store::CptsRecord;
use jiff::civil::Date;

use crate::{Action, App, AppError, Clock, FieldError, Principal, Result};

/// A CPTS named in a view: its id and its name.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CptsRef {
    pub id: CptsId,
    pub name: String,
}

/// Identifiers and seat as typed in a form, each optional.
#[derive(Clone, Debug, Default)]
pub struct IdsInput {
    pub rna: Option<String>,
    pub siret: Option<String>,
    pub finess: Option<String>,
    /// INSEE code or name of the commune.
    pub seat: Option<String>,
}

/// Identifiers and seat, parsed (see `App::parse_ids`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Ids {
    pub rna: Option<Rna>,
    pub siret: Option<Siret>,
    pub finess: Option<Finess>,
    pub seat: Option<InseeCode>,
}

#[derive(Clone, Debug)]
pub struct NewCpts {
    /// None: derived from the name.
    pub id: Option<CptsId>,
    pub name: String,
    /// None: « association loi 1901 ».
    pub legal_form: Option<String>,
    pub ids: Ids,
}

/// An identity edit: what is given replaces, the rest is kept.
#[derive(Clone, Debug)]
pub struct EditIdentity {
    pub id: CptsId,
    /// The identity's version the edit starts from (optimistic locking).
    pub version: i64,
    pub name: Option<String>,
    pub ids: Ids,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IdentityEdited {
    pub id: CptsId,
    pub identity: Identity,
    pub version: i64,
}

#[derive(Clone, Debug)]
pub struct SetTerritory {
    pub id: CptsId,
    /// The territory's version the edit starts from (optimistic locking).
    pub version: i64,
    pub territory: Territory,
}

/// A CPTS and what its territory gives on a date: population, tier, départements, régions
/// (an error when the territory is empty or a commune lacks its population).
#[derive(Clone, Debug)]
pub struct CptsSummary {
    pub record: CptsRecord,
    pub on: Date,
    pub summary: std::result::Result<TerritorySummary, String>,
}

/// Which CPAM a CPTS deals with, and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CpamOf {
    /// The département of the seat.
    Seat(String),
    /// No seat known; the territory lies in this one département.
    OnlyDepartement(String),
    /// No seat known, and the territory spans several départements (or none).
    Unknown,
}

/// One CPTS, as shown.
#[derive(Clone, Debug)]
pub struct CptsView {
    pub cpts: CptsSummary,
    pub cpam: CpamOf,
}

#[derive(Clone, Debug)]
pub struct TerritorySet {
    /// The CPTS with its new territory and version.
    pub cpts: CptsSummary,
    /// The overlaps of the new territory with the CPTS the principal may read.
    pub overlaps: Vec<OverlapView>,
}

/// Communes claimed by two CPTS (a city and its arrondissements overlap).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OverlapView {
    pub a: CptsRef,
    pub b: CptsRef,
    pub communes: Vec<InseeCode>,
    pub population: u64,
}

/// A member structure as typed in a form.
#[derive(Clone, Debug, Default)]
pub struct StructureInput {
    pub name: String,
    pub kind: String,
    /// INSEE code or name.
    pub commune: String,
    pub finess: Option<String>,
    /// JJ/MM/AAAA or AAAA-MM-JJ.
    pub joined: String,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MandateRow {
    pub seq: i64,
    pub mandate: Mandate,
    /// In office on the view's date.
    pub active: bool,
}

/// The governance history, and who is in office on `on`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MandatesView {
    pub on: Date,
    pub mandates: Vec<MandateRow>,
}

/// Collects the errors of a form, field by field.
#[derive(Default)]
pub(crate) struct Form(Vec<FieldError>);

impl Form {
    pub(crate) fn take<T>(&mut self, field: &str, r: std::result::Result<T, String>) -> Option<T> {
        r.map_err(|message| self.0.push(FieldError { field: field.into(), line: None, message })).ok()
    }

    pub(crate) fn done(self) -> Result<()> {
        if self.0.is_empty() { Ok(()) } else { Err(AppError::Invalid(self.0)) }
    }
}

impl App {
    /// Identifiers and seat from a form; every wrong field is reported.
    pub fn parse_ids(&self, input: &IdsInput) -> Result<Ids> {
        let mut form = Form::default();
        let rna = form.take("RNA", input.rna.as_deref().map(str::parse).transpose()).flatten();
        let siret = form.take("SIRET", input.siret.as_deref().map(str::parse).transpose()).flatten();
        let finess = form.take("FINESS", input.finess.as_deref().map(str::parse).transpose()).flatten();
        let seat = form
            .take("siège", input.seat.as_deref().map(|s| self.geo.resolve(s).map(|c| c.code.clone())).transpose())
            .flatten();
        form.done()?;
        Ok(Ids { rna, siret, finess, seat })
    }

    /// A territory from communes typed by code or name; every unknown or ambiguous one is
    /// reported (field « territoire »).
    pub fn parse_territory(&self, communes: &[String]) -> Result<Territory> {
        Territory::from_inputs(&self.geo, communes).map_err(|errors| {
            AppError::Invalid(
                errors
                    .into_iter()
                    .map(|message| FieldError { field: "territoire".into(), line: None, message })
                    .collect(),
            )
        })
    }

    /// Communes whose code or name starts with what was typed (accents and case folded), by
    /// code: for forms that ask for communes.
    pub fn search_communes(&self, typed: &str, limit: usize) -> Vec<&cpts_domain::geo::Commune> {
        let q = cpts_domain::geo::fold(typed.trim());
        if q.is_empty() {
            return Vec::new();
        }
        self.geo
            .communes()
            .iter()
            .filter(|c| c.code.as_str().starts_with(&q) || cpts_domain::geo::fold(&c.name).starts_with(&q))
            .take(limit)
            .collect()
    }

    /// A member structure from a form; every wrong field is reported.
    pub fn parse_structure(&self, input: &StructureInput) -> Result<Structure> {
        let mut form = Form::default();
        let kind = form.take("type", StructureKind::parse(&input.kind));
        let commune = form.take("commune", self.geo.resolve(&input.commune).map(|c| c.code.clone()));
        let finess = form.take("FINESS", input.finess.as_deref().map(str::parse).transpose()).flatten();
        let joined = form.take("adhésion", parse_french(&input.joined));
        form.done()?;
        match (kind, commune, joined) {
            (Some(kind), Some(commune), Some(joined)) => {
                Ok(Structure { name: input.name.clone(), kind, finess, commune, joined, left: None })
            }
            _ => Err(AppError::Internal("structure incomplète sans erreur".into())),
        }
    }

    /// Create a CPTS (empty territory). Its scope is its seat's: an ARS agent creates CPTS
    /// seated in their région.
    pub async fn create_cpts(&self, p: &Principal, cmd: NewCpts) -> Result<CptsRecord> {
        let identity = Identity {
            name: cmd.name,
            legal_form: cmd.legal_form.unwrap_or_else(|| "association loi 1901".into()),
            rna: cmd.ids.rna,
            siret: cmd.ids.siret,
            finess: cmd.ids.finess,
            seat: cmd.ids.seat,
        };
        // The name first: an identifier is only derived from a valid name.
        identity.validate(&self.geo).map_err(AppError::invalid)?;
        let id = match cmd.id {
            Some(id) => id,
            None => CptsId::from_name(&identity.name).map_err(|e| AppError::field("identifiant", e))?,
        };
        let areas = self.areas(identity.seat.as_ref(), &Default::default());
        let stamp = self.authorize_new(p, Action::CreateCpts, &id, &areas)?;
        Ok(self.store.create_cpts(&stamp, &id, &identity, &areas).await?)
    }

    /// One CPTS today, with its population and tier under the rules in force on `on` (default
    /// today).
    pub async fn show_cpts(&self, p: &Principal, id: &CptsId, on: Option<Date>) -> Result<CptsView> {
        self.authorize(p, Action::Read, id).await?;
        let record = self.store.get_cpts(id).await?;
        Ok(self.cpts_view(record, on.unwrap_or_else(|| self.clock.today())))
    }

    /// A CPTS read, with its summary on `on` and its CPAM.
    pub(crate) fn cpts_view(&self, record: CptsRecord, on: Date) -> CptsView {
        let cpts = self.summary(record, on);
        let seat = cpts.record.identity.seat.as_ref().and_then(|s| self.geo.commune(s));
        let cpam = match (seat, &cpts.summary) {
            (Some(c), _) => CpamOf::Seat(c.departement.clone()),
            (None, Ok(s)) if s.departements.len() == 1 => {
                s.departements.first().map_or(CpamOf::Unknown, |d| CpamOf::OnlyDepartement(d.clone()))
            }
            _ => CpamOf::Unknown,
        };
        CptsView { cpts, cpam }
    }

    /// The CPTS's identity and territory as they were recorded at the end of `day` (None: it
    /// did not exist yet). The versions are today's.
    pub async fn cpts_as_of(&self, p: &Principal, id: &CptsId, day: Date) -> Result<Option<CptsRecord>> {
        self.authorize(p, Action::Read, id).await?;
        let next = day.tomorrow().map_err(|e| AppError::field("date", e.to_string()))?;
        Ok(self.store.cpts_as_of(id, Clock::start_of(next)).await?)
    }

    /// Edit the identity; what is not given is kept. The scope follows the seat: the edit must
    /// leave the CPTS in the principal's scope.
    pub async fn edit_identity(&self, p: &Principal, cmd: EditIdentity) -> Result<IdentityEdited> {
        let stamp = self.authorize(p, Action::EditIdentity, &cmd.id).await?;
        let current = self.store.get_cpts(&cmd.id).await?;
        let mut next = current.identity.clone();
        if let Some(n) = cmd.name {
            next.name = n;
        }
        next.rna = cmd.ids.rna.or(next.rna);
        next.siret = cmd.ids.siret.or(next.siret);
        next.finess = cmd.ids.finess.or(next.finess);
        next.seat = cmd.ids.seat.or(next.seat);
        next.validate(&self.geo).map_err(AppError::invalid)?;
        let areas = self.areas(next.seat.as_ref(), &current.territory.communes);
        self.authorize_new(p, Action::EditIdentity, &cmd.id, &areas)?;
        let version = self.store.update_identity(&stamp, &cmd.id, cmd.version, &next, &areas).await?;
        Ok(IdentityEdited { id: cmd.id, identity: next, version })
    }

    /// Replace the territory; the answer holds the new summary and the overlaps with the CPTS
    /// the principal may read. The edit must leave the CPTS in the principal's scope.
    pub async fn set_territory(&self, p: &Principal, cmd: SetTerritory) -> Result<TerritorySet> {
        let stamp = self.authorize(p, Action::EditTerritory, &cmd.id).await?;
        let current = self.store.get_cpts(&cmd.id).await?;
        let areas = self.areas(current.identity.seat.as_ref(), &cmd.territory.communes);
        self.authorize_new(p, Action::EditTerritory, &cmd.id, &areas)?;
        let version = self.store.set_territory(&stamp, &cmd.id, cmd.version, &cmd.territory, &areas).await?;
        let record = CptsRecord { territory: cmd.territory, territory_version: version, ..current };
        let visible = self.store.list_cpts_in(&p.visible(Action::Read)).await?;
        let all: Vec<CptsRecord> =
            visible.into_iter().map(|r| if r.id == record.id { record.clone() } else { r }).collect();
        let overlaps =
            self.overlaps_of(&all).into_iter().filter(|o| o.a.id == record.id || o.b.id == record.id).collect();
        Ok(TerritorySet { cpts: self.summary(record, self.clock.today()), overlaps })
    }

    /// Every pair of CPTS the principal may read whose territories share communes.
    pub async fn overlaps(&self, p: &Principal) -> Result<Vec<OverlapView>> {
        let all = self.store.list_cpts_in(&p.visible(Action::Read)).await?;
        Ok(self.overlaps_of(&all))
    }

    pub async fn add_structure(&self, p: &Principal, id: &CptsId, s: &Structure) -> Result<i64> {
        let stamp = self.authorize(p, Action::EditStructures, id).await?;
        Ok(self.store.add_structure(&stamp, id, s).await?)
    }

    pub async fn structures(&self, p: &Principal, id: &CptsId) -> Result<Vec<(i64, Structure)>> {
        self.authorize(p, Action::Read, id).await?;
        Ok(self.store.structures(id).await?)
    }

    /// Add a mandate; refused if it breaks the governance rules (two presidents at once...).
    pub async fn add_mandate(&self, p: &Principal, id: &CptsId, m: &Mandate) -> Result<i64> {
        let stamp = self.authorize(p, Action::EditGovernance, id).await?;
        Ok(self.store.add_mandate(&stamp, id, m).await?)
    }

    /// Close mandate n° `seq` on `until` (it stays in the history).
    pub async fn end_mandate(&self, p: &Principal, id: &CptsId, seq: i64, until: Date) -> Result<()> {
        let stamp = self.authorize(p, Action::EditGovernance, id).await?;
        Ok(self.store.end_mandate(&stamp, id, seq, until).await?)
    }

    /// Every mandate in the order they started, and who is in office on `on` (default today).
    pub async fn mandates(&self, p: &Principal, id: &CptsId, on: Option<Date>) -> Result<MandatesView> {
        self.authorize(p, Action::Read, id).await?;
        let on = on.unwrap_or_else(|| self.clock.today());
        let mandates = self
            .store
            .mandates(id)
            .await?
            .into_iter()
            .map(|(seq, mandate)| MandateRow { seq, active: mandate.active_on(on), mandate })
            .collect();
        Ok(MandatesView { on, mandates })
    }

    fn summary(&self, record: CptsRecord, on: Date) -> CptsSummary {
        let summary = record.territory.summary(&self.geo, &self.rules, on, None);
        CptsSummary { record, on, summary }
    }

    fn overlaps_of(&self, all: &[CptsRecord]) -> Vec<OverlapView> {
        let names: BTreeMap<&str, &CptsRecord> = all.iter().map(|r| (r.id.as_str(), r)).collect();
        let labelled: Vec<(String, &Territory)> = all.iter().map(|r| (r.id.to_string(), &r.territory)).collect();
        let named = |label: &str| names.get(label).map(|r| CptsRef { id: r.id.clone(), name: r.identity.name.clone() });
        overlaps(&self.geo, &labelled)
            .into_iter()
            .filter_map(|o| {
                Some(OverlapView { a: named(&o.a)?, b: named(&o.b)?, communes: o.communes, population: o.population })
            })
            .collect()
    }
}
