//! Ctrl-C and SLURM's time limit: the first SIGINT or SIGTERM asks `descent run` to stop
//! cleanly (no new run starts, running runs stop at their next epoch boundary and are
//! journaled as `interrupted`, the tables and report of what finished are written, and the
//! exit status is 128 + the signal: 130 for SIGINT, 143 for SIGTERM); a second one ends the
//! process at once with that status.
//!
//! The handlers only set atomic flags (and, on the second signal, call `_exit`), which is
//! what a signal handler may safely do; everything else reads the flags between epochs.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use signal_hook::consts::{SIGINT, SIGTERM};

/// The first signal received (0: none).
static SIGNAL: AtomicUsize = AtomicUsize::new(0);
/// Set once a signal has arrived: the next one exits at once.
static ARMED: AtomicBool = AtomicBool::new(false);

/// Installs the handlers of SIGINT and SIGTERM for this process.
///
/// # Errors
/// When the operating system refuses a handler.
pub fn install() -> std::io::Result<()> {
    for signal in [SIGINT, SIGTERM] {
        // The order matters: on the first signal ARMED is still false, so the shutdown does
        // nothing and the flags are set; on the second it exits.
        signal_hook::flag::register_conditional_shutdown(signal, exit_status(signal), &ARMED)?;
        register_first(signal)?;
        signal_hook::flag::register(signal, &ARMED)?;
    }
    announce();
    Ok(())
}

/// Records `signal` as the first unless one already is.
fn register_first(signal: i32) -> std::io::Result<()> {
    let value = usize::try_from(signal).unwrap_or(usize::MAX);
    let action = move || {
        let _ = SIGNAL.compare_exchange(0, value, Ordering::SeqCst, Ordering::SeqCst);
    };
    // SAFETY: the action only performs an atomic compare-and-swap, which is async-signal-safe.
    unsafe { signal_hook::low_level::register(signal, action) }.map(|_| ())
}

/// Says on standard error, once, what the first signal does (from a thread of its own, as a
/// signal handler must not print).
#[cfg(unix)]
fn announce() {
    let Ok(mut signals) = signal_hook::iterator::Signals::new([SIGINT, SIGTERM]) else {
        return;
    };
    std::thread::spawn(move || {
        if let Some(signal) = signals.forever().next() {
            eprintln!(
                "descent: {} received: starting no new run; running runs stop at their next \
                 epoch boundary (send it again to stop at once)",
                name(signal)
            );
        }
    });
}

#[cfg(not(unix))]
fn announce() {}

/// The first SIGINT or SIGTERM received, if any.
pub fn requested() -> Option<i32> {
    match SIGNAL.load(Ordering::SeqCst) {
        0 => None,
        signal => i32::try_from(signal).ok(),
    }
}

/// The exit status of a process stopped by `signal`, as shells report it: 128 + the signal.
pub fn exit_status(signal: i32) -> i32 {
    128 + signal
}

/// `SIGINT`, `SIGTERM`, or the number.
pub fn name(signal: i32) -> String {
    match signal {
        SIGINT => "SIGINT".into(),
        SIGTERM => "SIGTERM".into(),
        other => format!("signal {other}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_are_the_shells() {
        assert_eq!(exit_status(SIGINT), 130);
        assert_eq!(exit_status(SIGTERM), 143);
        assert_eq!(name(SIGTERM), "SIGTERM");
    }
}
