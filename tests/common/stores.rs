//! The Secret Services besides gnome-keyring, started the way their users have them: KeePassXC
//! with its Secret Service integration on (its window on an Xvfb display), and kwalletd5
//! opened at "login" the way `pam_kwallet5` opens it. Each runs on a private session bus.
//!
//! [`Keyring::shared`] keeps one of each per test binary, for tests that do not need a store of
//! their own (their names do not collide). The daemons die with the test process.

use super::KEYSTORE_PASSWORD;
use super::{random_value, require_tool, run_with_stdin, wait_for, Keyring, Service};
use std::io::{Read, Write};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use tempfile::TempDir;

/// Makes `cmd`'s process die with the thread that started it, and keeps `fds` open in it at
/// their numbers.
pub(super) fn tied(cmd: &mut Command, fds: Vec<i32>) -> &mut Command {
    // SAFETY: prctl and fcntl are async-signal-safe and touch only the new process.
    unsafe {
        cmd.pre_exec(move || {
            libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
            for fd in &fds {
                libc::fcntl(*fd, libc::F_SETFD, 0);
            }
            Ok(())
        })
    }
}

fn pipe() -> (OwnedFd, OwnedFd) {
    let mut fds = [0; 2];
    // SAFETY: fds has room for the two descriptors pipe2 writes.
    assert_eq!(unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) }, 0);
    // SAFETY: pipe2 just opened both, and nothing else owns them.
    unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) }
}

/// A private temp dir with `home/` and a 0700 `run/`.
fn layout() -> (TempDir, PathBuf, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().join("home");
    let run = dir.path().join("run");
    std::fs::create_dir_all(home.join(".config")).unwrap();
    std::fs::create_dir_all(&run).unwrap();
    std::fs::set_permissions(&run, std::os::unix::fs::PermissionsExt::from_mode(0o700)).unwrap();
    (dir, home, run)
}

/// A session bus that starts nothing by itself: the standard one would start gnome-keyring
/// for a call to `org.freedesktop.secrets` while the store under test restarts.
fn bus(run: &Path) -> (Child, String) {
    require_tool("dbus-daemon", "dbus");
    let socket = run.join("bus");
    let address = format!("unix:path={}", socket.display());
    let config = run.with_file_name("bus.conf");
    std::fs::write(
        &config,
        format!(
            r#"<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-BUS Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <listen>{address}</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
  </policy>
</busconfig>
"#
        ),
    )
    .unwrap();
    let dbus = tied(&mut Command::new("dbus-daemon"), Vec::new())
        .arg(format!("--config-file={}", config.display()))
        .args(["--nofork", "--nopidfile"])
        .env_remove("DISPLAY")
        .env_remove("WAYLAND_DISPLAY")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start dbus-daemon");
    wait_for(|| socket.exists(), "the private D-Bus socket");
    (dbus, address)
}

/// An Xvfb on a free display, and its name (`:N`).
pub fn xvfb() -> (Child, String) {
    require_tool("Xvfb", "xvfb");
    let (read, write) = pipe();
    let fd = write.as_raw_fd();
    let child = tied(&mut Command::new("Xvfb"), vec![fd])
        .args(["-nolisten", "tcp", "-displayfd"])
        .arg(fd.to_string())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start Xvfb");
    drop(write);
    let mut number = String::new();
    std::fs::File::from(read)
        .read_to_string(&mut number)
        .expect("Xvfb names its display");
    let number = number.trim();
    assert!(!number.is_empty(), "Xvfb did not start");
    (child, format!(":{number}"))
}

/// A daemon's stderr, appended to `<name>.log` next to its runtime dir (read it when a start
/// times out).
fn log(run: &Path, name: &str) -> std::fs::File {
    std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(run.with_file_name(format!("{name}.log")))
        .unwrap()
}

/// The environment every store daemon gets: nothing of the test's own session.
fn daemon_env(cmd: &mut Command, home: &Path, run: &Path, address: &str) {
    cmd.env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", home)
        .env("XDG_CONFIG_HOME", home.join(".config"))
        .env("XDG_DATA_HOME", home.join(".local/share"))
        .env("XDG_CACHE_HOME", home.join(".cache"))
        .env("XDG_RUNTIME_DIR", run)
        // KeePassXC's one-instance lock lives in the temp dir.
        .env("TMPDIR", run)
        .env("DBUS_SESSION_BUS_ADDRESS", address);
}

impl Keyring {
    /// One store of `service` for this whole test binary, started on first use. A store
    /// that fails to start fails every test that asks for it, at once.
    pub fn shared(service: Service) -> &'static Keyring {
        type Shared = OnceLock<Result<&'static Keyring, String>>;
        static GNOME: Shared = OnceLock::new();
        static KEEPASSXC: Shared = OnceLock::new();
        static KWALLET: Shared = OnceLock::new();
        let cell = match service {
            Service::GnomeKeyring => &GNOME,
            Service::KeePassXC => &KEEPASSXC,
            Service::KWallet => &KWALLET,
        };
        let started = cell.get_or_init(|| {
            // Started from a thread that lives as long as the process: the daemons are tied
            // to the thread that starts them, and a test's thread ends with the test.
            let (tx, rx) = std::sync::mpsc::channel();
            std::thread::spawn(move || {
                let started = std::panic::catch_unwind(|| match service {
                    Service::GnomeKeyring => Keyring::start(),
                    Service::KeePassXC => Keyring::keepassxc(false),
                    Service::KWallet => Keyring::kwallet(),
                });
                let _ = tx.send(match started {
                    Ok(keyring) => Ok(&*Box::leak(Box::new(keyring))),
                    Err(panic) => Err(panic
                        .downcast_ref::<String>()
                        .cloned()
                        .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
                        .unwrap_or_default()),
                });
                loop {
                    std::thread::park();
                }
            });
            rx.recv()
                .unwrap_or_else(|_| Err("the starting thread died".into()))
        });
        match started {
            Ok(keyring) => keyring,
            Err(why) => panic!("{} did not start: {why}", service.name()),
        }
    }

    /// gnome-keyring with its prompter on an Xvfb display nobody looks at.
    pub fn gnome_with_display() -> Keyring {
        Keyring::gnome(None, Some(xvfb()))
    }

    /// KeePassXC 2.7 with a new database whose root group is exposed to the Secret Service,
    /// unlocked at start (`--pw-stdin`), its window on Xvfb. `confirm` keeps KeePassXC's
    /// default of asking before a client reads an entry ("Access Request").
    pub fn keepassxc(confirm: bool) -> Keyring {
        Keyring::keepassxc_with(confirm, true)
    }

    /// KeePassXC started without its password: the database is locked, its unlock dialog up
    /// on Xvfb where nobody answers it.
    pub fn keepassxc_locked() -> Keyring {
        Keyring::keepassxc_with(false, false)
    }

    fn keepassxc_with(confirm: bool, unlocked: bool) -> Keyring {
        require_tool("keepassxc", "keepassxc");
        require_tool("keepassxc-cli", "keepassxc");
        require_tool("base64", "coreutils");
        let (dir, home, run) = layout();
        let database = make_database(dir.path());
        let config = home.join(".config/keepassxc");
        std::fs::create_dir_all(&config).unwrap();
        std::fs::write(
            config.join("keepassxc.ini"),
            format!(
                "[General]\nConfigVersion=2\nAutoSaveAfterEveryChange=false\n\n[GUI]\nMinimizeOnStartup=true\n\n[FdoSecrets]\nEnabled=true\nShowNotification=false\nConfirmAccessItem={confirm}\nConfirmDeleteItem=false\n"
            ),
        )
        .unwrap();
        let (dbus, address) = bus(&run);
        let (x, display) = xvfb();
        let password = dir.path().join("password");
        std::fs::write(&password, format!("{KEYSTORE_PASSWORD}\n")).unwrap();
        // Without --pw-stdin it opens the database locked, asking for its password.
        let how = if unlocked { "--pw-stdin" } else { "" };
        // KeePassXC does not answer a process it descends from (the test binary talks to it
        // in-process), so a shell starts it detached (reparented away from the test) and
        // stops it when the shell's stdin closes: at drop, or when the test process ends.
        let mut cmd = Command::new("sh");
        daemon_env(&mut cmd, &home, &run, &address);
        let daemon = cmd
            .env("DISPLAY", &display)
            .env("QT_QPA_PLATFORM", "xcb")
            .args([
                "-c",
                "sh -c 'keepassxc $5 \"$1\" < \"$2\" 2>>\"$3\" >/dev/null & echo $!' sh \"$1\" \"$2\" \"$3\" \"$4\" \"$5\" > \"$4\"; read -r _; kill $(cat \"$4\")",
                "sh",
            ])
            .arg(&database)
            .arg(&password)
            .arg(dir.path().join("keepassxc.log"))
            .arg(dir.path().join("keepassxc.pid"))
            .arg(how)
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start keepassxc");
        let keyring = Keyring {
            dir,
            address,
            service: Service::KeePassXC,
            display: Some(display),
            dbus,
            daemon,
            others: vec![x],
        };
        // Its collection shows while the database is still locked, and a search then would
        // raise the unlock dialog: wait until `--pw-stdin` has unlocked it.
        keyring.wait_logged(
            || {
                keyring.default_collection().is_some()
                    && (!unlocked || !keyring.collection_locked())
            },
            "KeePassXC's exposed database, unlocked, on the private bus",
            "keepassxc",
        );
        keyring
    }

    /// kwalletd5 (KDE Frameworks 5) with its Secret Service API on, its wallet `kdewallet`
    /// opened without a dialog as `pam_kwallet5` opens it at login. A wallet made that way
    /// becomes a collection after one restart of the daemon, as after a second login.
    pub fn kwallet() -> Keyring {
        require_tool("kwalletd5", "kwalletmanager");
        let (dir, home, run) = layout();
        std::fs::write(
            home.join(".config/kwalletrc"),
            "[Wallet]\nFirst Use=false\nEnabled=true\n\n[org.freedesktop.secrets]\napiEnabled=true\n",
        )
        .unwrap();
        let wallets = home.join(".local/share/kwalletd");
        std::fs::create_dir_all(&wallets).unwrap();
        let salt: Vec<u8> = random_value("salt").bytes().cycle().take(56).collect();
        std::fs::write(wallets.join("kdewallet.salt"), &salt).unwrap();
        let (dbus, address) = bus(&run);
        let first = pam_login(&home, &run, &address);
        let mut keyring = Keyring {
            dir,
            address,
            service: Service::KWallet,
            display: None,
            dbus,
            daemon: first,
            others: Vec::new(),
        };
        wait_for(
            || keyring.has_secret_service(),
            "kwalletd5 on the private bus",
        );
        wait_for(
            || wallets.join("kdewallet.kwl").exists(),
            "kwalletd5 to create its wallet",
        );
        keyring.relogin_kwallet();
        keyring
    }

    /// Restarts kwalletd5 as a new login does: the wallet opened by PAM, its collection
    /// reporting itself locked until a client asks to unlock it.
    pub fn relogin_kwallet(&mut self) {
        assert_eq!(self.service, Service::KWallet);
        // Logging out closes the wallet, which writes it to disk.
        self.dbus_send(&[
            "--dest=org.kde.kwalletd5",
            "/modules/kwalletd5",
            "org.kde.KWallet.closeAllWallets",
        ])
        .expect("kwalletd5 closes its wallets");
        let _ = self.daemon.kill();
        let _ = self.daemon.wait();
        let home = self.dir.path().join("home");
        let run = self.dir.path().join("run");
        wait_for(
            || !self.has_secret_service(),
            "the old kwalletd5 to leave the bus",
        );
        self.daemon = pam_login(&home, &run, &self.address);
        self.wait_logged(
            || self.default_collection().is_some(),
            "kwalletd5's wallet as a collection",
            "kwalletd5",
        );
    }

    /// [`wait_for`], with the daemon's log in the failure.
    fn wait_logged(&self, mut ready: impl FnMut() -> bool, what: &str, daemon: &str) {
        let start = std::time::Instant::now();
        while !ready() {
            assert!(
                start.elapsed() < std::time::Duration::from_secs(20),
                "timed out waiting for {what}; the log of {daemon}: {}",
                std::fs::read_to_string(self.dir.path().join(format!("{daemon}.log")))
                    .unwrap_or_default()
            );
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
    }

    /// The default collection's object path, when there is one.
    pub fn default_collection(&self) -> Option<String> {
        let out = self.dbus_send(&[
            "--dest=org.freedesktop.secrets",
            "/org/freedesktop/secrets",
            "org.freedesktop.Secret.Service.ReadAlias",
            "string:default",
        ])?;
        let path = out.split('"').nth(1)?.to_owned();
        (path != "/").then_some(path)
    }

    /// Whether the default collection says it is locked.
    pub fn collection_locked(&self) -> bool {
        let collection = self.default_collection().expect("a default collection");
        let out = self
            .dbus_send(&[
                "--dest=org.freedesktop.secrets",
                &collection,
                "org.freedesktop.DBus.Properties.Get",
                "string:org.freedesktop.Secret.Collection",
                "string:Locked",
            ])
            .expect("the collection answers");
        out.contains("boolean true")
    }

    fn dbus_send(&self, args: &[&str]) -> Option<String> {
        let out = Command::new("dbus-send")
            .arg(format!("--bus={}", self.address))
            .args(["--print-reply", "--reply-timeout=5000"])
            .args(args)
            .output()
            .ok()?;
        out.status
            .success()
            .then(|| String::from_utf8_lossy(&out.stdout).into_owned())
    }

    /// Records every message on this bus (`dbus-monitor`) until the returned child is killed.
    pub fn monitor(&self, to: &Path) -> Child {
        require_tool("dbus-monitor", "dbus-bin");
        let child = tied(&mut Command::new("dbus-monitor"), Vec::new())
            .arg("--address")
            .arg(&self.address)
            .stdout(std::fs::File::create(to).unwrap())
            .stderr(Stdio::null())
            .spawn()
            .expect("start dbus-monitor");
        // It is listening once its own NameAcquired shows.
        wait_for(
            || std::fs::read_to_string(to).is_ok_and(|t| t.contains("NameAcquired")),
            "dbus-monitor",
        );
        child
    }
}

/// A KeePassXC database with its root group exposed to the Secret Service. keepassxc-cli
/// cannot expose a group, so the exposure (`Meta/CustomData` `FDO_SECRETS_EXPOSED_GROUP`) is
/// added to an XML export, which is imported as a new database.
fn make_database(dir: &Path) -> PathBuf {
    let plain = dir.join("plain.kdbx");
    let twice = format!("{KEYSTORE_PASSWORD}\n{KEYSTORE_PASSWORD}\n");
    let once = format!("{KEYSTORE_PASSWORD}\n");
    let cli = |args: &[&str], stdin: &str| {
        let out = run_with_stdin(
            {
                let mut c = Command::new("keepassxc-cli");
                c.args(args).env("HOME", dir);
                c
            },
            Some(stdin),
        );
        assert!(
            out.status.success(),
            "keepassxc-cli {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        out.stdout
    };
    let plain_s = plain.to_str().unwrap();
    cli(&["db-create", "-q", "-p", "-t", "100", plain_s], &twice);
    let xml = String::from_utf8(cli(&["export", "-q", "-f", "xml", plain_s], &once)).unwrap();
    let root = &xml[xml.find("<Root>").expect("an exported root")..];
    let uuid = root
        .split("<UUID>")
        .nth(1)
        .and_then(|r| r.split("</UUID>").next())
        .expect("the root group's UUID");
    let bytes = run_with_stdin(
        {
            let mut c = Command::new("base64");
            c.arg("-d");
            c
        },
        Some(uuid),
    )
    .stdout;
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    assert_eq!(hex.len(), 32, "a 16-byte group UUID");
    let group = format!(
        "{{{}-{}-{}-{}-{}}}",
        &hex[0..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    );
    let exposed = xml.replacen(
        "</Meta>",
        &format!("<CustomData><Item><Key>FDO_SECRETS_EXPOSED_GROUP</Key><Value>{group}</Value></Item></CustomData></Meta>"),
        1,
    );
    let xml_path = dir.join("exposed.xml");
    std::fs::write(&xml_path, exposed).unwrap();
    let database = dir.join("crux-tests.kdbx");
    cli(
        &[
            "import",
            "-q",
            "-p",
            "-t",
            "100",
            xml_path.to_str().unwrap(),
            database.to_str().unwrap(),
        ],
        &twice,
    );
    std::fs::remove_file(&xml_path).unwrap();
    database
}

/// Starts kwalletd5 as `pam_kwallet5` does at login: the wallet key (PBKDF2-SHA512 of the
/// password with the wallet's salt, 50,000 rounds, 56 bytes) down a pipe, then the session's
/// environment over a socket.
fn pam_login(home: &Path, run: &Path, address: &str) -> Child {
    let salt = std::fs::read(home.join(".local/share/kwalletd/kdewallet.salt")).unwrap();
    let key = pbkdf2_sha512(KEYSTORE_PASSWORD.as_bytes(), &salt, 50_000);
    let socket = run.join("kwallet5.socket");
    let _ = std::fs::remove_file(&socket);
    let listener = std::os::unix::net::UnixListener::bind(&socket).unwrap();
    let (read, write) = pipe();
    let (read_fd, listen_fd) = (read.as_raw_fd(), listener.as_raw_fd());
    let mut cmd = Command::new("kwalletd5");
    daemon_env(&mut cmd, home, run, address);
    let child = tied(&mut cmd, vec![read_fd, listen_fd])
        .env("PAM_KWALLET5_LOGIN", &socket)
        .env("QT_QPA_PLATFORM", "offscreen")
        .args(["--pam-login", &read_fd.to_string(), &listen_fd.to_string()])
        .stdout(log(run, "kwalletd5"))
        .stderr(log(run, "kwalletd5"))
        .spawn()
        .expect("start kwalletd5");
    drop(read);
    std::fs::File::from(write).write_all(&key).unwrap();
    let mut session = std::os::unix::net::UnixStream::connect(&socket).unwrap();
    writeln!(session, "DBUS_SESSION_BUS_ADDRESS={address}").unwrap();
    drop(session);
    drop(listener);
    child
}

fn hmac_sha512(key: &[u8], message: &[&[u8]]) -> [u8; 64] {
    use sha2::{Digest, Sha512};
    let mut block = [0u8; 128];
    if key.len() > 128 {
        block[..64].copy_from_slice(&Sha512::digest(key));
    } else {
        block[..key.len()].copy_from_slice(key);
    }
    let mut inner = Sha512::new();
    inner.update(block.map(|b| b ^ 0x36));
    for part in message {
        inner.update(part);
    }
    let mut outer = Sha512::new();
    outer.update(block.map(|b| b ^ 0x5c));
    outer.update(inner.finalize());
    outer.finalize().into()
}

/// PBKDF2-HMAC-SHA512 (RFC 8018) for one block: at most 64 bytes of key, 56 taken.
fn pbkdf2_sha512(password: &[u8], salt: &[u8], rounds: u32) -> [u8; 56] {
    let mut u = hmac_sha512(password, &[salt, &1u32.to_be_bytes()]);
    let mut t = u;
    for _ in 1..rounds {
        u = hmac_sha512(password, &[&u]);
        t.iter_mut().zip(u).for_each(|(t, u)| *t ^= u);
    }
    t[..56].try_into().unwrap()
}
