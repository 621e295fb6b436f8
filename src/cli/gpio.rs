//! `siamedge gpio`: check the wiring of the door relay and the status LED on a board.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::Context;
use clap::{Args, Subcommand};
use siamedge::actuate::{install_shutdown_handlers, open_led, open_relay, LedPattern, RelayError};
use siamedge::config::GpioConfig;

use super::device_config::load_defaults;

/// `gpio` subcommands.
#[derive(Debug, Subcommand)]
pub enum GpioCommand {
    /// Energise the relay for a while, then release it (it is released on Ctrl-C and SIGTERM too).
    Pulse(PulseArgs),
    /// Play an LED pattern: accepted, rejected or busy.
    Led(LedArgs),
    /// Drive the relay to its off level and the LED dark, then release them
    /// (the unit runs it after the daemon stops, even after a SIGKILL).
    Off(OffArgs),
}

/// Arguments of `gpio off`.
#[derive(Debug, Args)]
pub struct OffArgs {
    /// Device configuration naming the chip and lines (else /etc/siamedge/siamedge.toml).
    #[arg(long, env = "SIAMEDGE_CONFIG")]
    config: Option<PathBuf>,
}

/// Which line, with the device configuration's `[gpio]` as defaults.
#[derive(Debug, Args)]
pub struct LineArgs {
    /// GPIO character device (default: the configuration's gpio.chip, else /dev/gpiochip0).
    #[arg(long)]
    chip: Option<PathBuf>,
    /// Line offset on the chip (default: the configuration's relay-line / led-line).
    #[arg(long)]
    line: Option<u32>,
    /// Device configuration supplying the defaults (else /etc/siamedge/siamedge.toml if present).
    #[arg(long, env = "SIAMEDGE_CONFIG")]
    config: Option<PathBuf>,
}

/// Arguments of `gpio pulse`.
#[derive(Debug, Args)]
pub struct PulseArgs {
    #[command(flatten)]
    line: LineArgs,
    /// Pulse length in milliseconds (default: the configuration's relay-pulse-ms, else 500).
    #[arg(long)]
    ms: Option<u64>,
    /// The relay board energises on a low level (default: the configuration's relay-active-low).
    #[arg(long)]
    active_low: bool,
}

/// Arguments of `gpio led`.
#[derive(Debug, Args)]
pub struct LedArgs {
    #[command(flatten)]
    line: LineArgs,
    /// The pattern to play.
    #[arg(value_parser = ["accepted", "rejected", "busy"])]
    pattern: String,
}

/// Runs a `gpio` subcommand.
pub fn run(cmd: GpioCommand) -> anyhow::Result<()> {
    install_shutdown_handlers();
    match cmd {
        GpioCommand::Pulse(args) => pulse(args),
        GpioCommand::Led(args) => led(args),
        GpioCommand::Off(args) => off(args),
    }
}

fn off(args: OffArgs) -> anyhow::Result<()> {
    let g = load_defaults(args.config.as_deref())?
        .context("no device configuration names the relay: pass --config")?
        .gpio;
    drop(open_relay(&g.chip, g.relay_line, g.relay_active_low)?);
    drop(open_led(&g.chip, g.led_line)?);
    eprintln!(
        "gpio: relay on {} line {} off, LED line {} dark",
        g.chip.display(),
        g.relay_line,
        g.led_line
    );
    Ok(())
}

fn gpio_defaults(line: &LineArgs) -> anyhow::Result<Option<GpioConfig>> {
    Ok(load_defaults(line.config.as_deref())?.map(|c| c.gpio))
}

fn pulse(args: PulseArgs) -> anyhow::Result<()> {
    let defaults = gpio_defaults(&args.line)?;
    let chip = chip_of(&args.line, defaults.as_ref());
    let line = args
        .line
        .line
        .or(defaults.as_ref().map(|g| g.relay_line))
        .context("give --line (no device configuration names the relay line)")?;
    let ms = args
        .ms
        .or(defaults.as_ref().map(|g| g.relay_pulse_ms))
        .unwrap_or(500);
    let active_low = args.active_low || defaults.as_ref().is_some_and(|g| g.relay_active_low);
    let mut relay = open_relay(&chip, line, active_low)?;
    eprintln!(
        "gpio: relay on {} line {line} ({}) energised for {ms} ms",
        chip.display(),
        if active_low {
            "active low"
        } else {
            "active high"
        }
    );
    let t = Instant::now();
    match relay.pulse(Duration::from_millis(ms)) {
        Ok(()) => {
            eprintln!("gpio: relay released after {} ms", t.elapsed().as_millis());
            Ok(())
        }
        Err(RelayError::Interrupted) => {
            anyhow::bail!(
                "interrupted after {} ms; the relay is released",
                t.elapsed().as_millis()
            )
        }
        Err(e) => Err(anyhow::anyhow!("{e}")),
    }
}

fn led(args: LedArgs) -> anyhow::Result<()> {
    let defaults = gpio_defaults(&args.line)?;
    let chip = chip_of(&args.line, defaults.as_ref());
    let line = args
        .line
        .line
        .or(defaults.as_ref().map(|g| g.led_line))
        .context("give --line (no device configuration names the LED line)")?;
    let pattern = match args.pattern.as_str() {
        "accepted" => LedPattern::Accepted,
        "rejected" => LedPattern::Rejected,
        _ => LedPattern::Busy,
    };
    let mut led = open_led(&chip, line)?;
    led.show(pattern).map_err(|e| anyhow::anyhow!("{e}"))?;
    eprintln!(
        "gpio: played {} on {} line {line}",
        args.pattern,
        chip.display()
    );
    Ok(())
}

fn chip_of(line: &LineArgs, defaults: Option<&GpioConfig>) -> PathBuf {
    line.chip
        .clone()
        .or(defaults.map(|g| g.chip.clone()))
        .unwrap_or_else(|| PathBuf::from("/dev/gpiochip0"))
}
