//! A V4L2 camera through the `v4l` crate: opened by path or stable name
//! (`/dev/v4l/by-id/...`), format and size negotiated with fallback to the
//! nearest mode offered, mmap streaming, poll with a timeout, settling frames
//! dropped, exposure and brightness set where the device has them, and
//! re-opened with backoff after an unplug.

pub mod diagnose;
mod stream;

use std::path::PathBuf;
use std::time::{Duration, Instant};

use v4l::video::Capture;
use v4l::{Control, Device, Format, FourCC};

use self::stream::{MmapStream, Wait};
use super::{CaptureError, FrameSource};
use crate::actuate::{shutdown_requested, sleep_unless_shutdown};
use crate::config::CameraConfig;
use crate::image::{FrameInfo, PixelFormat};

/// `V4L2_CID_BRIGHTNESS`.
const CID_BRIGHTNESS: u32 = 0x0098_0900;
/// `V4L2_CID_EXPOSURE_AUTO` (menu; 1 = manual).
const CID_EXPOSURE_AUTO: u32 = 0x009a_0901;
/// `V4L2_CID_EXPOSURE_ABSOLUTE` (100 µs units).
const CID_EXPOSURE_ABSOLUTE: u32 = 0x009a_0902;

/// What to ask a camera for.
#[derive(Debug, Clone, PartialEq)]
pub struct CameraSettings {
    /// Device node or stable name.
    pub device: PathBuf,
    /// Preferred pixel format; another one offered is used (and said) when it is missing.
    pub format: PixelFormat,
    /// Preferred frame width.
    pub width: u32,
    /// Preferred frame height.
    pub height: u32,
    /// Preferred frame rate, when set.
    pub fps: Option<u32>,
    /// Mapped buffers requested (at least 3).
    pub buffers: u32,
    /// Frames dropped after each start while exposure settles.
    pub settle_frames: u32,
    /// How long to wait for one frame.
    pub timeout: Duration,
    /// Manual exposure in the driver's units (100 µs for UVC), when set.
    pub exposure: Option<i64>,
    /// Brightness in the driver's range, when set.
    pub brightness: Option<i64>,
}

impl CameraSettings {
    /// The settings of a device configuration's `[camera]` table.
    pub fn from_config(c: &CameraConfig) -> CameraSettings {
        CameraSettings {
            device: c.device.clone(),
            format: c.format.parse().unwrap_or(PixelFormat::Mjpeg),
            width: c.width,
            height: c.height,
            fps: c.fps,
            buffers: 4,
            settle_frames: c.settle_frames,
            timeout: Duration::from_millis(2000),
            exposure: c.exposure,
            brightness: c.brightness,
        }
    }
}

impl Default for CameraSettings {
    /// `/dev/video0`, MJPEG 640x480 at the driver's rate, 4 buffers, 3
    /// settling frames, 2 s per frame: what the commands use without a
    /// device configuration.
    fn default() -> CameraSettings {
        CameraSettings {
            device: PathBuf::from("/dev/video0"),
            format: PixelFormat::Mjpeg,
            width: 640,
            height: 480,
            fps: None,
            buffers: 4,
            settle_frames: 3,
            timeout: Duration::from_millis(2000),
            exposure: None,
            brightness: None,
        }
    }
}

/// The mode a camera agreed to, and every way it differs from what was asked.
#[derive(Debug, Clone, PartialEq)]
pub struct Negotiated {
    /// The pixel format streamed.
    pub format: PixelFormat,
    /// Frame width.
    pub width: usize,
    /// Frame height.
    pub height: usize,
    /// Bytes per row as the driver lays them out.
    pub stride: usize,
    /// Frame rate the driver reports, when it reports one.
    pub fps: Option<f64>,
    /// Buffers granted.
    pub buffers: usize,
    /// The driver and card, e.g. `uvcvideo: USB Camera`.
    pub card: String,
    /// Notes for the user: fallbacks taken, controls missing.
    pub notes: Vec<String>,
}

/// An open, streaming V4L2 camera. Fields drop in order: the stream stops
/// and unmaps before the device is closed.
pub struct V4l2Camera {
    stream: Option<MmapStream>,
    device: Option<Device>,
    settings: CameraSettings,
    negotiated: Negotiated,
    to_settle: u32,
}

impl std::fmt::Debug for V4l2Camera {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("V4l2Camera")
            .field("settings", &self.settings)
            .field("negotiated", &self.negotiated)
            .finish_non_exhaustive()
    }
}

impl V4l2Camera {
    /// Opens the camera, negotiates its mode and starts streaming.
    pub fn open(settings: CameraSettings) -> Result<V4l2Camera, CaptureError> {
        if settings.buffers < 3 {
            return Err(CaptureError::Exhausted(format!(
                "camera buffers must be at least 3, got {}",
                settings.buffers
            )));
        }
        let (device, stream, negotiated) = start(&settings)?;
        Ok(V4l2Camera {
            stream: Some(stream),
            device: Some(device),
            to_settle: settings.settle_frames,
            settings,
            negotiated,
        })
    }

    /// The mode the camera agreed to.
    pub fn negotiated(&self) -> &Negotiated {
        &self.negotiated
    }

    /// After [`CaptureError::Disconnected`]: waits for the camera to come back
    /// and streams again, trying with backoff (50 ms doubling to 1 s) until
    /// `give_up` passes or a shutdown is requested. Returns the time it took.
    pub fn reopen(&mut self, give_up: Option<Duration>) -> Result<Duration, CaptureError> {
        self.close();
        let start_time = Instant::now();
        let mut backoff = Duration::from_millis(50);
        loop {
            match start(&self.settings) {
                Ok((device, stream, negotiated)) => {
                    self.stream = Some(stream);
                    self.device = Some(device);
                    self.negotiated = negotiated;
                    self.to_settle = self.settings.settle_frames;
                    return Ok(start_time.elapsed());
                }
                Err(
                    e @ (CaptureError::FormatNotOffered { .. } | CaptureError::NotCapture { .. }),
                ) => return Err(e),
                Err(e) => {
                    if shutdown_requested() {
                        return Err(CaptureError::Shutdown);
                    }
                    if give_up.is_some_and(|g| start_time.elapsed() >= g) {
                        return Err(e);
                    }
                }
            }
            sleep_unless_shutdown(backoff);
            backoff = (backoff * 2).min(Duration::from_secs(1));
        }
    }

    /// Stops streaming and closes the device (it can be re-opened with [`V4l2Camera::reopen`]).
    pub fn close(&mut self) {
        self.stream = None;
        self.device = None;
    }

    fn gone(&mut self, reason: String) -> CaptureError {
        self.close();
        CaptureError::Disconnected {
            path: self.settings.device.clone(),
            reason,
        }
    }
}

impl FrameSource for V4l2Camera {
    fn next_frame(&mut self, buf: &mut Vec<u8>) -> Result<FrameInfo, CaptureError> {
        let path = self.settings.device.clone();
        let deadline = Instant::now() + self.settings.timeout;
        loop {
            if shutdown_requested() {
                return Err(CaptureError::Shutdown);
            }
            let Some(stream) = self.stream.as_mut() else {
                return Err(self.gone("the camera is closed after an earlier disconnect".into()));
            };
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(CaptureError::Timeout {
                    path,
                    ms: self.settings.timeout.as_millis() as u64,
                });
            }
            let d = match stream.wait(left) {
                Ok(Wait::Frame(d)) => d,
                Ok(Wait::Timeout | Wait::Interrupted) => continue,
                Ok(Wait::Gone(reason)) => return Err(self.gone(reason)),
                Err(error) => return Err(diagnose::explain(&path, "VIDIOC_DQBUF", error)),
            };
            let keep = !d.damaged && self.to_settle == 0;
            self.to_settle = self.to_settle.saturating_sub(1);
            if keep {
                copy_packed(stream.bytes(&d), &self.negotiated, buf);
            }
            if let Err(error) = stream.requeue(d.index) {
                return Err(match error.raw_os_error() {
                    Some(libc::ENODEV) => self.gone("the device was removed (ENODEV)".into()),
                    _ => diagnose::explain(&path, "VIDIOC_QBUF", error),
                });
            }
            if keep {
                return Ok(FrameInfo {
                    format: self.negotiated.format,
                    width: self.negotiated.width,
                    height: self.negotiated.height,
                    sequence: d.sequence as u64,
                    timestamp: d.timestamp,
                });
            }
        }
    }

    fn describe(&self) -> String {
        let n = &self.negotiated;
        format!(
            "{} {} {}x{}",
            self.settings.device.display(),
            n.format,
            n.width,
            n.height
        )
    }
}

/// Copies a frame into `buf`, dropping row padding of uncompressed formats.
fn copy_packed(bytes: &[u8], n: &Negotiated, buf: &mut Vec<u8>) {
    buf.clear();
    match n.format.frame_bytes(n.width, 1) {
        Some(row) if n.stride > row => {
            for line in bytes.chunks(n.stride).take(n.height) {
                buf.extend_from_slice(&line[..row.min(line.len())]);
            }
        }
        _ => buf.extend_from_slice(bytes),
    }
}

/// Opens, negotiates and starts streaming.
fn start(s: &CameraSettings) -> Result<(Device, MmapStream, Negotiated), CaptureError> {
    let path = &s.device;
    let device = Device::with_path(path).map_err(|e| diagnose::explain(path, "open", e))?;
    let caps = device
        .query_caps()
        .map_err(|e| diagnose::explain(path, "VIDIOC_QUERYCAP", e))?;
    let flags = caps.capabilities;
    if !flags.contains(v4l::capability::Flags::VIDEO_CAPTURE)
        || !flags.contains(v4l::capability::Flags::STREAMING)
    {
        return Err(CaptureError::NotCapture {
            path: path.clone(),
            card: format!("{}: {}", caps.driver, caps.card),
            available: diagnose::list_cameras(),
        });
    }
    let mut negotiated = negotiate(&device, s)?;
    negotiated.card = format!("{}: {}", caps.driver, caps.card);
    apply_controls(&device, s, &mut negotiated.notes);
    let stream = MmapStream::start(device.handle().fd(), s.buffers)
        .map_err(|e| diagnose::explain(path, "starting the stream", e))?;
    negotiated.buffers = stream.buffer_count();
    Ok((device, stream, negotiated))
}

/// Chooses format, size and rate from what the device offers.
fn negotiate(device: &Device, s: &CameraSettings) -> Result<Negotiated, CaptureError> {
    let path = &s.device;
    let offered = device
        .enum_formats()
        .map_err(|e| diagnose::explain(path, "VIDIOC_ENUM_FMT", e))?;
    let ours: Vec<PixelFormat> = offered
        .iter()
        .filter_map(|d| PixelFormat::from_fourcc(&d.fourcc.repr))
        .collect();
    let mut notes = Vec::new();
    let format = if ours.contains(&s.format) || offered.is_empty() {
        s.format
    } else {
        let Some(&other) = PixelFormat::ALL.iter().find(|f| ours.contains(f)) else {
            return Err(CaptureError::FormatNotOffered {
                path: path.clone(),
                offered: offered
                    .iter()
                    .map(|d| format!("{} ({})", d.fourcc, d.description))
                    .collect(),
            });
        };
        notes.push(format!("{} is not offered; using {other}", s.format));
        other
    };
    let fourcc = FourCC::new(&format.fourcc());
    let (width, height) = nearest_size(device, fourcc, s.width, s.height);
    let asked = Format::new(width, height, fourcc);
    let got = device
        .set_format(&asked)
        .map_err(|e| diagnose::explain(path, "VIDIOC_S_FMT", e))?;
    if got.fourcc != fourcc {
        return Err(CaptureError::FormatNotOffered {
            path: path.clone(),
            offered: vec![format!(
                "{} (the driver replaced {format} with it)",
                got.fourcc
            )],
        });
    }
    if (got.width, got.height) != (s.width, s.height) {
        notes.push(format!(
            "{}x{} is not offered; using {}x{}",
            s.width, s.height, got.width, got.height
        ));
    }
    let fps = set_rate(device, s.fps, &mut notes);
    Ok(Negotiated {
        format,
        width: got.width as usize,
        height: got.height as usize,
        stride: got.stride as usize,
        fps,
        buffers: 0,
        card: String::new(),
        notes,
    })
}

/// The offered size nearest to the one asked for (by area, then aspect), or
/// the one asked for when the driver lists no sizes.
fn nearest_size(device: &Device, fourcc: FourCC, width: u32, height: u32) -> (u32, u32) {
    let Ok(sizes) = device.enum_framesizes(fourcc) else {
        return (width, height);
    };
    let mut candidates = Vec::new();
    for size in sizes {
        match size.size {
            v4l::framesize::FrameSizeEnum::Discrete(d) => candidates.push((d.width, d.height)),
            v4l::framesize::FrameSizeEnum::Stepwise(st) => {
                let fit = |v: u32, lo: u32, hi: u32, step: u32| {
                    let v = v.clamp(lo, hi.max(lo));
                    lo + (v - lo) / step.max(1) * step.max(1)
                };
                candidates.push((
                    fit(width, st.min_width, st.max_width, st.step_width),
                    fit(height, st.min_height, st.max_height, st.step_height),
                ));
            }
        }
    }
    candidates
        .into_iter()
        .min_by_key(|&(w, h)| {
            let area = (w as i64 * h as i64 - width as i64 * height as i64).abs();
            let aspect = (w as i64 * height as i64 - h as i64 * width as i64).abs();
            (area, aspect)
        })
        .unwrap_or((width, height))
}

/// Asks for a frame rate; returns the rate the driver reports.
fn set_rate(device: &Device, fps: Option<u32>, notes: &mut Vec<String>) -> Option<f64> {
    let rate = |p: v4l::video::capture::Parameters| {
        let f = p.interval;
        (f.numerator > 0).then(|| f.denominator as f64 / f.numerator as f64)
    };
    if let Some(fps) = fps {
        match device.set_params(&v4l::video::capture::Parameters::with_fps(fps)) {
            Ok(p) => {
                let got = rate(p);
                if got.is_some_and(|g| (g - fps as f64).abs() > 0.5) {
                    notes.push(format!(
                        "{fps} fps is not offered; the camera runs at {:.1}",
                        got.unwrap_or(0.0)
                    ));
                }
                return got;
            }
            Err(e) => notes.push(format!("the camera does not take a frame rate ({e})")),
        }
    }
    device.params().ok().and_then(rate)
}

/// Sets manual exposure and brightness where configured and offered.
fn apply_controls(device: &Device, s: &CameraSettings, notes: &mut Vec<String>) {
    let mut set = |id: u32, value: i64, what: &str| {
        let control = Control {
            id,
            value: v4l::control::Value::Integer(value),
        };
        if let Err(e) = device.set_control(control) {
            notes.push(format!(
                "cannot set {what} to {value}: {e} (the camera may not have it)"
            ));
        }
    };
    if let Some(exposure) = s.exposure {
        set(CID_EXPOSURE_AUTO, 1, "manual exposure");
        set(CID_EXPOSURE_ABSOLUTE, exposure, "exposure");
    }
    if let Some(brightness) = s.brightness {
        set(CID_BRIGHTNESS, brightness, "brightness");
    }
}

/// The formats and frame sizes a device offers, one line per format, e.g.
/// `YUYV (YUYV 4:2:2): 640x480, 1280x720`.
pub fn offered_modes(path: &std::path::Path) -> Result<Vec<String>, CaptureError> {
    let device = Device::with_path(path).map_err(|e| diagnose::explain(path, "open", e))?;
    let formats = device
        .enum_formats()
        .map_err(|e| diagnose::explain(path, "VIDIOC_ENUM_FMT", e))?;
    Ok(formats
        .iter()
        .map(|f| {
            let sizes: Vec<String> = device
                .enum_framesizes(f.fourcc)
                .unwrap_or_default()
                .iter()
                .map(|s| match &s.size {
                    v4l::framesize::FrameSizeEnum::Discrete(d) => {
                        format!("{}x{}", d.width, d.height)
                    }
                    v4l::framesize::FrameSizeEnum::Stepwise(st) => format!(
                        "{}x{} to {}x{}",
                        st.min_width, st.min_height, st.max_width, st.max_height
                    ),
                })
                .collect();
            let ours = if PixelFormat::from_fourcc(&f.fourcc.repr).is_some() {
                ""
            } else {
                " [not read by siamedge]"
            };
            format!(
                "{} ({}): {}{ours}",
                f.fourcc,
                f.description,
                sizes.join(", ")
            )
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn negotiated(format: PixelFormat, width: usize, height: usize, stride: usize) -> Negotiated {
        Negotiated {
            format,
            width,
            height,
            stride,
            fps: None,
            buffers: 4,
            card: String::new(),
            notes: Vec::new(),
        }
    }

    #[test]
    fn padded_rows_are_packed() {
        let n = negotiated(PixelFormat::Yuyv, 2, 2, 6);
        let mut buf = vec![9; 100];
        copy_packed(&[1, 2, 3, 4, 0, 0, 5, 6, 7, 8, 0, 0], &n, &mut buf);
        assert_eq!(buf, [1, 2, 3, 4, 5, 6, 7, 8]);
        let n = negotiated(PixelFormat::Mjpeg, 2, 2, 0);
        copy_packed(&[0xFF, 0xD8, 1], &n, &mut buf);
        assert_eq!(buf, [0xFF, 0xD8, 1]);
    }

    #[test]
    fn a_missing_camera_is_named() {
        let mut s = CameraSettings::from_config(&crate::config::CameraConfig {
            device: "/dev/video-none-such".into(),
            format: "YUYV".into(),
            width: 640,
            height: 480,
            fps: None,
            settle_frames: 0,
            exposure: None,
            brightness: None,
        });
        let e = V4l2Camera::open(s.clone()).unwrap_err().to_string();
        assert!(e.contains("no camera at /dev/video-none-such"), "{e}");
        s.buffers = 2;
        let e = V4l2Camera::open(s).unwrap_err().to_string();
        assert!(e.contains("at least 3"), "{e}");
    }
}
