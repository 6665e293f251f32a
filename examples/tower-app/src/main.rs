//! `scopegate-example-tower [--db URL] [--listen ADDR] [--unprotected]`: serves the example
//! API over a SQLite store (seeded with the example world when empty), and prints a token
//! for user 12 (on acme's replay allowlist) and user 13 (not on it).
//!
//! `--unprotected` serves the same routes without the layer (the baseline of
//! `BENCHMARKS.md`'s load test; never for real use).

use std::process::ExitCode;
use std::sync::Arc;

use scopegate_example_tower::{protected, seed, token, unprotected, AppData, Error};

#[tokio::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .init();
    match run().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(2)
        }
    }
}

async fn run() -> Result<(), Error> {
    let mut db = "sqlite:tower-app.sqlite".to_string();
    let mut listen = "127.0.0.1:3000".to_string();
    let mut bare = false;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--db" => db = args.next().ok_or("--db needs a URL")?,
            "--listen" => listen = args.next().ok_or("--listen needs an address")?,
            "--unprotected" => bare = true,
            other => return Err(format!("unknown argument `{other}`").into()),
        }
    }
    let store = scopegate_store::connect(&db).await?;
    let world = seed(&*store).await?;
    let data = AppData::seeded(&world);
    for user in [12, 13] {
        let secret = token(&*store, user, &["org:read", "project:read", "event:read"]).await?;
        println!("token user={user} secret={secret}");
    }
    let (app, _replica) = if bare {
        (unprotected(data), None)
    } else {
        let (app, replica) = protected(Arc::clone(&store), data).await?;
        (app, Some(replica))
    };
    let listener = tokio::net::TcpListener::bind(&listen).await?;
    println!("listening on http://{}", listener.local_addr()?);
    axum::serve(listener, app).await?;
    Ok(())
}
