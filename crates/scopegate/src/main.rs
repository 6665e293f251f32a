//! The `scopegate` binary: parses arguments and maps the outcome to an exit code.

use std::process::ExitCode;

use clap::Parser;

/// mimalloc: cheaper allocation and freeing of the many small nodes a large document parses
/// into (`scopegate lint`: about half of its CPU time on a 3.9 MB OpenAPI document).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let cli = scopegate::Cli::parse();
    match scopegate::run(cli) {
        Ok(status) => status.into(),
        // The reader of standard output went away (`| head -1`): nothing more to say.
        Err(err) if scopegate::is_broken_pipe(&err) => scopegate::ExitStatus::Success.into(),
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
