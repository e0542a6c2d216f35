//! The conformance suite every backend passes: the Secret Service against a real gnome-keyring,
//! KeePassXC and kwalletd5, each on a private D-Bus session, and the age file. Each case opens fresh store objects, so what
//! it checks is what the keystore persisted, not what an object remembered.

mod common;

use common::{random_value, Keyring, Service};
use crux::home::CruxHome;
use crux::names::{ServerName, VarName};
use crux::secret::Secret;
use crux::store::age_file::AgeFileStore;
use crux::store::secret_service::SecretServiceStore;
use crux::store::SecretStore;
use std::collections::BTreeMap;

struct Fixture {
    open: Box<dyn Fn() -> Box<dyn SecretStore>>,
    _keep: Box<dyn std::any::Any>,
}

fn age() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let home = CruxHome::at(dir.path().join(".crux"));
    Fixture {
        open: Box::new(move || Box::new(AgeFileStore::new(&home))),
        _keep: Box::new(dir),
    }
}

fn secret_service() -> Fixture {
    let keyring = Keyring::start();
    let address = keyring.address.clone();
    Fixture {
        open: Box::new(move || {
            Box::new(
                SecretServiceStore::connect_to(&address).expect("connect to the private keyring"),
            )
        }),
        _keep: Box::new(keyring),
    }
}

/// One KeePassXC or kwalletd5 for the binary: they take seconds to start, and the cases'
/// names do not collide. Their cases run one at a time: KeePassXC 2.7.4 crashes when writes
/// race its save after each change (the harness turns that off), and kwalletd5 5.103
/// now and then sends a value that does not decrypt with the session of the client reading it
/// while other clients' sessions are open.
fn shared(service: Service) -> Fixture {
    static KEEPASSXC: std::sync::Mutex<()> = std::sync::Mutex::new(());
    static KWALLET: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let turn: Box<dyn std::any::Any> = match service {
        Service::KeePassXC => Box::new(KEEPASSXC.lock().unwrap_or_else(|e| e.into_inner())),
        Service::KWallet => Box::new(KWALLET.lock().unwrap_or_else(|e| e.into_inner())),
        Service::GnomeKeyring => Box::new(()),
    };
    let address = Keyring::shared(service).address.clone();
    Fixture {
        open: Box::new(move || {
            Box::new(
                SecretServiceStore::connect_to(&address)
                    .unwrap_or_else(|e| panic!("connect to {}: {}", service.name(), e.render())),
            )
        }),
        _keep: turn,
    }
}

fn keepassxc() -> Fixture {
    shared(Service::KeePassXC)
}

fn kwallet() -> Fixture {
    shared(Service::KWallet)
}

fn server(name: &str) -> ServerName {
    ServerName::parse(name).unwrap()
}

fn var(name: &str) -> VarName {
    VarName::parse(name).unwrap()
}

fn round_trip(f: Fixture) {
    let value = Secret::new(random_value("rt"));
    (f.open)()
        .set(&server("github"), &var("GITHUB_TOKEN"), &value)
        .unwrap();
    let got = (f.open)()
        .get(&server("github"), &var("GITHUB_TOKEN"))
        .unwrap();
    assert_eq!(got.as_ref().map(Secret::expose), Some(value.expose()));
}

fn missing_entry(f: Fixture) {
    let store = (f.open)();
    assert!(store
        .get(&server("nothing"), &var("HERE"))
        .unwrap()
        .is_none());
    store
        .set(&server("partial"), &var("ONE"), &Secret::new("1"))
        .unwrap();
    let got = (f.open)()
        .get_many(&server("partial"), &[var("ONE"), var("TWO")])
        .unwrap();
    assert_eq!(got.keys().collect::<Vec<_>>(), [&var("ONE")]);
}

fn overwrite(f: Fixture) {
    let (first, second) = (random_value("first"), random_value("second"));
    (f.open)()
        .set(&server("s"), &var("V"), &Secret::new(first))
        .unwrap();
    (f.open)()
        .set(&server("s"), &var("V"), &Secret::new(second.as_str()))
        .unwrap();
    let got = (f.open)().get(&server("s"), &var("V")).unwrap().unwrap();
    assert_eq!(got.expose(), second);
}

fn delete(f: Fixture) {
    let store = (f.open)();
    store
        .set(&server("s"), &var("GONE"), &Secret::new("x"))
        .unwrap();
    store
        .set(&server("s"), &var("KEPT"), &Secret::new("y"))
        .unwrap();
    assert!((f.open)().delete(&server("s"), &var("GONE")).unwrap());
    assert!(
        !(f.open)().delete(&server("s"), &var("GONE")).unwrap(),
        "second delete finds nothing"
    );
    assert!(!(f.open)().delete(&server("never"), &var("WAS")).unwrap());
    let store = (f.open)();
    assert!(store.get(&server("s"), &var("GONE")).unwrap().is_none());
    assert_eq!(
        store
            .get(&server("s"), &var("KEPT"))
            .unwrap()
            .unwrap()
            .expose(),
        "y"
    );
}

fn batched_get_of_ten(f: Fixture) {
    let values: Vec<(VarName, Secret)> = (0..10)
        .map(|i| {
            (
                var(&format!("VAR_{i}")),
                Secret::new(random_value(&format!("v{i}"))),
            )
        })
        .collect();
    (f.open)().set_many(&server("ten"), &values).unwrap();
    let names: Vec<VarName> = values.iter().map(|(v, _)| v.clone()).collect();
    let got = (f.open)().get_many(&server("ten"), &names).unwrap();
    let want: BTreeMap<VarName, Secret> = values.into_iter().collect();
    assert_eq!(got, want);
}

fn servers_are_isolated(f: Fixture) {
    let store = (f.open)();
    store
        .set(&server("a"), &var("TOKEN"), &Secret::new("for-a"))
        .unwrap();
    store
        .set(&server("b"), &var("TOKEN"), &Secret::new("for-b"))
        .unwrap();
    // A name that is a prefix of another must not match it.
    store
        .set(&server("a.b"), &var("TOKEN"), &Secret::new("for-a.b"))
        .unwrap();
    assert!(store.delete(&server("a"), &var("TOKEN")).unwrap());
    let store = (f.open)();
    assert!(store.get(&server("a"), &var("TOKEN")).unwrap().is_none());
    assert_eq!(
        store
            .get(&server("b"), &var("TOKEN"))
            .unwrap()
            .unwrap()
            .expose(),
        "for-b"
    );
    assert_eq!(
        store
            .get(&server("a.b"), &var("TOKEN"))
            .unwrap()
            .unwrap()
            .expose(),
        "for-a.b"
    );
}

fn awkward_values(f: Fixture) {
    let values = [
        "ünïcödé ✓ 秘密",
        "quotes \" ' ` and \\ backslashes",
        "line one\nline two\r\n",
        "  leading and trailing spaces  ",
        "$(echo not-run) ; rm -rf / && `x`",
        "={}[]:,",
    ];
    let long = "x".repeat(16 * 1024);
    let store = (f.open)();
    for (i, v) in values.iter().chain([&long.as_str()]).enumerate() {
        store
            .set(&server("odd"), &var(&format!("V{i}")), &Secret::new(*v))
            .unwrap();
    }
    let store = (f.open)();
    for (i, v) in values.iter().chain([&long.as_str()]).enumerate() {
        assert_eq!(
            store
                .get(&server("odd"), &var(&format!("V{i}")))
                .unwrap()
                .unwrap()
                .expose(),
            *v
        );
    }
}

fn names_at_the_limits(f: Fixture) {
    let long_server = format!("a{}", "-._9".repeat(15)) + "xyz";
    assert_eq!(long_server.len(), 64);
    let long_var = format!("_{}", "A9_".repeat(42)) + "B";
    assert_eq!(long_var.len(), 128);
    (f.open)()
        .set(&server(&long_server), &var(&long_var), &Secret::new("edge"))
        .unwrap();
    let got = (f.open)()
        .get(&server(&long_server), &var(&long_var))
        .unwrap()
        .unwrap();
    assert_eq!(got.expose(), "edge");
}

fn set_many_replaces_only_what_it_names(f: Fixture) {
    let store = (f.open)();
    store
        .set_many(
            &server("m"),
            &[(var("A"), Secret::new("a1")), (var("B"), Secret::new("b1"))],
        )
        .unwrap();
    (f.open)()
        .set_many(
            &server("m"),
            &[(var("B"), Secret::new("b2")), (var("C"), Secret::new("c2"))],
        )
        .unwrap();
    let got = (f.open)()
        .get_many(&server("m"), &[var("A"), var("B"), var("C")])
        .unwrap();
    let got: Vec<(&str, &str)> = got.iter().map(|(k, v)| (k.as_str(), v.expose())).collect();
    assert_eq!(got, [("A", "a1"), ("B", "b2"), ("C", "c2")]);
}

macro_rules! conformance {
    ($($case:ident),* $(,)?) => {
        mod age_file {
            $( #[test] fn $case() { super::$case(super::age()) } )*
        }
        mod secret_service {
            $( #[test] fn $case() { super::$case(super::secret_service()) } )*
        }
        mod keepassxc {
            $( #[test] fn $case() { super::$case(super::keepassxc()) } )*
        }
        mod kwallet {
            $( #[test] fn $case() { super::$case(super::kwallet()) } )*
        }
    };
}

conformance!(
    round_trip,
    missing_entry,
    overwrite,
    delete,
    batched_get_of_ten,
    servers_are_isolated,
    awkward_values,
    names_at_the_limits,
    set_many_replaces_only_what_it_names,
);
