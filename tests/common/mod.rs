//! Test harness: isolated homes, a private D-Bus session with an unlocked gnome-keyring per
//! test, and a builder for running the crux binary in a stripped environment.
//!
//! A keystore that cannot start fails the test; nothing here skips.
#![allow(dead_code)]

use std::ffi::OsString;
use std::io::BufRead;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};
use tempfile::TempDir;

pub mod stores;

pub const CRUX: &str = env!("CARGO_BIN_EXE_crux");

/// Fails with an install hint when a tool the tests need is missing.
pub fn require_tool(tool: &str, package: &str) {
    let found = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).any(|d| d.join(tool).is_file()))
        .unwrap_or(false);
    assert!(found, "{tool} is not installed: apt-get install {package}");
}

/// The end-to-end kit: pinned MCP clients, servers, OAuth servers and the conformance suite.
pub fn kit() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/e2e")
}

/// Installs the kit (tests/e2e/setup.sh, idempotent) once per test binary.
pub fn setup_kit() {
    static SETUP: std::sync::Once = std::sync::Once::new();
    SETUP.call_once(|| {
        require_tool("node", "nodejs");
        require_tool("npm", "npm");
        let status = Command::new("bash")
            .arg(kit().join("setup.sh"))
            .status()
            .unwrap();
        assert!(status.success(), "tests/e2e/setup.sh failed");
    });
}

/// A random printable value that looks like nothing real.
pub fn random_value(tag: &str) -> String {
    let mut bytes = [0u8; 12];
    std::fs::File::open("/dev/urandom")
        .and_then(|mut f| std::io::Read::read_exact(&mut f, &mut bytes))
        .unwrap();
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    format!("test-{tag}-{hex}")
}

/// The Secret Services the suite runs against, each as its users have it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Service {
    GnomeKeyring,
    KeePassXC,
    KWallet,
}

impl Service {
    /// The name crux's messages give it.
    pub fn name(self) -> &'static str {
        match self {
            Service::GnomeKeyring => "GNOME Keyring",
            Service::KeePassXC => "KeePassXC",
            Service::KWallet => "KDE Wallet",
        }
    }
}

/// A private session bus with an unlocked Secret Service on it (gnome-keyring unless made by
/// [`Keyring::keepassxc`] or [`Keyring::kwallet`]), torn down on drop.
pub struct Keyring {
    pub dir: TempDir,
    pub address: String,
    pub service: Service,
    /// The X display of KeePassXC's window (Xvfb), or of gnome-keyring's prompter.
    pub display: Option<String>,
    dbus: Child,
    daemon: Child,
    others: Vec<Child>,
}

/// The password of every test keystore (a test fixture, not a credential).
const KEYSTORE_PASSWORD: &str = "test-keyring-password";

impl Keyring {
    pub fn start() -> Keyring {
        Keyring::start_with(None)
    }

    /// A keyring whose bus listens on `socket` instead of inside its temp dir.
    pub fn start_with(socket: Option<PathBuf>) -> Keyring {
        Keyring::gnome(socket, None)
    }

    /// gnome-keyring; with `display` (an Xvfb and its name), its prompter (gcr-prompter,
    /// started by the bus) draws its dialogs there, where nobody answers them.
    fn gnome(socket: Option<PathBuf>, display: Option<(Child, String)>) -> Keyring {
        require_tool("dbus-daemon", "dbus");
        require_tool("gnome-keyring-daemon", "gnome-keyring");
        let dir = tempfile::tempdir().unwrap();
        let home = dir.path().join("home");
        let run = dir.path().join("run");
        std::fs::create_dir_all(&home).unwrap();
        std::fs::create_dir_all(&run).unwrap();
        std::fs::set_permissions(&run, std::os::unix::fs::PermissionsExt::from_mode(0o700))
            .unwrap();
        let socket = socket.unwrap_or_else(|| run.join("bus"));
        let address = format!("unix:path={}", socket.display());
        let mut dbus = Command::new("dbus-daemon");
        // What the bus starts (gnome-keyring's prompter) draws on the test's display or none.
        dbus.env_remove("DISPLAY").env_remove("WAYLAND_DISPLAY");
        if let Some((_, name)) = &display {
            dbus.env("DISPLAY", name);
        }
        // Tied to the starting thread: a shared keyring's daemons end with the test process.
        let dbus = stores::tied(&mut dbus, Vec::new())
            .args(["--session", "--nofork", "--nopidfile"])
            .arg(format!("--address={address}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start dbus-daemon");
        wait_for(|| socket.exists(), "the private D-Bus socket");
        let mut daemon = stores::tied(&mut Command::new("gnome-keyring-daemon"), Vec::new())
            .args(["--foreground", "--unlock", "--components=secrets"])
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", &home)
            .env("XDG_DATA_HOME", home.join(".local/share"))
            .env("XDG_RUNTIME_DIR", &run)
            .env("DBUS_SESSION_BUS_ADDRESS", &address)
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start gnome-keyring-daemon");
        daemon
            .stdin
            .take()
            .unwrap()
            .write_all(KEYSTORE_PASSWORD.as_bytes())
            .unwrap();
        let keyring = Keyring {
            dir,
            address,
            service: Service::GnomeKeyring,
            display: display.as_ref().map(|(_, name)| name.clone()),
            dbus,
            daemon,
            others: display.into_iter().map(|(xvfb, _)| xvfb).collect(),
        };
        wait_for(
            || keyring.has_secret_service(),
            "gnome-keyring on the private bus",
        );
        keyring
    }

    fn has_secret_service(&self) -> bool {
        Command::new("dbus-send")
            .args([
                "--print-reply",
                "--dest=org.freedesktop.DBus",
                "/org/freedesktop/DBus",
            ])
            .arg(format!("--bus={}", self.address))
            .args([
                "org.freedesktop.DBus.NameHasOwner",
                "string:org.freedesktop.secrets",
            ])
            .output()
            .map(|o| String::from_utf8_lossy(&o.stdout).contains("boolean true"))
            .unwrap_or(false)
    }

    /// The environment a process needs to reach this keyring.
    pub fn env(&self) -> Vec<(&'static str, OsString)> {
        vec![
            ("DBUS_SESSION_BUS_ADDRESS", self.address.clone().into()),
            ("XDG_RUNTIME_DIR", self.dir.path().join("run").into()),
        ]
    }

    /// Runs `secret-tool` against this keyring.
    pub fn secret_tool(&self, args: &[&str], stdin: Option<&str>) -> Output {
        require_tool("secret-tool", "libsecret-tools");
        let run = || {
            // A dialog nobody answers would hang it: give it 20 s.
            let mut cmd = Command::new("timeout");
            cmd.args(["20", "secret-tool"])
                .args(args)
                .env_clear()
                .env("PATH", std::env::var_os("PATH").unwrap_or_default());
            for (k, v) in self.env() {
                cmd.env(k, v);
            }
            run_with_stdin(cmd, stdin)
        };
        let mut out = run();
        // kwalletd5 (KDE BUG 514194, fixed in KF 6.25) derives another session key than
        // libsecret for one session in about a hundred: the lookup reads nothing, the store is
        // refused. That is between secret-tool and the wallet; crux opens another session when
        // it sees the case. Each try is a new session.
        let lookup = args.first() == Some(&"lookup");
        for _ in 0..4 {
            let missed = !out.status.success() || (lookup && out.stdout.is_empty());
            if self.service != Service::KWallet || !missed {
                break;
            }
            out = run();
        }
        out
    }

    /// Locks the default keyring, as a screen lock or a timeout would.
    pub fn lock(&self) {
        let out = Command::new("dbus-send")
            .arg(format!("--bus={}", self.address))
            .args([
                "--print-reply",
                "--dest=org.freedesktop.secrets",
                "/org/freedesktop/secrets",
                "org.freedesktop.Secret.Service.Lock",
                "array:objpath:/org/freedesktop/secrets/collection/login",
            ])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "lock: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

/// The user's standard session-bus socket, `/run/user/<uid>/bus`, claimed for one test: a
/// stripped environment (no DBUS_SESSION_BUS_ADDRESS, no XDG_RUNTIME_DIR) finds the bus only
/// there. Refuses to touch a live bus that belongs to someone else.
pub struct UserBus {
    _lock: std::fs::File,
    socket: PathBuf,
}

impl UserBus {
    /// Claims the socket and starts a keyring on it.
    pub fn claim() -> (UserBus, Keyring) {
        // SAFETY: getuid has no preconditions.
        let uid = unsafe { libc::getuid() };
        let dir = PathBuf::from(format!("/run/user/{uid}"));
        if !dir.exists() {
            std::fs::create_dir_all(&dir)
                .unwrap_or_else(|e| panic!("cannot create {}: {e}", dir.display()));
            std::fs::set_permissions(&dir, std::os::unix::fs::PermissionsExt::from_mode(0o700))
                .unwrap();
        }
        let lock = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(dir.join(".crux-tests.lock"))
            .unwrap();
        lock.lock().unwrap();
        let socket = dir.join("bus");
        if socket.exists() {
            let live = std::os::unix::net::UnixStream::connect(&socket).is_ok();
            assert!(
                !live,
                "{} is a live session bus; these tests need it free (run them in CI or a clean session)",
                socket.display()
            );
            std::fs::remove_file(&socket).unwrap();
        }
        let keyring = Keyring::start_with(Some(socket.clone()));
        (
            UserBus {
                _lock: lock,
                socket,
            },
            keyring,
        )
    }
}

impl Drop for UserBus {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.socket);
    }
}

impl Drop for Keyring {
    fn drop(&mut self) {
        // A daemon behind a shell (KeePassXC) is stopped by closing the shell's stdin.
        if self.daemon.stdin.take().is_some() {
            let _ = self.daemon.wait();
        }
        let _ = self.daemon.kill();
        let _ = self.dbus.kill();
        let _ = self.daemon.wait();
        let _ = self.dbus.wait();
        for other in &mut self.others {
            let _ = other.kill();
            let _ = other.wait();
        }
    }
}

pub fn wait_for(mut ready: impl FnMut() -> bool, what: &str) {
    let start = Instant::now();
    while !ready() {
        assert!(
            start.elapsed() < Duration::from_secs(15),
            "timed out waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

pub fn run_with_stdin(mut cmd: Command, stdin: Option<&str>) -> Output {
    cmd.stdin(if stdin.is_some() {
        Stdio::piped()
    } else {
        Stdio::null()
    })
    .stdout(Stdio::piped())
    .stderr(Stdio::piped());
    let mut child = cmd.spawn().expect("spawn");
    if let Some(input) = stdin {
        // A command that fails before reading its input (a bad name, say) may exit
        // first: the closed pipe is its business, and the test checks its exit status.
        match child.stdin.take().unwrap().write_all(input.as_bytes()) {
            Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => {}
            other => other.unwrap(),
        }
    }
    child.wait_with_output().unwrap()
}

/// An isolated user: a home, a CRUX_HOME inside it, and optionally a keyring. Records
/// everything crux printed, so leak checks can search it.
pub struct Env {
    pub keyring: Option<Keyring>,
    /// A store shared by the test binary's tests ([`Keyring::shared`]), used like `keyring`.
    pub shared: Option<&'static Keyring>,
    pub user_bus: Option<UserBus>,
    pub dir: TempDir,
    pub backend: Option<&'static str>,
    pub printed: std::cell::RefCell<Vec<u8>>,
}

impl Env {
    /// No keystore daemon reachable; the age file is the automatic choice.
    pub fn headless() -> Env {
        Env {
            dir: tempfile::tempdir().unwrap(),
            keyring: None,
            shared: None,
            user_bus: None,
            backend: None,
            printed: Default::default(),
        }
    }

    /// A private unlocked gnome-keyring; the Secret Service is the automatic choice.
    pub fn desktop() -> Env {
        Env {
            keyring: Some(Keyring::start()),
            ..Env::headless()
        }
    }

    /// The environment for `backend` ("age" or "secret-service"), pinned with CRUX_BACKEND.
    pub fn for_backend(backend: &'static str) -> Env {
        let mut env = match backend {
            "secret-service" => Env::desktop(),
            "age" => Env::headless(),
            other => panic!("unknown backend {other}"),
        };
        env.backend = Some(backend);
        env
    }

    /// A keyring on the user's standard bus socket, found without any bus variable.
    pub fn desktop_on_user_bus() -> Env {
        let (bus, keyring) = UserBus::claim();
        Env {
            keyring: Some(keyring),
            user_bus: Some(bus),
            ..Env::headless()
        }
    }

    pub fn home(&self) -> PathBuf {
        self.dir.path().join("home")
    }

    pub fn crux_home(&self) -> PathBuf {
        self.home().join(".crux")
    }

    pub fn keyring(&self) -> &Keyring {
        self.keyring
            .as_ref()
            .or(self.shared)
            .expect("this Env has a keyring")
    }

    /// The binary's shared store of `service`, found by the automatic backend choice.
    pub fn on(service: Service) -> Env {
        Env {
            shared: Some(Keyring::shared(service)),
            ..Env::headless()
        }
    }

    /// `crux` with a stripped environment, as an MCP host would pass it.
    pub fn cmd(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(CRUX);
        cmd.args(args)
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", self.home())
            .env("CRUX_HOME", self.crux_home())
            // An empty runtime dir: never the machine's own session bus.
            .env("XDG_RUNTIME_DIR", self.dir.path().join("no-runtime"));
        if let Some(k) = self.keyring.as_ref().or(self.shared) {
            for (key, value) in k.env() {
                cmd.env(key, value);
            }
        }
        if let Some(b) = self.backend {
            cmd.env("CRUX_BACKEND", b);
        }
        cmd
    }

    pub fn run(&self, args: &[&str]) -> Run {
        self.run_cmd(self.cmd(args), None)
    }

    pub fn run_stdin(&self, args: &[&str], stdin: &str) -> Run {
        self.run_cmd(self.cmd(args), Some(stdin))
    }

    pub fn run_cmd(&self, cmd: Command, stdin: Option<&str>) -> Run {
        std::fs::create_dir_all(self.home()).unwrap();
        let out = run_with_stdin(cmd, stdin);
        let mut printed = self.printed.borrow_mut();
        printed.extend_from_slice(&out.stdout);
        printed.extend_from_slice(&out.stderr);
        Run(out)
    }

    /// Every file under the test's directory (CRUX_HOME, the keyring's files, …), path and bytes.
    pub fn all_files(&self) -> Vec<(PathBuf, Vec<u8>)> {
        let mut out = Vec::new();
        walk(self.dir.path(), &mut out);
        out
    }
}

fn walk(dir: &Path, out: &mut Vec<(PathBuf, Vec<u8>)>) {
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let path = entry.path();
        let ft = entry.file_type().unwrap();
        if ft.is_dir() {
            walk(&path, out);
        } else if ft.is_file() {
            out.push((path.clone(), std::fs::read(&path).unwrap()));
        }
    }
}

/// The outcome of one crux run, with assertions that print both streams on failure.
pub struct Run(pub Output);

impl Run {
    pub fn stdout(&self) -> String {
        String::from_utf8_lossy(&self.0.stdout).into_owned()
    }
    pub fn stderr(&self) -> String {
        String::from_utf8_lossy(&self.0.stderr).into_owned()
    }
    pub fn code(&self) -> Option<i32> {
        self.0.status.code()
    }
    #[track_caller]
    pub fn success(&self) -> &Run {
        assert!(
            self.0.status.success(),
            "expected success, got {:?}\nstdout: {}\nstderr: {}",
            self.0.status,
            self.stdout(),
            self.stderr()
        );
        self
    }
    /// Fails with `code`, and one `error:` line on stderr that names a fix.
    #[track_caller]
    pub fn fails(&self, code: i32) -> &Run {
        assert_eq!(
            self.code(),
            Some(code),
            "stdout: {}\nstderr: {}",
            self.stdout(),
            self.stderr()
        );
        let errors: Vec<&str> = self
            .0
            .stderr
            .split(|b| *b == b'\n')
            .filter(|l| l.starts_with(b"error:"))
            .map(|l| std::str::from_utf8(l).unwrap())
            .collect();
        assert_eq!(
            errors.len(),
            1,
            "exactly one error line expected:\n{}",
            self.stderr()
        );
        assert!(
            errors[0].contains("; fix: "),
            "the error names a fix: {}",
            errors[0]
        );
        self
    }
    /// Rejected by the argument parser: exit 2 with clap's error and its pointer to --help.
    #[track_caller]
    pub fn usage_error(&self) -> &Run {
        assert_eq!(self.code(), Some(2), "stderr: {}", self.stderr());
        assert!(
            self.stderr().starts_with("error:") && self.stderr().contains("--help"),
            "{}",
            self.stderr()
        );
        self
    }
    #[track_caller]
    pub fn stdout_has(&self, needle: &str) -> &Run {
        assert!(
            self.stdout().contains(needle),
            "stdout lacks {needle:?}:\n{}\nstderr: {}",
            self.stdout(),
            self.stderr()
        );
        self
    }
    #[track_caller]
    pub fn stderr_has(&self, needle: &str) -> &Run {
        assert!(
            self.stderr().contains(needle),
            "stderr lacks {needle:?}:\n{}",
            self.stderr()
        );
        self
    }
}

/// Registers the stdio server `name` (`crux mcp add NAME ARGS…`) and installs it in a project
/// (`proj` in the test's directory): that folder and the `.mcp.json` entry crux generated.
pub fn install_entry(env: &Env, name: &str, add_args: &[&str]) -> (PathBuf, serde_json::Value) {
    let mut args = vec!["mcp", "add", name];
    args.extend_from_slice(add_args);
    env.run(&args).success();
    let project = env.dir.path().join("proj");
    std::fs::create_dir_all(&project).unwrap();
    let mut cmd = env.cmd(&["project", "install", name]);
    cmd.current_dir(&project);
    env.run_cmd(cmd, None).success();
    let mcp: serde_json::Value =
        serde_json::from_slice(&std::fs::read(project.join(".mcp.json")).unwrap()).unwrap();
    (project, mcp["mcpServers"][name].clone())
}

/// The command of a generated stdio entry, as an MCP SDK's stdio client starts it: only HOME,
/// PATH and the entry's `env`.
pub fn entry_command(entry: &serde_json::Value, home: &Path) -> Command {
    let mut cmd = Command::new(entry["command"].as_str().unwrap());
    cmd.args(
        entry["args"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a.as_str().unwrap()),
    )
    .env_clear()
    .env("HOME", home)
    .env("PATH", std::env::var_os("PATH").unwrap_or_default());
    for (k, v) in entry["env"].as_object().unwrap() {
        cmd.env(k, v.as_str().unwrap());
    }
    cmd
}

/// An age-backed home with the remote server `remote` registered at `url`, its bearer token
/// (`token`, read from stdin) stored as `var`.
pub fn bearer_home(url: &str, var: &str, token: &str) -> Env {
    let env = Env::for_backend("age");
    env.run_stdin(
        &[
            "mcp", "add", "remote", "--url", url, "--bearer", var, "--stdin",
        ],
        token,
    )
    .success();
    env
}

/// Decrypts `env`'s age store with the `age` CLI and parses it.
pub fn age_plaintext(env: &Env) -> serde_json::Value {
    require_tool("age", "age");
    let home = env.crux_home();
    let out = Command::new("age")
        .arg("-d")
        .arg("-i")
        .arg(home.join("age-identity.key"))
        .arg(home.join("secrets.age"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "age -d: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// A test OAuth + MCP server (a node script of tests/e2e/oauth), killed on drop.
pub struct Server {
    pub child: Child,
    pub ready: serde_json::Value,
}

impl Server {
    pub fn start(script: &str, args: &[&str]) -> Server {
        Server::start_with_env(script, args, &[])
    }

    /// With extra environment (a secret the server checks goes here, never in argv).
    pub fn start_with_env(script: &str, args: &[&str], envs: &[(&str, &str)]) -> Server {
        setup_kit();
        require_tool("curl", "curl");
        let mut child = Command::new("node")
            .arg(kit().join("oauth").join(script))
            .args(args)
            .envs(envs.iter().copied())
            .current_dir(kit())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let mut line = String::new();
        std::io::BufReader::new(child.stdout.as_mut().unwrap())
            .read_line(&mut line)
            .unwrap();
        let ready: serde_json::Value = serde_json::from_str(&line)
            .unwrap_or_else(|e| panic!("{script} did not start: {e}: {line:?}"));
        Server { child, ready }
    }

    pub fn url(&self, key: &str) -> String {
        self.ready[key].as_str().unwrap().to_string()
    }

    pub fn mcp(&self) -> String {
        self.url("mcp")
    }

    pub fn stats(&self) -> serde_json::Value {
        let out = curl(&["-fsS", &self.url("stats")]);
        serde_json::from_str(&out).unwrap()
    }

    pub fn stat(&self, key: &str) -> u64 {
        self.stats()[key]
            .as_u64()
            .unwrap_or_else(|| panic!("no stat {key}"))
    }

    /// POSTs to an admin endpoint of the SDK server (same origin as its stats).
    pub fn admin(&self, path: &str) {
        let base = self.url("stats").trim_end_matches("/stats").to_string();
        curl(&["-fsS", "-X", "POST", &format!("{base}{path}")]);
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn curl(args: &[&str]) -> String {
    let out = Command::new("curl").args(args).output().unwrap();
    assert!(
        out.status.success(),
        "curl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// HTTP status of a request, and its body.
pub fn curl_status(args: &[&str]) -> (u16, String) {
    let mut all = vec!["-sS", "-o", "-", "-w", "\n%{http_code}"];
    all.extend_from_slice(args);
    let out = Command::new("curl").args(&all).output().unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    let (body, code) = text.rsplit_once('\n').unwrap();
    (code.trim().parse().unwrap(), body.to_string())
}

/// The bridge as a raw stdio process, for protocol details.
pub struct BridgeProcess {
    pub child: Child,
    pub stdin: Option<std::process::ChildStdin>,
    pub stdout: std::io::BufReader<std::process::ChildStdout>,
    next: u64,
}

impl BridgeProcess {
    pub fn start(env: &Env, name: &str, url: &str) -> BridgeProcess {
        let mut cmd = env.cmd(&["bridge"]);
        cmd.env("CRUX_MCP_NAME", name)
            .env("CRUX_BRIDGE_URL", url)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = cmd.spawn().unwrap();
        let stdin = child.stdin.take();
        let stdout = std::io::BufReader::new(child.stdout.take().unwrap());
        BridgeProcess {
            child,
            stdin,
            stdout,
            next: 1,
        }
    }

    pub fn send(&mut self, message: &serde_json::Value) {
        let stdin = self.stdin.as_mut().unwrap();
        writeln!(stdin, "{message}").unwrap();
        stdin.flush().unwrap();
    }

    pub fn request(&mut self, method: &str, params: serde_json::Value) -> serde_json::Value {
        let id = self.next;
        self.next += 1;
        self.send(
            &serde_json::json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params}),
        );
        loop {
            let mut line = String::new();
            assert!(
                self.stdout.read_line(&mut line).unwrap() > 0,
                "the bridge closed stdout"
            );
            let msg: serde_json::Value = serde_json::from_str(&line).unwrap();
            if msg["id"] == serde_json::json!(id) {
                return msg;
            }
        }
    }

    pub fn initialize(&mut self) -> serde_json::Value {
        let init = self.request(
            "initialize",
            serde_json::json!({"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}}),
        );
        // A refused initialize ends the bridge (exit 78): there is no session to confirm.
        if init.get("error").is_none() {
            self.send(
                &serde_json::json!({"jsonrpc": "2.0", "method": "notifications/initialized"}),
            );
        }
        init
    }

    /// Closes stdin and waits: the bridge's exit status and stderr.
    pub fn finish(mut self) -> (std::process::ExitStatus, String) {
        drop(self.stdin.take());
        let out = self.child.wait_with_output().unwrap();
        (
            out.status,
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }
}

/// Runs crux under a terminal (`script`) in `dir`, typing each line once the prompt is up;
/// what the terminal showed.
pub fn on_terminal(env: &Env, dir: &Path, args: &str, lines: &[&str]) -> String {
    require_tool("script", "bsdutils");
    let mut cmd = Command::new("script");
    cmd.args(["-qefc", &format!("{CRUX} {args}"), "/dev/null"]);
    for (k, v) in env.cmd(&[]).get_envs() {
        match v {
            Some(v) => cmd.env(k, v),
            None => cmd.env_remove(k),
        };
    }
    std::fs::create_dir_all(env.home()).unwrap();
    let mut child = cmd
        .current_dir(dir)
        .env("TERM", "dumb")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    for line in lines {
        std::thread::sleep(Duration::from_millis(700));
        stdin.write_all(format!("{line}\n").as_bytes()).unwrap();
    }
    let out = child.wait_with_output().unwrap();
    let screen = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{screen}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    screen
}
