//! Memory-mapped V4L2 streaming on the `v4l` crate's ioctl layer. v4l 0.14's
//! own `MmapStream` panics in `Drop` when `VIDIOC_STREAMOFF` fails with
//! anything but ENODEV and blocks in `poll` without a way to see POLLHUP; this
//! one stops quietly and reports a vanished device as such.

use std::io;
use std::os::raw::c_void;
use std::time::Duration;

use v4l::v4l2;
use v4l::v4l_sys::{v4l2_buffer, v4l2_requestbuffers};

/// `V4L2_BUF_TYPE_VIDEO_CAPTURE`.
const CAPTURE: u32 = 1;
/// `V4L2_MEMORY_MMAP`.
const MMAP: u32 = 1;
/// `V4L2_BUF_FLAG_ERROR`: the driver filled the buffer only partly.
const FLAG_ERROR: u32 = 0x40;

/// One dequeued buffer: where its bytes are and what the driver said of them.
#[derive(Debug, Clone, Copy)]
pub(super) struct Dequeued {
    /// Buffer index.
    pub index: usize,
    /// Bytes the driver wrote.
    pub bytesused: usize,
    /// The driver's frame counter.
    pub sequence: u32,
    /// The driver's (monotonic) capture time.
    pub timestamp: Duration,
    /// The driver flagged the data as damaged.
    pub damaged: bool,
}

/// What waiting for a frame gave.
#[derive(Debug)]
pub(super) enum Wait {
    /// A filled buffer; hand it back with [`MmapStream::requeue`].
    Frame(Dequeued),
    /// Nothing within the timeout.
    Timeout,
    /// The device is gone (POLLHUP/POLLERR, or ENODEV from the driver).
    Gone(String),
    /// A signal interrupted the wait.
    Interrupted,
}

/// Buffers mapped from the driver, queued and streaming.
pub(super) struct MmapStream {
    fd: i32,
    buffers: Vec<(*mut u8, usize)>,
    streaming: bool,
}

// SAFETY: the mapped buffers belong to this stream alone; it is moved between
// threads whole, never shared.
unsafe impl Send for MmapStream {}

impl MmapStream {
    /// Requests `count` buffers on `fd`, maps and queues them, and starts streaming.
    pub fn start(fd: i32, count: u32) -> io::Result<MmapStream> {
        let mut req = v4l2_requestbuffers {
            count,
            type_: CAPTURE,
            memory: MMAP,
            // SAFETY: a plain C struct, valid when zeroed.
            ..unsafe { std::mem::zeroed() }
        };
        // SAFETY: REQBUFS takes a v4l2_requestbuffers, which `req` is.
        unsafe { v4l2::ioctl(fd, v4l2::vidioc::VIDIOC_REQBUFS, ptr(&mut req))? };
        let mut stream = MmapStream {
            fd,
            buffers: Vec::with_capacity(req.count as usize),
            streaming: false,
        };
        if req.count < 2 {
            return Err(io::Error::other(format!(
                "the driver granted {} buffers, streaming needs at least 2",
                req.count
            )));
        }
        for index in 0..req.count {
            let mut buf = describe(index);
            // SAFETY: QUERYBUF takes a v4l2_buffer, which `buf` is.
            unsafe { v4l2::ioctl(fd, v4l2::vidioc::VIDIOC_QUERYBUF, ptr(&mut buf))? };
            // SAFETY: the driver reported this offset and length for buffer `index`.
            let start = unsafe {
                v4l2::mmap(
                    std::ptr::null_mut(),
                    buf.length as usize,
                    libc::PROT_READ | libc::PROT_WRITE,
                    libc::MAP_SHARED,
                    fd,
                    buf.m.offset as libc::off_t,
                )?
            };
            stream.buffers.push((start as *mut u8, buf.length as usize));
            stream.requeue(index as usize)?;
        }
        let mut typ = CAPTURE;
        // SAFETY: STREAMON takes the buffer type as a u32.
        unsafe { v4l2::ioctl(fd, v4l2::vidioc::VIDIOC_STREAMON, ptr(&mut typ))? };
        stream.streaming = true;
        Ok(stream)
    }

    /// Number of buffers the driver granted.
    pub fn buffer_count(&self) -> usize {
        self.buffers.len()
    }

    /// Waits up to `timeout` for a filled buffer.
    pub fn wait(&mut self, timeout: Duration) -> io::Result<Wait> {
        let mut pfd = libc::pollfd {
            fd: self.fd,
            events: libc::POLLIN,
            revents: 0,
        };
        let ms = timeout.as_millis().min(i32::MAX as u128) as i32;
        // SAFETY: one valid pollfd.
        let n = unsafe { libc::poll(&mut pfd, 1, ms) };
        if n < 0 {
            let e = io::Error::last_os_error();
            return match e.kind() {
                io::ErrorKind::Interrupted => Ok(Wait::Interrupted),
                _ => Err(e),
            };
        }
        if n == 0 {
            return Ok(Wait::Timeout);
        }
        let mut buf = describe(0);
        // SAFETY: DQBUF takes a v4l2_buffer, which `buf` is.
        match unsafe { v4l2::ioctl(self.fd, v4l2::vidioc::VIDIOC_DQBUF, ptr(&mut buf)) } {
            Ok(()) => {}
            Err(e) if e.raw_os_error() == Some(libc::ENODEV) => {
                return Ok(Wait::Gone("the device was removed (ENODEV)".into()))
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                if pfd.revents & (libc::POLLHUP | libc::POLLERR) != 0 {
                    return Ok(Wait::Gone("the device hung up (POLLHUP/POLLERR)".into()));
                }
                return Ok(Wait::Timeout);
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => return Ok(Wait::Interrupted),
            Err(e) if pfd.revents & (libc::POLLHUP | libc::POLLERR) != 0 => {
                return Ok(Wait::Gone(format!("the device failed: {e}")))
            }
            Err(e) => return Err(e),
        }
        let index = buf.index as usize;
        let Some(&(_, len)) = self.buffers.get(index) else {
            return Err(io::Error::other(format!(
                "the driver returned buffer {index}"
            )));
        };
        Ok(Wait::Frame(Dequeued {
            index,
            bytesused: (buf.bytesused as usize).min(len),
            sequence: buf.sequence,
            timestamp: Duration::new(buf.timestamp.tv_sec.max(0) as u64, 0)
                + Duration::from_micros(buf.timestamp.tv_usec.max(0) as u64),
            damaged: buf.flags & FLAG_ERROR != 0,
        }))
    }

    /// The bytes of a dequeued buffer.
    pub fn bytes(&self, d: &Dequeued) -> &[u8] {
        let (start, _) = self.buffers[d.index];
        // SAFETY: `start` maps at least `len >= bytesused` bytes, and the
        // buffer is dequeued, so the driver does not write it.
        unsafe { std::slice::from_raw_parts(start, d.bytesused) }
    }

    /// Gives buffer `index` back to the driver.
    pub fn requeue(&mut self, index: usize) -> io::Result<()> {
        let mut buf = describe(index as u32);
        // SAFETY: QBUF takes a v4l2_buffer, which `buf` is.
        unsafe { v4l2::ioctl(self.fd, v4l2::vidioc::VIDIOC_QBUF, ptr(&mut buf)) }
    }
}

impl Drop for MmapStream {
    /// Stops streaming and unmaps the buffers; errors (a vanished device) are
    /// ignored, since there is nothing left to release.
    fn drop(&mut self) {
        if self.streaming {
            let mut typ = CAPTURE;
            // SAFETY: STREAMOFF takes the buffer type as a u32.
            let _ = unsafe { v4l2::ioctl(self.fd, v4l2::vidioc::VIDIOC_STREAMOFF, ptr(&mut typ)) };
        }
        for &(start, len) in &self.buffers {
            // SAFETY: each pair was returned by mmap and is unmapped once.
            let _ = unsafe { v4l2::munmap(start as *mut c_void, len) };
        }
        let mut req = v4l2_requestbuffers {
            count: 0,
            type_: CAPTURE,
            memory: MMAP,
            // SAFETY: a plain C struct, valid when zeroed.
            ..unsafe { std::mem::zeroed() }
        };
        // SAFETY: REQBUFS takes a v4l2_requestbuffers.
        let _ = unsafe { v4l2::ioctl(self.fd, v4l2::vidioc::VIDIOC_REQBUFS, ptr(&mut req)) };
    }
}

fn describe(index: u32) -> v4l2_buffer {
    v4l2_buffer {
        index,
        type_: CAPTURE,
        memory: MMAP,
        // SAFETY: a plain C struct, valid when zeroed.
        ..unsafe { std::mem::zeroed() }
    }
}

fn ptr<T>(value: &mut T) -> *mut c_void {
    value as *mut T as *mut c_void
}
