//! The deployment calendar of a contract: for each mission, the start and full-deployment
//! deadlines from the rules (counted from the signature, or from the day the mission entered
//! the ACI for contracts signed before), the actual dates and a status on a given day.

use jiff::civil::Date;

use cpts_engine::compute::deadline;
use cpts_engine::contract::Contract;
use cpts_engine::dates::{days_between, fr};
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

/// The calendar of a contract on `today`.
pub fn calendar(rules: &RuleSet, c: &Contract, progress: &dyn Fn(&str) -> Progress, today: Date) -> Vec<MissionDates> {
    c.missions
        .iter()
        .filter_map(|cm| {
            let def = rules.mission(cm.mission)?;
            let start_deadline = deadline(rules, c, cm.mission, MissionParam::StartDelay).map(|(d, _)| d);
            let deploy_deadline = deadline(rules, c, cm.mission, MissionParam::DeploymentDelay).map(|(d, _)| d);
            let p = progress(&def.code);
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

/// An item of `cpts alerts`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Alert {
    pub date: Date,
    /// True when the date has passed.
    pub late: bool,
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
                late: true,
                text: format!("{} : {what} attendu au plus tard le {} ({})", m.label, fr(d), m.status.label()),
            });
        } else if left <= horizon {
            out.push(Alert {
                date: d,
                late: false,
                text: format!("{} : {what} à faire d'ici le {} (dans {left} jours)", m.label, fr(d)),
            });
        }
    }
    out
}
