//! A status LED on one output pin, with a blink pattern per outcome.

use std::time::Duration;

use embedded_hal::digital::OutputPin;

use super::sleep_unless_shutdown;

/// What the LED tells a person at the door.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LedPattern {
    /// Recognised: steady for one second.
    Accepted,
    /// Not recognised: three quick blinks.
    Rejected,
    /// Looking: one slow blink (repeat it while an attempt runs).
    Busy,
}

impl LedPattern {
    /// The pattern as (lit, milliseconds) steps; every pattern ends dark.
    pub fn steps(self) -> &'static [(bool, u64)] {
        match self {
            LedPattern::Accepted => &[(true, 1000), (false, 0)],
            LedPattern::Rejected => &[
                (true, 100),
                (false, 100),
                (true, 100),
                (false, 100),
                (true, 100),
                (false, 0),
            ],
            LedPattern::Busy => &[(true, 250), (false, 250)],
        }
    }
}

/// Why the LED could not be driven.
#[derive(Debug, thiserror::Error)]
#[error("LED pin: {0:?}")]
pub struct LedError<E: std::fmt::Debug>(pub E);

/// An LED driver that owns its pin and tracks whether it is lit
/// (character-device pins cannot be read back).
#[derive(Debug)]
pub struct Led<P: OutputPin> {
    pin: P,
    lit: bool,
}

impl<P: OutputPin> Led<P> {
    /// Takes the pin and switches the LED off.
    pub fn new(mut pin: P) -> Result<Led<P>, LedError<P::Error>> {
        pin.set_low().map_err(LedError)?;
        Ok(Led { pin, lit: false })
    }

    /// True while the LED is lit.
    pub fn is_lit(&self) -> bool {
        self.lit
    }

    /// Plays a pattern to its end (cut short by a shutdown request); the LED ends dark.
    pub fn show(&mut self, pattern: LedPattern) -> Result<(), LedError<P::Error>> {
        for &(lit, ms) in pattern.steps() {
            if lit {
                self.pin.set_high()
            } else {
                self.pin.set_low()
            }
            .map_err(LedError)?;
            self.lit = lit;
            sleep_unless_shutdown(Duration::from_millis(ms));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::actuate::recording::RecordingPin;

    #[test]
    fn patterns_play_their_steps_and_end_dark() {
        for pattern in [LedPattern::Rejected, LedPattern::Busy] {
            let mut pin = RecordingPin::default();
            let mut led = Led::new(&mut pin).unwrap();
            led.show(pattern).unwrap();
            assert!(!led.is_lit());
            let expected: Vec<bool> = std::iter::once(false)
                .chain(pattern.steps().iter().map(|s| s.0))
                .collect();
            assert_eq!(pin.levels(), expected, "{pattern:?}");
        }
        for pattern in [LedPattern::Accepted, LedPattern::Rejected, LedPattern::Busy] {
            assert_eq!(pattern.steps().last().map(|s| s.0), Some(false));
        }
    }
}
