//! `cpts-engine`: the ACI CPTS funding rules as data and the engine that computes,
//! explains and schedules a contract's money. Pure: no file, network or database I/O.
//!
//! Flow: rule texts → [`rules::RuleSet`] (checked); case text → [`input::load_case`]
//! → [`contract::Contract`]; then [`compute::compute_year`], [`schedule::schedule`],
//! [`simulate::simulate`]. Explanations are recorded through [`compute::Trace`].

pub mod compute;
pub mod contract;
pub mod dates;
pub mod explain;
pub mod input;
pub mod money;
pub mod rate;
pub mod report;
pub mod rules;
pub mod schedule;
pub mod simulate;
pub mod testcase;
pub mod yaml;
