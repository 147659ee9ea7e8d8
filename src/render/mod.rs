//! Files made from the domain's figures and rows (O2): the `/stats` chart
//! as a PNG (`chart`) and the `/export` tables as CSV files split to fit
//! Discord's attachment limit (`tables`). Pure: no Discord, no database;
//! commands hand the files to `replies`.

pub mod chart;
pub mod tables;
