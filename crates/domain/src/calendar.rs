//! The deployment calendar of a contract: for each mission, the start and full-deployment
//! deadlines from the rules (counted from the signature, or from the day the mission entered
//! the ACI for contracts signed before), the actual dates and a status on a given day.

use jiff::civil::Date;

use cpts_engine::compute::deadline;
use cpts_engine::contract::Contract;
use cpts_engine::dates::{day_before, days_between, fr};
use cpts_engine::rules::{MissionIdx, MissionKind, MissionParam, RuleSet};

use crate::agreement::Progress;

#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum MissionStatus {
    /// Not started; the start deadline (if any) has not passed.
    Upcoming,
    /// Not started and the start deadline has passed.
    Overdue,
    /// Started, not fully deployed, deployment deadline not passed.
    Started,
    /// Started but not deployed, and the deployment deadline has passed.
    Late,
    Deployed,
}

impl MissionStatus {
    pub fn label(self) -> &'static str {
        match self {
            MissionStatus::Upcoming => "à venir",
            MissionStatus::Overdue => "dépassé",
            MissionStatus::Started => "démarrée",
            MissionStatus::Late => "en retard",
            MissionStatus::Deployed => "déployée",
        }
    }

    pub fn is_alert(self) -> bool {
        matches!(self, MissionStatus::Overdue | MissionStatus::Late)
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MissionDates {
    pub mission: MissionIdx,
    pub code: String,
    pub label: String,
    pub socle: bool,
    pub start_deadline: Option<Date>,
    pub deploy_deadline: Option<Date>,
    pub progress: Progress,
    pub status: MissionStatus,
}

impl MissionDates {
    /// Started or deployed after its deadline (done, but late).
    pub fn late_notes(&self) -> Vec<String> {
        let mut v = Vec::new();
        if let (Some(s), Some(d)) = (self.progress.started, self.start_deadline)
            && s > d
        {
            v.push(format!("démarrée le {} après l'échéance du {}", fr(s), fr(d)));
        }
        if let (Some(s), Some(d)) = (self.progress.deployed, self.deploy_deadline)
            && s > d
        {
            v.push(format!("déployée le {} après l'échéance du {}", fr(s), fr(d)));
        }
        v
    }

    /// The next deadline still to meet, if any.
    pub fn next_deadline(&self) -> Option<(Date, &'static str)> {
        match self.status {
            MissionStatus::Upcoming | MissionStatus::Overdue => self.start_deadline.map(|d| (d, "démarrage")),
            MissionStatus::Started | MissionStatus::Late => self.deploy_deadline.map(|d| (d, "déploiement complet")),
            MissionStatus::Deployed => None,
        }
    }
}

/// What was recorded of a mission's progress by `on`: a view as of a date ignores later facts.
fn as_of(p: Progress, on: Date) -> Progress {
    let started = p.started.filter(|d| *d <= on);
    Progress { started, deployed: p.deployed.filter(|d| started.is_some() && *d <= on) }
}

/// The calendar of a contract on `today`, as it stood that day: starts and deployments
/// recorded for later days are not counted.
pub fn calendar(rules: &RuleSet, c: &Contract, progress: &dyn Fn(&str) -> Progress, today: Date) -> Vec<MissionDates> {
    c.missions
        .iter()
        .filter_map(|cm| {
            let def = rules.mission(cm.mission)?;
            let start_deadline = deadline(rules, c, cm.mission, MissionParam::StartDelay).map(|(d, _)| d);
            let deploy_deadline = deadline(rules, c, cm.mission, MissionParam::DeploymentDelay).map(|(d, _)| d);
            let p = as_of(progress(&def.code), today);
            let passed = |d: Option<Date>| d.is_some_and(|d| d < today);
            let status = match (p.started, p.deployed) {
                (_, Some(_)) => MissionStatus::Deployed,
                (Some(_), None) if passed(deploy_deadline) => MissionStatus::Late,
                (Some(_), None) => MissionStatus::Started,
                (None, _) if passed(start_deadline) => MissionStatus::Overdue,
                (None, _) => MissionStatus::Upcoming,
            };
            Some(MissionDates {
                mission: cm.mission,
                code: def.code.clone(),
                label: def.label.clone(),
                socle: def.kind == MissionKind::Socle,
                start_deadline,
                deploy_deadline,
                progress: p,
                status,
            })
        })
        .collect()
}

/// How pressing an alert is.
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Urgency {
    /// A deadline known from the rules or the ledger has passed.
    Late,
    /// A known deadline falls within the horizon.
    Soon,
    /// Something waits with no deadline known: none is invented, so it is never « en retard ».
    ToDo,
}

impl Urgency {
    pub const ALL: [Urgency; 3] = [Urgency::Late, Urgency::Soon, Urgency::ToDo];

    /// Stable code (the alerts page's and the API's filter).
    pub fn code(self) -> &'static str {
        match self {
            Urgency::Late => "retard",
            Urgency::Soon => "a-venir",
            Urgency::ToDo => "a-faire",
        }
    }

    pub fn from_code(s: &str) -> Option<Urgency> {
        Urgency::ALL.into_iter().find(|u| u.code() == s)
    }

    pub fn label(self) -> &'static str {
        match self {
            Urgency::Late => "en retard",
            Urgency::Soon => "à venir",
            Urgency::ToDo => "à faire",
        }
    }
}

/// An item of `cpts alerts`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Alert {
    pub date: Date,
    pub urgency: Urgency,
    pub text: String,
}

/// Calendar alerts: what is late, and deadlines within `horizon` days of `today`.
pub fn mission_alerts(days: &[MissionDates], today: Date, horizon: i64) -> Vec<Alert> {
    let mut out = Vec::new();
    for m in days {
        let Some((d, what)) = m.next_deadline() else { continue };
        let left = days_between(today, d);
        if d < today {
            out.push(Alert {
                date: d,
                urgency: Urgency::Late,
                text: format!("{} : {what} attendu au plus tard le {} ({})", m.label, fr(d), m.status.label()),
            });
        } else if left <= horizon {
            out.push(Alert {
                date: d,
                urgency: Urgency::Soon,
                text: format!("{} : {what} à faire d'ici le {} (dans {left} jours)", m.label, fr(d)),
            });
        }
    }
    out
}

/// Alerts of the contract in force on `today` (its calendar in `days`): mission deadlines and
/// its end. A contract whose term is over is « échu » from its dates alone, with no recorded
/// step; a termination known on `today` ends every alert here (its reports are still awaited:
/// see `activity::report_alerts`).
pub fn contract_alerts(c: &Contract, seq: i64, days: &[MissionDates], today: Date, horizon: i64) -> Vec<Alert> {
    if c.terminated.is_some_and(|t| t <= today) {
        return Vec::new();
    }
    let Some(end) = c.anniversaries.last().copied() else { return Vec::new() };
    let last_day = day_before(end).unwrap_or(end);
    if end <= today {
        return vec![Alert {
            date: last_day,
            urgency: Urgency::ToDo,
            text: format!(
                "contrat ACI n° {seq} échu : arrivé à son terme le {} ; plus de mission à déployer, renouvellement à signer le cas échéant",
                fr(last_day)
            ),
        }];
    }
    let mut out = mission_alerts(days, today, horizon);
    let left = days_between(today, last_day);
    if left <= horizon {
        out.push(Alert {
            date: last_day,
            urgency: Urgency::Soon,
            text: format!(
                "contrat ACI n° {seq} à échéance le {} (dernier jour) : préparer le renouvellement",
                fr(last_day)
            ),
        });
    }
    out
}
