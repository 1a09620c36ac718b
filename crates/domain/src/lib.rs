pub mod agreement;
pub mod book;
pub mod calendar;
pub mod geo;
pub mod ids;
pub mod ledger;
pub mod lifecycle;
pub mod registry;
