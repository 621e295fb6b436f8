//! After warm-up, decoding frames of the same size must not touch the heap.

#[path = "mjpeg/common/mod.rs"]
mod common;

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

use common::*;
use siamedge::image::MjpegDecoder;

/// Counts every allocation and reallocation made through the global allocator, per thread
/// (so the test harness's own threads do not disturb the count).
struct Counting;

thread_local! {
    static ALLOCATIONS: Cell<usize> = const { Cell::new(0) };
}

/// Allocations made so far by the calling thread.
fn allocations() -> usize {
    ALLOCATIONS.with(Cell::get)
}

/// Records one allocation on the calling thread.
fn count() {
    ALLOCATIONS.with(|c| c.set(c.get() + 1));
}

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        count();
        unsafe { System.alloc(layout) }
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        count();
        unsafe { System.alloc_zeroed(layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        count();
        unsafe { System.realloc(ptr, layout, new_size) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// Two different frames of one size and sampling.
fn frames(sampling: Sampling, w: usize, h: usize, restart: u16) -> [Vec<u8>; 2] {
    [
        encode(
            &rgb_image(Pattern::Shapes, w, h, 1),
            w,
            h,
            sampling,
            80,
            restart,
            false,
        ),
        encode(
            &rgb_image(Pattern::Noise, w, h, 2),
            w,
            h,
            sampling,
            60,
            restart,
            false,
        ),
    ]
}

#[test]
fn steady_state_decoding_allocates_nothing() {
    let cases = [
        (Sampling::S422, 640, 480, 0),
        (Sampling::S420, 321, 241, 5),
        (Sampling::S444, 64, 48, 0),
        (Sampling::S440, 100, 60, 2),
        (Sampling::Grey, 77, 33, 0),
    ];
    for (sampling, w, h, restart) in cases {
        let jpegs = frames(sampling, w, h, restart);
        let stripped = [strip_dht(&jpegs[0]), strip_dht(&jpegs[1])];
        let start = allocations();
        let mut dec = MjpegDecoder::new();
        let (mut rgb, mut grey) = (Vec::new(), Vec::new());
        dec.decode_rgb(&jpegs[0], &mut rgb).unwrap();
        dec.decode_grey(&jpegs[0], &mut grey).unwrap();
        assert!(
            allocations() > start,
            "the counting allocator sees the warm-up"
        );
        let before = allocations();
        for i in 0..100 {
            let jpeg = if i % 4 < 2 {
                &jpegs[i % 2]
            } else {
                &stripped[i % 2]
            };
            dec.decode_rgb(jpeg, &mut rgb).unwrap();
            dec.decode_grey(jpeg, &mut grey).unwrap();
        }
        let delta = allocations() - before;
        println!(
            "{sampling:?} {w}x{h} rst{restart}: {delta} allocations in 100 frames (rgb + grey)"
        );
        assert_eq!(
            delta, 0,
            "{sampling:?} {w}x{h}: decoder allocated after warm-up"
        );
    }
}

#[test]
fn smaller_frame_after_larger_allocates_nothing() {
    let big = frames(Sampling::S420, 1280, 720, 0);
    let small = frames(Sampling::S422, 640, 480, 0);
    let mut dec = MjpegDecoder::new();
    let mut rgb = Vec::new();
    dec.decode_rgb(&big[0], &mut rgb).unwrap();
    let before = allocations();
    for i in 0..10 {
        dec.decode_rgb(&small[i % 2], &mut rgb).unwrap();
        dec.decode_rgb(&big[i % 2], &mut rgb).unwrap();
    }
    assert_eq!(allocations() - before, 0);
}
