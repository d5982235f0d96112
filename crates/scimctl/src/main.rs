//! `scimctl`: the admin CLI. Parsing lives in `cli`, the gRPC calls in
//! `commands`, text/JSON rendering in `render`.

mod cli;
mod commands;
mod error;
mod invite;
mod render;

use std::io::Write;
use std::process::ExitCode;

use clap::Parser;

use crate::cli::{Cli, OutputFormat};

fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("error: cannot start the async runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(commands::run(&cli)) {
        Ok(rendered) => {
            print(&cli, rendered);
            ExitCode::SUCCESS
        }
        Err(error) => match error.downcast::<render::FailedCheck>() {
            Ok(render::FailedCheck(rendered)) => {
                print(&cli, rendered);
                ExitCode::FAILURE
            }
            Err(error) => {
                eprintln!("error: {}", error::describe(&error));
                ExitCode::FAILURE
            }
        },
    }
}

fn print(cli: &Cli, rendered: render::Rendered) {
    let out = match cli.output {
        OutputFormat::Json => format!("{}\n", rendered.json),
        OutputFormat::Text => rendered.text,
    };
    // A closed pipe (`scimctl ... | head`) is not an error worth a panic.
    let _ = std::io::stdout().lock().write_all(out.as_bytes());
}
