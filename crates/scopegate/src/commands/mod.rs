//! One module per subcommand.

pub mod check;
pub mod completions;
pub mod diff;
pub mod explain;
pub mod integration;
pub mod lint;
pub mod matrix;
pub mod migrate;
pub mod openapi;
pub mod org;
pub mod policy;
pub mod replay;
pub mod rule;
pub mod serve;
pub mod test;
pub mod token;
pub mod user;
pub mod world;
