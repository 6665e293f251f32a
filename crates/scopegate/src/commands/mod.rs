//! One module per subcommand.

pub mod check;
pub mod diff;
pub mod explain;
pub mod lint;
pub mod matrix;
pub mod policy;
pub mod rule;
