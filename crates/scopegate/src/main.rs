//! The `scopegate` binary: parses arguments and maps the outcome to an exit code.

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = scopegate::Cli::parse();
    match scopegate::run(cli) {
        Ok(status) => status.into(),
        Err(err) => {
            // Bad input or a failed tool: every cause, one per line, exit 2.
            let mut first = true;
            for cause in err.chain() {
                if first {
                    eprintln!("error: {cause}");
                    first = false;
                } else {
                    eprintln!("  caused by: {cause}");
                }
            }
            scopegate::ExitStatus::Error.into()
        }
    }
}
