//! Benchmark of the secrets core: what a launcher pays at each start to fetch a server's
//! credentials, per backend, next to the per-variable CLI baseline
//! (`../shared/reference/baseline-launcher.sh`: one `secret-tool lookup` process per variable).
//!
//! Not a timed test: it reports numbers and asserts only that every value read back is the one
//! stored. Run it with `scripts/bench.sh`, which starts a private D-Bus session bus with a
//! throwaway unlocked gnome-keyring. The Secret Service cases write about 1,000 items, so they
//! run only when `CRUX_BENCH_PRIVATE_BUS=1` (set by the script) says the bus in
//! `DBUS_SESSION_BUS_ADDRESS` is such a private one, never against your own keyring.
//!
//! Every iteration builds a fresh store object, as a launcher process does: for the Secret
//! Service that is connect + encrypted session + fetch, for the age file read + decrypt.
//!
//! Environment: `CRUX_BENCH_ITERS` (default 200) sets the iterations of the in-process cases;
//! the CLI baselines and the slow cases use fewer.

use crux::home::CruxHome;
use crux::names::{ServerName, VarName};
use crux::secret::Secret;
use crux::store::age_file::AgeFileStore;
use crux::store::SecretStore;
use std::collections::BTreeMap;
use std::io::Read;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

type BoxResult<T> = std::result::Result<T, Box<dyn std::error::Error>>;

/// Length of a generated value: about what an API token is.
const VALUE_LEN: usize = 40;
/// The big stores: `BIG_SERVERS` servers with `VARS_PER_SERVER` variables each.
const BIG_SERVERS: usize = 100;
const VARS_PER_SERVER: usize = 10;
const WARMUP: usize = 5;

/// Random values, generated at run time from the OS's random source.
struct Random(std::fs::File);

impl Random {
    fn open() -> BoxResult<Random> {
        Ok(Random(std::fs::File::open("/dev/urandom")?))
    }

    fn value(&mut self) -> Secret {
        const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
        let mut bytes = [0u8; VALUE_LEN];
        self.0
            .read_exact(&mut bytes)
            .expect("/dev/urandom is readable");
        let text: String = bytes
            .iter()
            .map(|b| ALPHABET[usize::from(*b) % ALPHABET.len()] as char)
            .collect();
        Secret::new(text)
    }
}

struct Stats {
    n: usize,
    median: Duration,
    p90: Duration,
    min: Duration,
}

impl Stats {
    fn from(mut samples: Vec<Duration>) -> Stats {
        assert!(!samples.is_empty());
        samples.sort();
        let n = samples.len();
        let median = if n % 2 == 1 {
            samples[n / 2]
        } else {
            (samples[n / 2 - 1] + samples[n / 2]) / 2
        };
        let p90 = samples[(n * 9).div_ceil(10) - 1];
        Stats {
            n,
            median,
            p90,
            min: samples[0],
        }
    }
}

/// Runs `once` `WARMUP` times untimed, then `iters` times. `once` returns the time it measured,
/// so setup and teardown of an iteration stay out of the numbers.
fn measure(iters: usize, mut once: impl FnMut() -> BoxResult<Duration>) -> BoxResult<Stats> {
    for _ in 0..WARMUP {
        once()?;
    }
    let mut samples = Vec::with_capacity(iters);
    for _ in 0..iters {
        samples.push(once()?);
    }
    Ok(Stats::from(samples))
}

struct Row {
    case: String,
    crux: Stats,
    baseline: Option<(String, Stats)>,
}

fn ms(d: Duration) -> String {
    format!("{:.3}", d.as_secs_f64() * 1e3)
}

fn print_table(rows: &[Row]) {
    println!();
    println!(
        "| case | crux median ms | crux p90 ms | crux min ms | n | baseline | baseline median ms | baseline p90 ms | n | baseline / crux |"
    );
    println!("|---|---:|---:|---:|---:|---|---:|---:|---:|---:|");
    for row in rows {
        let crux = format!(
            "{} | {} | {} | {}",
            ms(row.crux.median),
            ms(row.crux.p90),
            ms(row.crux.min),
            row.crux.n
        );
        let baseline = match &row.baseline {
            Some((label, b)) => format!(
                "{label} | {} | {} | {} | {:.1}x",
                ms(b.median),
                ms(b.p90),
                b.n,
                b.median.as_secs_f64() / row.crux.median.as_secs_f64()
            ),
            None => "– | – | – | – | –".to_owned(),
        };
        println!("| {} | {crux} | {baseline} |", row.case);
    }
    println!();
}

fn server(name: &str) -> ServerName {
    ServerName::parse(name).expect("valid server name")
}

fn var(i: usize) -> VarName {
    VarName::parse(&format!("BENCH_VAR_{i:02}")).expect("valid variable name")
}

fn big_server(i: usize) -> ServerName {
    server(&format!("bench-srv-{i:03}"))
}

/// What one server's variables should read back as.
type Expected = BTreeMap<VarName, Secret>;

/// Fills `store` with `servers` × `VARS_PER_SERVER` random values, one batch per server.
fn seed(
    store: &dyn SecretStore,
    servers: &[ServerName],
    random: &mut Random,
) -> BoxResult<BTreeMap<ServerName, Expected>> {
    let mut all = BTreeMap::new();
    for mcp in servers {
        let values: Vec<(VarName, Secret)> = (0..VARS_PER_SERVER)
            .map(|i| (var(i), random.value()))
            .collect();
        store.set_many(mcp, &values)?;
        all.insert(mcp.clone(), values.into_iter().collect::<Expected>());
    }
    Ok(all)
}

/// Times one `get_many` of `vars` on a fresh store from `open`, checking what came back.
fn timed_get<S: SecretStore>(
    open: impl Fn() -> BoxResult<S>,
    mcp: &ServerName,
    vars: &[VarName],
    expected: &Expected,
) -> BoxResult<Duration> {
    let start = Instant::now();
    let store = open()?;
    let got = store.get_many(mcp, vars)?;
    let elapsed = start.elapsed();
    drop(store);
    if got.len() != vars.len() || vars.iter().any(|v| got.get(v) != expected.get(v)) {
        return Err(format!("{mcp}: read back other values than were stored").into());
    }
    Ok(elapsed)
}

/// Times a CLI process and checks it succeeded; returns its stdout.
fn run_cli(cmd: &mut Command) -> BoxResult<(Duration, Vec<u8>)> {
    cmd.stdin(Stdio::null()).stderr(Stdio::piped());
    let start = Instant::now();
    let out = cmd.output()?;
    let elapsed = start.elapsed();
    if !out.status.success() {
        return Err(format!(
            "{cmd:?} failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        )
        .into());
    }
    Ok((elapsed, out.stdout))
}

/// `age -d -i <identity> secrets.age`, the whole file decrypted by the age CLI.
fn age_cli(home: &CruxHome) -> BoxResult<Duration> {
    let (elapsed, plain) = run_cli(
        Command::new("age")
            .arg("-d")
            .arg("-i")
            .arg(home.age_identity_path())
            .arg(home.age_store_path()),
    )?;
    if plain.is_empty() {
        return Err("age -d printed nothing".into());
    }
    Ok(elapsed)
}

fn have_tool(tool: &str) -> bool {
    std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).any(|d| d.join(tool).is_file()))
        .unwrap_or(false)
}

/// The age file cases.
fn bench_age(dir: &Path, iters: usize, random: &mut Random, rows: &mut Vec<Row>) -> BoxResult<()> {
    let age_cli_ok = have_tool("age");
    if !age_cli_ok {
        eprintln!("note: the age CLI is not installed; the age rows have no baseline");
    }
    let all_vars: Vec<VarName> = (0..VARS_PER_SERVER).map(var).collect();

    // One server with 10 variables, nothing else stored.
    let home = CruxHome::at(dir.join("age-small"));
    let small = server("bench-small");
    let expected = seed(
        &AgeFileStore::new(&home),
        std::slice::from_ref(&small),
        random,
    )?
    .remove(&small)
    .expect("seeded");
    let open = || Ok(AgeFileStore::new(&home));
    for (label, vars) in [("1 var", &all_vars[..1]), ("10 vars", &all_vars[..])] {
        eprintln!("age: get {label} (10 secrets stored)");
        let crux = measure(iters, || timed_get(open, &small, vars, &expected))?;
        let baseline = if age_cli_ok {
            Some((
                "`age -d` CLI, whole file".to_owned(),
                measure(iters / 2, || age_cli(&home))?,
            ))
        } else {
            None
        };
        rows.push(Row {
            case: format!("age: get {label}, 10 secrets stored"),
            crux,
            baseline,
        });
    }

    // 1,000 secrets: 100 servers × 10 variables.
    let home = CruxHome::at(dir.join("age-big"));
    let servers: Vec<ServerName> = (0..BIG_SERVERS).map(big_server).collect();
    eprintln!("age: storing {} secrets", BIG_SERVERS * VARS_PER_SERVER);
    let all = seed(&AgeFileStore::new(&home), &servers, random)?;
    let size = std::fs::metadata(home.age_store_path())?.len();
    eprintln!("age: secrets.age holds 1,000 secrets in {size} bytes");
    let target = big_server(BIG_SERVERS / 2);
    let open = || Ok(AgeFileStore::new(&home));
    for (label, vars) in [("1 var", &all_vars[..1]), ("10 vars", &all_vars[..])] {
        eprintln!("age: get {label} (1,000 secrets stored)");
        let crux = measure(iters, || timed_get(open, &target, vars, &all[&target]))?;
        let baseline = if age_cli_ok {
            Some((
                "`age -d` CLI, whole file".to_owned(),
                measure(iters / 2, || age_cli(&home))?,
            ))
        } else {
            None
        };
        rows.push(Row {
            case: format!("age: get {label}, 1,000 secrets stored"),
            crux,
            baseline,
        });
    }

    // One set (an existing variable gets a new value): lock, read, decrypt, change,
    // re-encrypt, write + fsync + rename. New values are made before the clock starts.
    eprintln!("age: set 1 var (1,000 secrets stored)");
    let var0 = var(0);
    let mut last = None;
    let crux = measure(iters, || {
        let value = random.value();
        let start = Instant::now();
        let store = AgeFileStore::new(&home);
        store.set(&target, &var0, &value)?;
        let elapsed = start.elapsed();
        last = Some(value);
        Ok(elapsed)
    })?;
    let last = last.expect("at least one set ran");
    let check = AgeFileStore::new(&home).get(&target, &var0)?;
    if check.as_ref() != Some(&last) {
        return Err("age: the last value set does not read back".into());
    }
    rows.push(Row {
        case: "age: set 1 var, 1,000 secrets stored".to_owned(),
        crux,
        baseline: None,
    });
    Ok(())
}

#[cfg(target_os = "linux")]
mod secret_service {
    use super::*;
    use crux::store::secret_service::SecretServiceStore;

    /// `secret-tool lookup service crux.<mcp> username <VAR>` once per variable, sequentially,
    /// as `baseline-launcher.sh` does.
    fn secret_tool(mcp: &ServerName, vars: &[VarName], expected: &Expected) -> BoxResult<Duration> {
        let mut total = Duration::ZERO;
        for v in vars {
            let (elapsed, out) = run_cli(Command::new("secret-tool").args([
                "lookup",
                "service",
                &mcp.service(),
                "username",
                v.as_str(),
            ]))?;
            total += elapsed;
            let value = String::from_utf8(out)?;
            if Some(value.trim_end_matches('\n')) != expected.get(v).map(Secret::expose) {
                return Err(format!("secret-tool read another value of {mcp} {v}").into());
            }
        }
        Ok(total)
    }

    fn cases(
        address: &str,
        label: &str,
        mcp: &ServerName,
        expected: &Expected,
        iters: usize,
        rows: &mut Vec<Row>,
    ) -> BoxResult<()> {
        let all_vars: Vec<VarName> = (0..VARS_PER_SERVER).map(var).collect();
        let open = || Ok(SecretServiceStore::connect_to(address)?);
        for (what, vars, cli_iters) in [
            ("1 var", &all_vars[..1], iters / 2),
            ("10 vars", &all_vars[..], iters / 4),
        ] {
            eprintln!("secret-service: get {what} ({label})");
            let crux = measure(iters, || timed_get(open, mcp, vars, expected))?;
            let baseline = measure(cli_iters.max(10), || secret_tool(mcp, vars, expected))?;
            rows.push(Row {
                case: format!("secret-service: get {what}, {label}"),
                crux,
                baseline: Some((format!("{} × `secret-tool lookup`", vars.len()), baseline)),
            });
        }
        Ok(())
    }

    pub fn bench(iters: usize, random: &mut Random, rows: &mut Vec<Row>) -> BoxResult<()> {
        let Some(address) = std::env::var("DBUS_SESSION_BUS_ADDRESS")
            .ok()
            .filter(|a| !a.is_empty())
        else {
            eprintln!("note: DBUS_SESSION_BUS_ADDRESS is unset: no secret-service cases");
            return Ok(());
        };
        if std::env::var("CRUX_BENCH_PRIVATE_BUS").as_deref() != Ok("1") {
            eprintln!(
                "note: skipping the secret-service cases: they write ~1,000 items, so they run only on a private keyring (use scripts/bench.sh)"
            );
            return Ok(());
        }
        if !have_tool("secret-tool") {
            return Err("secret-tool is not installed: apt-get install libsecret-tools".into());
        }
        // The fixed part of every fetch: connect, authenticate, open the encrypted session.
        eprintln!("secret-service: connect + open session only");
        let crux = measure(iters, || {
            let start = Instant::now();
            let store = SecretServiceStore::connect_to(&address)?;
            let elapsed = start.elapsed();
            drop(store);
            Ok(elapsed)
        })?;
        rows.push(Row {
            case: "secret-service: connect + open session only (no fetch)".to_owned(),
            crux,
            baseline: None,
        });

        let seeder = SecretServiceStore::connect_to(&address)?;

        // One server with 10 variables, nothing else stored.
        let small = server("bench-small");
        let expected = seed(&seeder, std::slice::from_ref(&small), random)?
            .remove(&small)
            .expect("seeded");
        cases(
            &address,
            "10 secrets stored",
            &small,
            &expected,
            iters,
            rows,
        )?;

        // 1,000 secrets: 99 more servers × 10 variables.
        eprintln!(
            "secret-service: storing {} more secrets",
            (BIG_SERVERS - 1) * VARS_PER_SERVER
        );
        let start = Instant::now();
        let servers: Vec<ServerName> = (1..BIG_SERVERS).map(big_server).collect();
        let all = seed(&seeder, &servers, random)?;
        eprintln!(
            "secret-service: stored them in {:.1} s",
            start.elapsed().as_secs_f64()
        );
        drop(seeder);
        let target = big_server(BIG_SERVERS / 2);
        cases(
            &address,
            "1,000 secrets stored",
            &target,
            &all[&target],
            iters,
            rows,
        )?;
        Ok(())
    }
}

fn main() -> BoxResult<()> {
    let iters: usize = match std::env::var("CRUX_BENCH_ITERS") {
        Ok(n) => n.parse().map_err(|_| "CRUX_BENCH_ITERS must be a number")?,
        Err(_) => 200,
    };
    if iters < 20 {
        return Err("CRUX_BENCH_ITERS must be at least 20".into());
    }
    let dir = tempfile::tempdir()?;
    let mut random = Random::open()?;
    let mut rows = Vec::new();

    #[cfg(target_os = "linux")]
    secret_service::bench(iters, &mut random, &mut rows)?;
    bench_age(dir.path(), iters, &mut random, &mut rows)?;

    println!(
        "crux store benchmark: fresh store per iteration, {WARMUP} warm-up runs, values of {VALUE_LEN} random characters; crux n = {iters}"
    );
    print_table(&rows);
    Ok(())
}
