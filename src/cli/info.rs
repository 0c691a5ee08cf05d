//! `warroom completions`, `warroom man`, `warroom paths`.

use super::Cli;

pub fn completions(shell: clap_complete::Shell) -> Result<(), String> {
    let mut cmd = <Cli as clap::CommandFactory>::command();
    clap_complete::generate(shell, &mut cmd, "warroom", &mut std::io::stdout());
    Ok(())
}

pub fn man() -> Result<(), String> {
    let cmd = <Cli as clap::CommandFactory>::command();
    let mut out = Vec::new();
    clap_mangen::Man::new(cmd).render(&mut out).map_err(|e| format!("cannot render the man page: {e}"))?;
    use std::io::Write;
    std::io::stdout().write_all(&out).map_err(|e| format!("cannot write the man page: {e}"))
}

pub fn paths(cli: &Cli) -> Result<(), String> {
    for line in warroom::paths::describe() {
        println!("{line}");
    }
    match warroom::config::locate(cli.config.as_deref()) {
        Some(p) => println!("config:       {}", p.display()),
        None => println!(
            "config:       (none; `warroom config init` writes {})",
            warroom::config::default_path().map(|p| p.display().to_string()).unwrap_or_default()
        ),
    }
    Ok(())
}
