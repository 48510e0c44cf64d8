use clap::Parser;

fn main() {
    let cli = acmirror::cli::Cli::parse();
    if let Err(err) = acmirror::cli::run(cli) {
        eprintln!("error: {err:#}");
        std::process::exit(err.exit_code());
    }
}
