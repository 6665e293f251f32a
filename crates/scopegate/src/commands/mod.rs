//! One module per subcommand.

pub mod check;
pub mod explain;
pub mod lint;
pub mod policy;
pub mod rule;
