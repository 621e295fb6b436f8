//! SIGTERM during a relay pulse releases the relay at once. Its own test
//! binary: the signal sets the process-wide shutdown flag.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use embedded_hal::digital::{ErrorType, OutputPin};
use siamedge::actuate::{install_shutdown_handlers, Polarity, Relay, RelayError};

/// A pin recording `(time, high)` for every write, shared with the test.
#[derive(Clone, Default)]
struct SharedPin(Arc<Mutex<Vec<(Instant, bool)>>>);

impl ErrorType for SharedPin {
    type Error = std::convert::Infallible;
}

impl OutputPin for SharedPin {
    fn set_low(&mut self) -> Result<(), Self::Error> {
        self.0.lock().unwrap().push((Instant::now(), false));
        Ok(())
    }
    fn set_high(&mut self) -> Result<(), Self::Error> {
        self.0.lock().unwrap().push((Instant::now(), true));
        Ok(())
    }
}

#[test]
fn sigterm_cuts_a_pulse_short_and_leaves_the_relay_off() {
    install_shutdown_handlers();
    let pin = SharedPin::default();
    let mut relay = Relay::new(pin.clone(), Polarity::ActiveHigh).unwrap();
    let killer = std::thread::spawn(|| {
        std::thread::sleep(Duration::from_millis(100));
        // SAFETY: sends SIGTERM to this process; the handler only sets flags.
        unsafe { libc::kill(libc::getpid(), libc::SIGTERM) };
    });
    let start = Instant::now();
    let result = relay.pulse(Duration::from_secs(10));
    killer.join().unwrap();
    assert!(matches!(result, Err(RelayError::Interrupted)), "{result:?}");
    assert!(
        start.elapsed() < Duration::from_secs(5),
        "{:?}",
        start.elapsed()
    );
    assert!(!relay.is_energised());
    let levels: Vec<bool> = pin.0.lock().unwrap().iter().map(|w| w.1).collect();
    assert_eq!(levels, [false, true, false]);
    let e = relay.pulse(Duration::from_millis(10)).unwrap_err();
    assert!(
        matches!(e, RelayError::Interrupted),
        "no new pulse after SIGTERM"
    );
    assert_eq!(
        pin.0.lock().unwrap().len(),
        3,
        "the relay was not energised again"
    );
}
