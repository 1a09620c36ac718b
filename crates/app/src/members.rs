//! The members of a CPTS: import a file (planned, then applied all or nothing), list, export,
//! record a departure, correct, remove, and the history of corrections.

use cpts_domain::ids::{CptsId, InseeCode, Rpps};
use cpts_domain::members::{ImportMode, ImportPlan, differences, members_from, numbers_from, plan_import};
use cpts_domain::registry::{Member, Profession};
use cpts_domain::table::{LineError, RawTable};
use cpts_engine::dates::parse_french;
use cpts_store::MemberRevision;
use jiff::civil::Date;

use crate::registry::{CptsRef, Form};
use crate::{Action, App, AppError, FieldError, Principal, Result};

/// A member read from a file: its line, the member number the file gives (an export carries
/// it, so a re-import corrects), the member.
pub type IncomingMember = (usize, Option<i64>, Member);

#[derive(Clone, Debug)]
pub struct MembersImport {
    pub id: CptsId,
    pub members: Vec<IncomingMember>,
    pub mode: ImportMode,
    /// In replacement: the departure date of the members absent from the file (default today).
    pub left_on: Option<Date>,
    /// Plan only: nothing is written.
    pub dry_run: bool,
}

#[derive(Clone, Debug)]
pub struct MembersImported {
    pub cpts: CptsRef,
    pub mode: ImportMode,
    pub plan: ImportPlan,
    /// False for a dry run.
    pub applied: bool,
    /// Added members practising outside the territory (reported, not refused).
    pub outside: usize,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MemberRow {
    pub seq: i64,
    pub member: Member,
    /// Practises outside the CPTS's territory.
    pub outside: bool,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MembersView {
    pub cpts: CptsRef,
    /// Today: the day `active` counts on.
    pub on: Date,
    /// Former members included, by number.
    pub members: Vec<MemberRow>,
    pub active: usize,
}

/// A member correction as typed in a form: what is given replaces. For the RPPS and the
/// departure, « - » or an empty text clears.
#[derive(Clone, Debug, Default)]
pub struct MemberPatchInput {
    pub last_name: Option<String>,
    pub first_name: Option<String>,
    pub profession: Option<String>,
    pub rpps: Option<String>,
    /// INSEE code or name.
    pub commune: Option<String>,
    pub joined: Option<String>,
    pub left: Option<String>,
}

/// A member correction, parsed: None keeps, `Some(None)` clears.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MemberPatch {
    pub last_name: Option<String>,
    pub first_name: Option<String>,
    pub profession: Option<Profession>,
    pub rpps: Option<Option<Rpps>>,
    pub commune: Option<InseeCode>,
    pub joined: Option<Date>,
    pub left: Option<Option<Date>>,
}

impl MemberPatch {
    fn apply(self, m: &mut Member) {
        let MemberPatch { last_name, first_name, profession, rpps, commune, joined, left } = self;
        m.last_name = last_name.unwrap_or_else(|| m.last_name.clone());
        m.first_name = first_name.unwrap_or_else(|| m.first_name.clone());
        m.profession = profession.unwrap_or(m.profession);
        m.rpps = rpps.unwrap_or_else(|| m.rpps.clone());
        m.commune = commune.unwrap_or_else(|| m.commune.clone());
        m.joined = joined.unwrap_or(m.joined);
        m.left = left.unwrap_or(m.left);
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MemberEdited {
    pub member: Member,
    /// The fields changed; empty: nothing to change, nothing written.
    pub fields: Vec<&'static str>,
}

/// The errors of a file, as field errors (line 0: the whole file).
pub fn line_errors(errors: Vec<LineError>) -> AppError {
    AppError::Invalid(
        errors
            .into_iter()
            .map(|e| FieldError { field: e.column, line: (e.line > 0).then_some(e.line), message: e.message })
            .collect(),
    )
}

impl App {
    /// The members of a file read into a table: every wrong cell is reported with its line.
    pub fn parse_members(&self, table: &RawTable) -> Result<Vec<IncomingMember>> {
        let members = members_from(table, &self.geo).map_err(line_errors)?;
        let numbers = numbers_from(table).map_err(line_errors)?;
        Ok(table.rows.iter().zip(numbers).zip(members).map(|(((line, _), n), m)| (*line, n, m)).collect())
    }

    /// A member correction from a form; every wrong field is reported.
    pub fn parse_member_patch(&self, input: &MemberPatchInput) -> Result<MemberPatch> {
        let cleared = |v: &str| v.trim().is_empty() || v.trim() == "-";
        let mut form = Form::default();
        let profession = input.profession.as_deref().and_then(|v| form.take("profession", Profession::parse(v)));
        let rpps = match input.rpps.as_deref() {
            None => None,
            Some(v) if cleared(v) => Some(None),
            Some(v) => form.take("RPPS", v.parse()).map(Some),
        };
        let commune =
            input.commune.as_deref().and_then(|v| form.take("commune", self.geo.resolve(v).map(|c| c.code.clone())));
        let joined = input.joined.as_deref().and_then(|v| form.take("adhésion", parse_french(v)));
        let left = match input.left.as_deref() {
            None => None,
            Some(v) if cleared(v) => Some(None),
            Some(v) => form.take("départ", parse_french(v)).map(Some),
        };
        form.done()?;
        Ok(MemberPatch {
            last_name: input.last_name.clone(),
            first_name: input.first_name.clone(),
            profession,
            rpps,
            commune,
            joined,
            left,
        })
    }

    /// Plan an import against the stored members and, unless a dry run, apply it in one
    /// transaction: all of it or nothing. `progress(written, total)` is called as added rows are
    /// written (not yet committed).
    pub async fn import_members(
        &self,
        p: &Principal,
        cmd: MembersImport,
        mut progress: impl FnMut(usize, usize),
    ) -> Result<MembersImported> {
        let stamp = self.authorize(p, Action::EditMembers, &cmd.id).await?;
        let record = self.store.get_cpts(&cmd.id).await?;
        let stored = self.store.numbered_members(&cmd.id).await?;
        let ended_on = cmd.left_on.unwrap_or_else(|| self.clock.today());
        let plan = plan_import(&stored, &cmd.members, cmd.mode, ended_on).map_err(line_errors)?;
        let units = record.territory.units(&self.geo);
        let outside = plan.added.iter().filter(|(_, m)| m.outside_units(&self.geo, &units)).count();
        if !cmd.dry_run {
            let total = plan.added.len();
            self.store.apply_member_import(&stamp, &cmd.id, &plan, |written| progress(written, total)).await?;
        }
        Ok(MembersImported {
            cpts: CptsRef { id: record.id, name: record.identity.name },
            mode: cmd.mode,
            plan,
            applied: !cmd.dry_run,
            outside,
        })
    }

    /// The members, former ones included, by number; who is active today.
    pub async fn members(&self, p: &Principal, id: &CptsId) -> Result<MembersView> {
        self.authorize(p, Action::Read, id).await?;
        let record = self.store.get_cpts(id).await?;
        let units = record.territory.units(&self.geo);
        let on = self.clock.today();
        let members: Vec<MemberRow> = self
            .store
            .numbered_members(id)
            .await?
            .into_iter()
            .map(|(seq, member)| MemberRow { seq, outside: member.outside_units(&self.geo, &units), member })
            .collect();
        let active = members.iter().filter(|r| r.member.active_on(on)).count();
        Ok(MembersView { cpts: CptsRef { id: record.id, name: record.identity.name }, on, members, active })
    }

    /// The rows of a member export, with their numbers (written to a file by the adapter).
    pub async fn export_members(&self, p: &Principal, id: &CptsId) -> Result<Vec<(i64, Member)>> {
        self.authorize(p, Action::Read, id).await?;
        Ok(self.store.numbered_members(id).await?)
    }

    /// Record member n° `seq`'s departure on `on` (they stay listed, as a former member).
    pub async fn leave_member(&self, p: &Principal, id: &CptsId, seq: i64, on: Date) -> Result<Member> {
        let stamp = self.authorize(p, Action::EditMembers, id).await?;
        let current = self.member(id, seq).await?;
        let next = Member { left: Some(on), ..current };
        next.validate(&self.geo).map_err(|e| AppError::invalid(format!("membre n° {seq} : {e}")))?;
        self.store.update_member(&stamp, id, seq, &next).await?;
        Ok(next)
    }

    /// Correct member n° `seq`; the previous state is kept in the history. Nothing is written
    /// when nothing changes.
    pub async fn edit_member(&self, p: &Principal, id: &CptsId, seq: i64, patch: MemberPatch) -> Result<MemberEdited> {
        let stamp = self.authorize(p, Action::EditMembers, id).await?;
        let before = self.member(id, seq).await?;
        let mut member = before.clone();
        patch.apply(&mut member);
        member.validate(&self.geo).map_err(|e| AppError::invalid(format!("membre n° {seq} non modifié : {e}")))?;
        let fields = differences(&before, &member);
        if !fields.is_empty() {
            self.store.update_member(&stamp, id, seq, &member).await?;
        }
        Ok(MemberEdited { member, fields })
    }

    /// Remove a member entered by mistake (a departure is `leave_member`); it stays in the
    /// history. Returns the member removed.
    pub async fn remove_member(&self, p: &Principal, id: &CptsId, seq: i64) -> Result<Member> {
        let stamp = self.authorize(p, Action::EditMembers, id).await?;
        Ok(self.store.remove_member(&stamp, id, seq).await?)
    }

    /// The previous states of the members (corrections and removals), by member, oldest first.
    pub async fn member_history(&self, p: &Principal, id: &CptsId) -> Result<Vec<MemberRevision>> {
        self.authorize(p, Action::Read, id).await?;
        Ok(self.store.member_history(id).await?)
    }

    async fn member(&self, id: &CptsId, seq: i64) -> Result<Member> {
        self.store
            .member(id, seq)
            .await?
            .ok_or_else(|| AppError::NotFound(format!("membre n° {seq} introuvable dans la CPTS « {id} »")))
    }
}
