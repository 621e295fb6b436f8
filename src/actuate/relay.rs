//! A door relay on one output pin: off at start, pulsed for a duration, and
//! off again on every way out (error, drop, panic, SIGTERM).

use std::time::Duration;

use embedded_hal::digital::OutputPin;

use super::shutdown_requested;
use super::sleep_unless_shutdown;

/// Which pin level energises the relay coil.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Polarity {
    /// High energises (most relay boards with a transistor driver).
    ActiveHigh,
    /// Low energises (opto-isolated boards marked "low level trigger").
    ActiveLow,
}

/// Why a relay action failed; the relay has been driven off where the pin allowed.
#[derive(Debug, thiserror::Error)]
pub enum RelayError<E: std::fmt::Debug> {
    /// The pin refused a level.
    #[error("relay pin: {0:?}")]
    Pin(E),
    /// A shutdown arrived during the pulse; the relay was switched off early.
    #[error("the pulse was cut short by a shutdown request; the relay is off")]
    Interrupted,
}

/// A relay driver that owns its pin (or a `&mut` to it).
#[derive(Debug)]
pub struct Relay<P: OutputPin> {
    pin: P,
    polarity: Polarity,
    energised: bool,
}

impl<P: OutputPin> Relay<P> {
    /// Takes the pin and drives it to the relay's off level at once.
    pub fn new(pin: P, polarity: Polarity) -> Result<Relay<P>, RelayError<P::Error>> {
        let mut relay = Relay {
            pin,
            polarity,
            energised: true,
        };
        relay.off()?;
        Ok(relay)
    }

    /// True while the coil is (or may be) energised.
    pub fn is_energised(&self) -> bool {
        self.energised
    }

    /// Energises the coil.
    pub fn on(&mut self) -> Result<(), RelayError<P::Error>> {
        self.energised = true;
        let result = match self.polarity {
            Polarity::ActiveHigh => self.pin.set_high(),
            Polarity::ActiveLow => self.pin.set_low(),
        };
        if let Err(e) = result {
            let _ = self.off();
            return Err(RelayError::Pin(e));
        }
        Ok(())
    }

    /// Releases the coil (its safe state).
    pub fn off(&mut self) -> Result<(), RelayError<P::Error>> {
        match self.polarity {
            Polarity::ActiveHigh => self.pin.set_low(),
            Polarity::ActiveLow => self.pin.set_high(),
        }
        .map_err(RelayError::Pin)?;
        self.energised = false;
        Ok(())
    }

    /// Energises the coil for `duration`, then releases it; a shutdown
    /// request (SIGTERM) ends the pulse early with [`RelayError::Interrupted`].
    pub fn pulse(&mut self, duration: Duration) -> Result<(), RelayError<P::Error>> {
        if shutdown_requested() {
            return Err(RelayError::Interrupted);
        }
        self.on()?;
        sleep_unless_shutdown(duration);
        self.off()?;
        if shutdown_requested() {
            return Err(RelayError::Interrupted);
        }
        Ok(())
    }
}

impl<P: OutputPin> Drop for Relay<P> {
    /// Releases the coil; nothing else can be done if the pin fails now.
    fn drop(&mut self) {
        let _ = self.off();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::actuate::recording::RecordingPin;

    #[test]
    fn a_pulse_is_on_for_its_duration_then_off() {
        let mut pin = RecordingPin::default();
        {
            let mut relay = Relay::new(&mut pin, Polarity::ActiveHigh).unwrap();
            assert!(!relay.is_energised());
            relay.pulse(Duration::from_millis(60)).unwrap();
            assert!(!relay.is_energised());
        }
        assert_eq!(
            pin.levels(),
            [false, true, false, false],
            "off at start, pulse, off on drop"
        );
        let held = pin.writes[2].0 - pin.writes[1].0;
        assert!(held >= Duration::from_millis(60), "{held:?}");
    }

    #[test]
    fn active_low_inverts_every_level() {
        let mut pin = RecordingPin::default();
        Relay::new(&mut pin, Polarity::ActiveLow)
            .unwrap()
            .pulse(Duration::from_millis(1))
            .unwrap();
        assert_eq!(pin.levels(), [true, false, true, true]);
    }

    #[test]
    fn a_panic_while_energised_leaves_the_relay_off() {
        let mut pin = RecordingPin::default();
        let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            let mut relay = Relay::new(&mut pin, Polarity::ActiveHigh).unwrap();
            relay.on().unwrap();
            panic!("something failed while the door was open");
        }));
        assert!(result.is_err());
        assert_eq!(pin.levels().last(), Some(&false), "{:?}", pin.levels());
    }

    #[test]
    fn a_failing_pin_is_an_error_and_is_driven_off() {
        let mut pin = RecordingPin {
            fail_after: Some(1),
            ..RecordingPin::default()
        };
        let mut relay = Relay::new(&mut pin, Polarity::ActiveHigh).unwrap();
        assert!(matches!(relay.on(), Err(RelayError::Pin(_))));
        assert!(
            relay.is_energised(),
            "unknown state is reported as energised"
        );
    }
}
