//! `completions/` holds the generated shell scripts and `man/` the manual pages; both must
//! match the CLI definition. Regenerate with:
//! CRUX_UPDATE_COMPLETIONS=1 CRUX_UPDATE_MAN=1 cargo test --test completions

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

/// `man/` holds the manual pages, generated with `clap_mangen` from the same CLI definition:
/// `crux.1` and one page per subcommand (`crux-mcp-add.1`, …). Regenerate with:
/// CRUX_UPDATE_MAN=1 cargo test --test completions
#[test]
fn committed_man_pages_match_the_cli() {
    use clap::CommandFactory;
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("man");
    let fresh = tempfile::tempdir().unwrap();
    clap_mangen::generate_to(crux::cli::Cli::command(), fresh.path()).unwrap();
    let pages = |dir: &std::path::Path| -> std::collections::BTreeMap<String, Vec<u8>> {
        std::fs::read_dir(dir)
            .map(|entries| {
                entries
                    .map(|e| e.unwrap().path())
                    .filter(|p| p.extension().is_some_and(|x| x == "1"))
                    .map(|p| {
                        let name = p.file_name().unwrap().to_string_lossy().into_owned();
                        (name, std::fs::read(&p).unwrap())
                    })
                    .collect()
            })
            .unwrap_or_default()
    };
    let generated = pages(fresh.path());
    assert!(generated.contains_key("crux.1"), "{:?}", generated.keys());
    assert!(
        generated.contains_key("crux-mcp-add.1"),
        "{:?}",
        generated.keys()
    );
    let main = String::from_utf8_lossy(&generated["crux.1"]);
    assert!(main.contains(".TH crux 1"), "a man page: {main}");
    if std::env::var_os("CRUX_UPDATE_MAN").is_some() {
        if dir.exists() {
            std::fs::remove_dir_all(&dir).unwrap();
        }
        std::fs::create_dir_all(&dir).unwrap();
        for (name, page) in &generated {
            std::fs::write(dir.join(name), page).unwrap();
        }
    }
    let committed = pages(&dir);
    let stale: Vec<&String> = generated
        .keys()
        .chain(committed.keys())
        .filter(|name| generated.get(*name) != committed.get(*name))
        .collect();
    assert!(
        stale.is_empty(),
        "man/ is out of date with the CLI ({stale:?}); regenerate: CRUX_UPDATE_MAN=1 cargo test --test completions"
    );
}
