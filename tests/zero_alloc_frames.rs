//! The steady-state camera loop allocates nothing: 100 frames of each path
//! (YUYV, MJPEG, GREY) through a frame source and the converter, after a
//! warm-up, with every heap allocation of the looping thread counted.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use siamedge::capture::{CaptureError, FrameSource, ImageReplay};
use siamedge::image::{FrameConverter, FrameInfo, GreyImage, PixelFormat, RgbImage};

struct Counting;

static ALLOCATIONS: AtomicUsize = AtomicUsize::new(0);
thread_local! {
    static COUNTING: Cell<bool> = const { Cell::new(false) };
}

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if COUNTING.with(Cell::get) {
            ALLOCATIONS.fetch_add(1, Ordering::SeqCst);
        }
        System.alloc(layout)
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if COUNTING.with(Cell::get) {
            ALLOCATIONS.fetch_add(1, Ordering::SeqCst);
        }
        System.realloc(ptr, layout, new_size)
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        System.dealloc(ptr, layout)
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// Heap allocations made by `f` on this thread.
fn allocations_in(f: impl FnOnce()) -> usize {
    let before = ALLOCATIONS.load(Ordering::SeqCst);
    COUNTING.with(|c| c.set(true));
    f();
    COUNTING.with(|c| c.set(false));
    ALLOCATIONS.load(Ordering::SeqCst) - before
}

/// A source cycling over frames held in memory, as a camera's mapped buffers are.
struct MemorySource {
    frames: Vec<Vec<u8>>,
    format: PixelFormat,
    width: usize,
    height: usize,
    next: u64,
}

impl FrameSource for MemorySource {
    fn next_frame(&mut self, buf: &mut Vec<u8>) -> Result<FrameInfo, CaptureError> {
        let frame = &self.frames[self.next as usize % self.frames.len()];
        buf.clear();
        buf.extend_from_slice(frame);
        self.next += 1;
        Ok(FrameInfo {
            format: self.format,
            width: self.width,
            height: self.height,
            sequence: self.next,
            timestamp: Duration::from_millis(33 * self.next),
        })
    }

    fn describe(&self) -> String {
        format!("memory {} {}x{}", self.format, self.width, self.height)
    }
}

/// A moving test pattern (gradient, bar) as bytes of `channels` per pixel.
fn pattern(width: usize, height: usize, channels: usize, t: usize) -> Vec<u8> {
    let mut v = Vec::with_capacity(width * height * channels);
    for y in 0..height {
        for x in 0..width {
            for c in 0..channels {
                let bar = if (x + 8 * t) % 160 < 20 { 200 } else { 0 };
                v.push(((x + 2 * y + 40 * c) % 256) as u8 ^ bar);
            }
        }
    }
    v
}

/// Runs 10 warm-up and 100 counted frames through the loop a camera runs.
fn loop_allocations(source: &mut dyn FrameSource) -> (usize, usize) {
    let mut converter = FrameConverter::new();
    let (mut buf, mut rgb, mut grey) = (Vec::new(), RgbImage::default(), GreyImage::default());
    let mut step = |source: &mut dyn FrameSource| {
        let info = source.next_frame(&mut buf).unwrap();
        converter.to_rgb(&buf, &info, &mut rgb).unwrap();
        converter.to_grey(&buf, &info, &mut grey).unwrap();
        assert_eq!((rgb.width, grey.height), (info.width, info.height));
    };
    for _ in 0..10 {
        step(source);
    }
    let n = allocations_in(|| (0..100).for_each(|_| step(source)));
    (n, rgb.data.len())
}

#[test]
fn no_allocation_per_frame_on_any_path() {
    let (w, h) = (640, 480);
    let mut yuyv = MemorySource {
        frames: (0..4).map(|t| pattern(w, h, 2, t)).collect(),
        format: PixelFormat::Yuyv,
        width: w,
        height: h,
        next: 0,
    };
    let mut grey = MemorySource {
        frames: (0..4).map(|t| pattern(w, h, 1, t)).collect(),
        format: PixelFormat::Grey,
        width: w,
        height: h,
        next: 0,
    };
    let dir = tempfile::tempdir().unwrap();
    let files: Vec<PathBuf> = (0..4)
        .map(|t| {
            let mut jpeg = Vec::new();
            let mut enc = jpeg_encoder::Encoder::new(&mut jpeg, 85);
            enc.set_sampling_factor(jpeg_encoder::SamplingFactor::R_4_2_2);
            enc.encode(
                &pattern(w, h, 3, t),
                w as u16,
                h as u16,
                jpeg_encoder::ColorType::Rgb,
            )
            .unwrap();
            let p = dir.path().join(format!("frame-{t}.jpg"));
            std::fs::write(&p, jpeg).unwrap();
            p
        })
        .collect();
    let mut mjpeg = ImageReplay::open(&files, true, None).unwrap();

    for (name, source) in [
        ("YUYV", &mut yuyv as &mut dyn FrameSource),
        ("GREY", &mut grey),
        ("MJPEG", &mut mjpeg),
    ] {
        let (allocations, rgb_bytes) = loop_allocations(source);
        assert_eq!(rgb_bytes, w * h * 3, "{name}");
        assert_eq!(
            allocations, 0,
            "{name}: {allocations} allocations in 100 frames"
        );
    }
}

#[test]
fn the_counter_sees_allocations() {
    let n = allocations_in(|| drop(std::hint::black_box(vec![1u8; 100])));
    assert_eq!(n, 1, "the guard itself must be able to fail");
}
