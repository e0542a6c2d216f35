//! `completions/` holds the generated scripts; they must match the CLI definition.
//! Regenerate with: CRUX_UPDATE_COMPLETIONS=1 cargo test --test completions

use std::process::Command;

#[test]
fn committed_completions_match_the_cli() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("completions");
    let update = std::env::var_os("CRUX_UPDATE_COMPLETIONS").is_some();
    for (shell, file) in [
        ("bash", "crux.bash"),
        ("zsh", "_crux"),
        ("fish", "crux.fish"),
        ("elvish", "crux.elv"),
        ("powershell", "_crux.ps1"),
    ] {
        let out = Command::new(env!("CARGO_BIN_EXE_crux"))
            .args(["completions", shell])
            .output()
            .unwrap();
        assert!(out.status.success());
        assert!(out.stdout.len() > 500, "{shell}: a real script");
        let path = dir.join(file);
        if update {
            std::fs::write(&path, &out.stdout).unwrap();
        }
        let committed = std::fs::read(&path).unwrap_or_default();
        assert!(
            committed == out.stdout,
            "{} is out of date with the CLI; regenerate: CRUX_UPDATE_COMPLETIONS=1 cargo test --test completions",
            path.display()
        );
    }
}
