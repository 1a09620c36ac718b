pub mod geo;
pub mod ids;
pub mod registry;
