//! One module per subcommand.

pub mod check;
pub mod explain;
pub mod migrate;
pub mod policy;
pub mod serve;
pub mod user;
