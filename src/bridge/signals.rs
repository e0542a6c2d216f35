//! The signals hosts stop a server with (Claude Code sends SIGINT; others SIGTERM, or SIGHUP
//! when their terminal goes): the bridge ends its session at the server, as it does when
//! stdin closes, then exits with 128 + the signal's number. A dedicated thread takes them
//! with `sigwait`, so nothing runs in a signal handler.

use super::Bridge;
use std::sync::{mpsc, Arc, OnceLock};
use std::time::Duration;

/// How long ending the session may hold up the exit (the DELETE has its own, shorter bound).
const END_LIMIT: Duration = Duration::from_secs(3);

/// The thread that waits for the stop signals, and the bridge it ends once there is one.
pub(super) struct Watch {
    bridge: Arc<OnceLock<Arc<Bridge>>>,
}

fn stop_signals() -> libc::sigset_t {
    // SAFETY: sigemptyset initializes the set; sigaddset adds valid signal numbers to it.
    unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        for sig in [libc::SIGINT, libc::SIGTERM, libc::SIGHUP] {
            libc::sigaddset(&mut set, sig);
        }
        set
    }
}

impl Watch {
    /// Blocks the stop signals in this thread, and so in every thread it starts from now on
    /// (call it before any other thread exists), and starts the thread that takes them.
    pub(super) fn start() -> Watch {
        let set = stop_signals();
        // SAFETY: `set` is an initialized signal set; the old mask is not wanted.
        unsafe {
            libc::pthread_sigmask(libc::SIG_BLOCK, &set, std::ptr::null_mut());
        }
        let bridge: Arc<OnceLock<Arc<Bridge>>> = Arc::default();
        let serving = Arc::clone(&bridge);
        std::thread::spawn(move || loop {
            let mut sig = 0;
            // SAFETY: `set` and `sig` are valid for the call.
            if unsafe { libc::sigwait(&set, &mut sig) } == 0 {
                stop(serving.get().cloned(), sig);
            }
        });
        Watch { bridge }
    }

    /// From now on a stop signal ends this bridge's session first.
    pub(super) fn serve(&self, bridge: &Arc<Bridge>) {
        let _ = self.bridge.set(Arc::clone(bridge));
    }
}

fn stop(bridge: Option<Arc<Bridge>>, sig: i32) -> ! {
    if let Some(bridge) = bridge {
        let (done, ended) = mpsc::channel();
        std::thread::spawn(move || {
            bridge.end();
            let _ = done.send(());
        });
        let _ = ended.recv_timeout(END_LIMIT);
    }
    // `_exit`: the main thread may be exiting too; every answer was flushed when written.
    // SAFETY: _exit has no preconditions.
    unsafe { libc::_exit(128 + sig) }
}
