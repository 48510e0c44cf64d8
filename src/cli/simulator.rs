//! `acmirror fake-ac` and `acmirror demo`: the simulator is a program of its own,
//! `acmirror-sim`, so that the daemon carries none of it. These subcommands replace the process
//! with `acmirror-sim <subcommand> <arguments>`, found beside this executable or on `PATH`;
//! signals and the exit code are then the simulator's own.

use std::ffi::OsString;
use std::os::unix::process::CommandExt;
use std::path::PathBuf;

use super::CliError;

/// The simulator's program name.
pub const PROGRAM: &str = "acmirror-sim";

/// Everything after the subcommand, `--help` included, for the simulator to parse.
#[derive(Debug, clap::Args)]
pub struct Handover {
    /// Arguments of the simulator's subcommand (`acmirror-sim <subcommand> --help` lists them)
    #[arg(trailing_var_arg = true, allow_hyphen_values = true, num_args = 0..)]
    args: Vec<OsString>,
}

/// Replaces this process with `acmirror-sim <subcommand> <arguments>`; returns only on failure.
pub fn hand_over(subcommand: &str, handover: Handover) -> Result<(), CliError> {
    let program = locate();
    let err = std::process::Command::new(&program)
        .arg(subcommand)
        .args(handover.args)
        .exec();
    let how = if err.kind() == std::io::ErrorKind::NotFound {
        format!(
            "it was found neither beside this executable nor on PATH. Build it with \
             `cargo build --release -p {PROGRAM}` (it lands beside acmirror), install it with \
             `cargo install --path sim`, or run `cargo run --release -p {PROGRAM} -- {subcommand}`"
        )
    } else {
        format!("running {} failed: {err}", program.display())
    };
    Err(CliError::Failed(anyhow::anyhow!(
        "`acmirror {subcommand}` runs the simulator, a separate program ({PROGRAM}); {how}"
    )))
}

/// `acmirror-sim` beside the running executable if it is there, else the bare name (`PATH`).
fn locate() -> PathBuf {
    let beside = std::env::current_exe()
        .ok()
        .map(|exe| exe.with_file_name(format!("{PROGRAM}{}", std::env::consts::EXE_SUFFIX)));
    match beside {
        Some(path) if path.is_file() => path,
        _ => PathBuf::from(PROGRAM),
    }
}
