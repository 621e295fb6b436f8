//! Actions at the board's GPIO header through embedded-hal 1.0 `OutputPin`s:
//! a door [`Relay`] that is never left energised and a status [`Led`]. The
//! real pins are GPIO character-device lines ([`open_output_line`]); tests
//! drive the same code with a recording pin.

mod cdev;
mod led;
mod relay;
mod safety;

pub use cdev::{open_led, open_output_line, open_relay, GpioError, OutputLine};
pub use led::{Led, LedError, LedPattern};
pub use relay::{Polarity, Relay, RelayError};
pub(crate) use safety::sleep_unless_shutdown;
pub use safety::{install_shutdown_handlers, request_shutdown, shutdown_requested, SafeLineGuard};

#[cfg(test)]
pub(crate) mod recording {
    //! A pin that records every level it is driven to, with the time.

    use std::time::Instant;

    use embedded_hal::digital::{ErrorType, OutputPin};

    /// Records `(time, high)` for every write.
    #[derive(Debug, Default)]
    pub struct RecordingPin {
        pub writes: Vec<(Instant, bool)>,
        /// Fail writes after this many, to test error paths.
        pub fail_after: Option<usize>,
    }

    impl RecordingPin {
        /// The levels written, in order.
        pub fn levels(&self) -> Vec<bool> {
            self.writes.iter().map(|w| w.1).collect()
        }
    }

    /// The recording pin's only error.
    #[derive(Debug)]
    pub struct Broken;

    impl embedded_hal::digital::Error for Broken {
        fn kind(&self) -> embedded_hal::digital::ErrorKind {
            embedded_hal::digital::ErrorKind::Other
        }
    }

    impl ErrorType for RecordingPin {
        type Error = Broken;
    }

    impl OutputPin for RecordingPin {
        fn set_low(&mut self) -> Result<(), Broken> {
            self.record(false)
        }
        fn set_high(&mut self) -> Result<(), Broken> {
            self.record(true)
        }
    }

    impl RecordingPin {
        fn record(&mut self, high: bool) -> Result<(), Broken> {
            if self.fail_after.is_some_and(|n| self.writes.len() >= n) {
                return Err(Broken);
            }
            self.writes.push((Instant::now(), high));
            Ok(())
        }
    }
}
