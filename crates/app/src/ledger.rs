//! The ledger of a CPTS (every funder's lines, their payments, what gates them) and the
//! funding conventions. A payment's action depends on its line: an ACI line is paid by the
//! Assurance Maladie (`PayAci`, decided on the contract's book), a convention's line by its
//! funder (`ConventionArs` for the ARS/FIR, `ConventionOther` for the others).

use cpts_domain::agreement::Agreement;
use cpts_domain::book::{Op, paid_summary};
use cpts_domain::ids::CptsId;
use cpts_domain::ledger::{Convention, FunderKind, Gates, Line, Payment, Source, Status};
use cpts_domain::text::Kind;
use cpts_engine::money::Cents;
use jiff::civil::Date;

use crate::lifecycle::check_texts;
use crate::policy::{Action, Principal};
use crate::{App, AppError, Result};

/// The ledger of a CPTS, whole: the adapters choose the date of the statuses and the lines shown.
#[derive(Clone, Debug)]
pub struct LedgerView {
    pub id: CptsId,
    pub name: String,
    /// Every line, cancelled ones included, by due date.
    pub lines: Vec<Line>,
    pub gates: Gates,
    /// Every payment, by date.
    pub payments: Vec<Payment>,
    /// The contracts, oldest first (their annexes may carry notes).
    pub agreements: Vec<Agreement>,
}

impl LedgerView {
    /// The ledger as it stood at the end of `on` (`cpts_domain::ledger::as_of`): a view « as of »
    /// a date shows nothing that came after it.
    pub fn as_of(mut self, on: Date) -> LedgerView {
        let signed: std::collections::BTreeMap<i64, Date> = self.agreements.iter().map(|a| (a.seq, a.terms.signed)).collect();
        let (lines, payments) = cpts_domain::ledger::as_of(&self.lines, &self.payments, on, |c| signed.get(&c).is_some_and(|d| *d > on));
        self.lines = lines;
        self.payments = payments;
        self.agreements.retain(|a| a.terms.signed <= on);
        self.gates.released.retain(|_, d| *d <= on);
        self
    }
}

/// What a ledger check found: the contracts compared, and each difference between a contract's
/// live ACI lines and what the domain plans for it as it stands.
#[derive(Clone, Debug, Default)]
pub struct LedgerCheck {
    pub cpts: usize,
    pub contracts: usize,
    pub differences: Vec<String>,
}

/// One line and its payments.
#[derive(Clone, Debug)]
pub struct LineView {
    pub line: Line,
    /// Its status today.
    pub status: Status,
    /// Why it is not due yet today (a report to validate, results to enter), if so.
    pub waiting_for: Option<String>,
    /// The report year (contract, year) whose validation holds it back today, if one does.
    pub held_by: Option<(i64, u8)>,
    pub payments: Vec<Payment>,
}

/// A payment (or a repayment, on a line to repay) to record.
#[derive(Clone, Debug)]
pub struct Pay {
    pub id: CptsId,
    pub line: i64,
    pub on: Date,
    /// Default: what remains due (an ACI line is paid in one transfer).
    pub amount: Option<Cents>,
    /// Who paid: the funder's office or agent (for a repayment, the CPTS).
    pub by: String,
    /// The transfer's reference.
    pub reference: Option<String>,
}

/// A payment recorded.
#[derive(Clone, Debug)]
pub struct Paid {
    /// The line as it was before the payment.
    pub line: Line,
    /// The payment as recorded (its amount signed like the line's).
    pub payment: Payment,
    /// What the domain says of it, in French.
    pub summary: String,
}

/// The action a convention of this funder asks the policy for (its creation and its payments).
pub fn convention_action(kind: FunderKind) -> Action {
    match kind {
        FunderKind::Ars => Action::ConventionArs,
        FunderKind::Collectivite | FunderKind::Europe | FunderKind::Prive | FunderKind::Autre => {
            Action::ConventionOther
        }
    }
}

fn line_not_found(line: i64) -> AppError {
    AppError::NotFound(format!("ligne n° {line} introuvable"))
}

impl App {
    /// The ledger of a CPTS: its lines, gates, payments and contracts.
    pub async fn ledger(&self, p: &Principal, id: &CptsId) -> Result<LedgerView> {
        self.authorize(p, Action::Read, id).await?;
        let r = self.store.get_cpts(id).await?;
        self.ledger_of(id, r).await
    }

    /// The ledger of the CPTS read as `r`.
    pub(crate) async fn ledger_of(&self, id: &CptsId, r: cpts_store::CptsRecord) -> Result<LedgerView> {
        Ok(LedgerView {
            id: id.clone(),
            lines: self.store.ledger(id).await?,
            gates: self.store.gates(id).await?,
            payments: self.store.payment_records(id).await?,
            agreements: self.store.contracts(id, &r.identity.name).await?.into_iter().map(|(a, _)| a).collect(),
            name: r.identity.name,
        })
    }

    /// Check every ledger of the scope: each contract's live ACI lines add up, year by year and
    /// component by component, to what the domain plans for the contract as it stands
    /// (amendments, progress, validated reports, termination). A fixed number of queries.
    pub async fn check_ledgers(&self, p: &Principal) -> Result<LedgerCheck> {
        let visible = p.visible(Action::Read);
        let no_names = std::collections::HashMap::new();
        let ((contracts, _), sums) = tokio::try_join!(self.store.contracts_in(&visible, &no_names), self.store.aci_sums_in(&visible))?;
        let mut check = LedgerCheck { cpts: contracts.len(), ..LedgerCheck::default() };
        let mut ids: Vec<&String> = contracts.keys().collect();
        ids.sort_by(|a, b| cpts_domain::registry::natural_cmp(a, b));
        for id in ids {
            let have = sums.get(id.as_str());
            for (a, _) in contracts.get(id.as_str()).into_iter().flatten() {
                check.contracts += 1;
                let planned = match cpts_domain::book::Book::open(a, &self.rules) {
                    Ok(p) => p,
                    Err(e) => {
                        check.differences.push(format!("{id}, contrat n° {} : plan impossible ({e})", a.seq));
                        continue;
                    }
                };
                let mut want: std::collections::BTreeMap<(i64, u8, String), i64> = std::collections::BTreeMap::new();
                for l in planned {
                    if let Source::Aci { contract, year, component, .. } = l.source {
                        *want.entry((contract, year, component)).or_default() += l.amount.get();
                    }
                }
                let got: std::collections::BTreeMap<(i64, u8, String), i64> =
                    have.into_iter().flatten().filter(|((c, _, _), _)| *c == a.seq).map(|(k, v)| (k.clone(), *v)).collect();
                for key in want.keys().chain(got.keys()).collect::<std::collections::BTreeSet<_>>() {
                    let (w, g) = (want.get(key).copied().unwrap_or(0), got.get(key).copied().unwrap_or(0));
                    if w != g {
                        check.differences.push(format!(
                            "{id}, contrat n° {}, année {}, {} : droits {} ≠ grand livre {}",
                            key.0,
                            key.1,
                            key.2,
                            Cents::new(w),
                            Cents::new(g)
                        ));
                    }
                }
            }
        }
        Ok(check)
    }

    /// One line of the ledger and its payments.
    pub async fn ledger_line(&self, p: &Principal, id: &CptsId, line: i64) -> Result<LineView> {
        self.authorize(p, Action::Read, id).await?;
        let l = self.store.ledger(id).await?.into_iter().find(|l| l.id == line).ok_or_else(|| line_not_found(line))?;
        let payments = self.store.payment_records(id).await?.into_iter().filter(|p| p.line == line).collect();
        let (today, gates) = (self.clock.today(), self.store.gates(id).await?);
        let (status, waiting_for) = (l.status(today, &gates), l.waiting_for(&gates, today));
        let held_by = l.held_on(&gates, today);
        Ok(LineView { line: l, status, waiting_for, held_by, payments })
    }

    /// The action paying `line` asks the policy for.
    async fn pay_action(&self, id: &CptsId, l: &Line) -> Result<Action> {
        match &l.planned.source {
            Source::Aci { .. } => Ok(Action::PayAci),
            Source::Convention { convention, .. } => {
                let kind = self.store.convention_kind(id, *convention).await?.ok_or_else(|| {
                    AppError::Internal(format!("convention n° {convention} de la ligne n° {} introuvable", l.id))
                })?;
                Ok(convention_action(kind))
            }
        }
    }

    /// Record a payment on a line: an ACI line is decided on its contract's book, a
    /// convention's line by the line itself.
    pub async fn pay(&self, p: &Principal, cmd: Pay) -> Result<Paid> {
        self.authorize(p, Action::Read, &cmd.id).await?;
        // Nobody who may pay no line at all learns anything of the lines.
        let payers = [Action::PayAci, Action::ConventionArs, Action::ConventionOther];
        let areas = self.store.areas(&cmd.id).await?;
        if payers.iter().all(|a| p.allowed_on(*a, &cmd.id, &areas).is_none()) {
            return Err(AppError::forbidden(p, Action::PayAci));
        }
        let lines = self.store.ledger(&cmd.id).await?;
        let l = lines.into_iter().find(|l| l.id == cmd.line).ok_or_else(|| line_not_found(cmd.line))?;
        let action = self.pay_action(&cmd.id, &l).await?;
        let stamp = self.authorize(p, action, &cmd.id).await?;
        let amount = cmd.amount.unwrap_or_else(|| Cents::new(l.remaining().get().abs()));
        let payment = Payment { line: cmd.line, amount, on: cmd.on, by: cmd.by, reference: cmd.reference };
        // The lettre d'intention line comes before its contract: no book to decide it on yet.
        let before_contract = match &l.planned.source {
            Source::Aci { contract, .. } => {
                !self.store.contracts(&cmd.id, "").await?.iter().any(|(a, _)| a.seq == *contract)
            }
            Source::Convention { .. } => true,
        };
        match &l.planned.source {
            Source::Aci { contract, .. } if !before_contract => {
                let d = self.decide(p, action, &cmd.id, Some(*contract), Op::Pay(payment.clone()), None).await?;
                let recorded = d.outcome.payment.unwrap_or(payment);
                Ok(Paid { line: l, payment: recorded, summary: d.outcome.summary })
            }
            _ => {
                let gates = self.store.gates(&cmd.id).await?;
                let paid = l.pay(&payment, self.clock.today(), &gates).map_err(AppError::refused)?;
                self.store.pay_line(&stamp, &cmd.id, &paid).await?;
                let summary = paid_summary(&l, &paid);
                Ok(Paid { line: l, payment: paid, summary })
            }
        }
    }

    /// Add a funding convention and its installments as ledger lines.
    pub async fn add_convention(&self, p: &Principal, id: &CptsId, c: &Convention) -> Result<i64> {
        let stamp = self.authorize(p, convention_action(c.kind), id).await?;
        let mut texts =
            vec![("financeur", Some(c.funder.as_str()), Kind::Name), ("objet", Some(c.purpose.as_str()), Kind::Line)];
        texts.extend(c.deliverables.iter().map(|d| ("livrable", Some(d.as_str()), Kind::Line)));
        check_texts(&texts)?;
        c.validate().map_err(|e| AppError::invalid(e.to_string()))?;
        Ok(self.store.add_convention(&stamp, id, c).await?)
    }

    /// The conventions of a CPTS, by number.
    pub async fn conventions(&self, p: &Principal, id: &CptsId) -> Result<Vec<(i64, Convention)>> {
        self.authorize(p, Action::Read, id).await?;
        Ok(self.store.conventions(id).await?)
    }
}
