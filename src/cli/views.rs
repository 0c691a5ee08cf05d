//! `warroom views`.

use clap::Subcommand;

#[derive(Subcommand)]
pub enum ViewsCmd {
    /// Name, source and description of every view; broken files with
    /// file:line:column (exit status 1 if any is broken).
    List,
}

pub fn run(what: ViewsCmd) -> Result<(), String> {
    match what {
        ViewsCmd::List => list(),
    }
}

fn list() -> Result<(), String> {
    let catalog = warroom::views::Catalog::for_user();
    if let Some(dir) = warroom::views::user_dir() {
        println!("your views: {}", dir.display());
    }
    for v in &catalog.views {
        println!("{:<14} {:<10} {}", v.name, if v.source == "built-in" { "built-in" } else { "yours" }, v.description);
    }
    for (name, lines) in &catalog.broken {
        println!("{name:<14} BROKEN");
        for l in lines {
            println!("    {l}");
        }
    }
    if catalog.broken.is_empty() {
        Ok(())
    } else {
        Err(format!("{} view file(s) broken; the console falls back to the built-in view", catalog.broken.len()))
    }
}
