//! Reform simulation over the contracts of a scope: each CPTS's current contract computed under
//! the rules in force and under a reform (shipped or given as text), the difference per CPTS and
//! in total. Read in a fixed number of queries whatever the number of CPTS.

use std::collections::HashMap;

use cpts_engine::rules::{BUILTIN_REFORMS, ReformInfo};
use cpts_engine::simulate::{Simulation, simulate};

use crate::policy::{Action, Principal};
use crate::{App, AppError, Result};

/// Which reform to simulate.
#[derive(Clone, Debug)]
pub enum Reform {
    /// One shipped with cpts, by id.
    Builtin(String),
    /// A reform file's text, named for messages.
    Text { name: String, text: String },
}

#[derive(Clone, Debug)]
pub struct SimulationView {
    pub reform: Option<ReformInfo>,
    pub simulation: Simulation,
    /// CPTS of the scope with no contract signed: nothing to simulate.
    pub without_contract: usize,
}

/// The shipped reforms: (id, label).
pub fn builtin_reforms(app: &App) -> Vec<(String, String)> {
    BUILTIN_REFORMS
        .iter()
        .filter_map(|(id, _)| app.rules.builtin_reform(id)?.ok().and_then(|r| r.reform).map(|r| ((*id).to_owned(), r.label)))
        .collect()
}

impl App {
    pub async fn simulate(&self, p: &Principal, reform: &Reform) -> Result<std::sync::Arc<SimulationView>> {
        let visible = p.visible(Action::Read);
        match reform {
            // A shipped reform is the same text every time: its answer is kept like a read model.
            Reform::Builtin(id) => {
                let key = format!("simulate|{visible:?}|{id}");
                self.cached(key, || self.compute_simulation(visible.clone(), reform)).await
            }
            Reform::Text { .. } => self.compute_simulation(visible, reform).await.map(std::sync::Arc::new),
        }
    }

    async fn compute_simulation(&self, visible: cpts_store::Visible, reform: &Reform) -> Result<SimulationView> {
        let reformed = self.rules_under(Some(reform))?;
        let records = self.store.list_cpts_in(&visible).await?;
        let names: HashMap<String, String> = records.iter().map(|r| (r.id.to_string(), r.identity.name.clone())).collect();
        let (mut contracts, _) = self.store.contracts_in(&visible, &names).await?;
        let mut current = Vec::new();
        let mut without_contract = 0;
        for r in &records {
            // The contract in force: the last one signed.
            match contracts.remove(r.id.as_str()).and_then(|mut v| v.pop()) {
                Some((a, _)) => current.push(crate::contracts::contract_of(self, &a)?),
                None => without_contract += 1,
            }
        }
        let simulation = simulate(&self.rules, &reformed, &current).map_err(|e| AppError::Internal(e.to_string()))?;
        Ok(SimulationView { reform: reformed.reform, simulation, without_contract })
    }
}
