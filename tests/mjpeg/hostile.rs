//! Malformed input must produce an error (or a decoded frame), never a panic or a huge allocation.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

use crate::common::*;
use siamedge::image::{JpegError, MjpegDecoder};

/// Remembers the largest single allocation request.
struct Tracking;

static LARGEST: AtomicUsize = AtomicUsize::new(0);

unsafe impl GlobalAlloc for Tracking {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        LARGEST.fetch_max(layout.size(), Ordering::Relaxed);
        unsafe { System.alloc(layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        LARGEST.fetch_max(new_size, Ordering::Relaxed);
        unsafe { System.realloc(ptr, layout, new_size) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: Tracking = Tracking;

/// Largest buffer the decoder may need: an 8192*8192 RGB frame.
const LIMIT: usize = 8192 * 8192 * 3;

/// Small frames of several layouts to damage.
fn samples() -> Vec<Vec<u8>> {
    let img = rgb_image(Pattern::Shapes, 33, 17, 1);
    vec![
        encode(&img, 33, 17, Sampling::S420, 75, 0, false),
        encode(&img, 33, 17, Sampling::S422, 50, 2, false),
        encode(&img, 33, 17, Sampling::Grey, 90, 0, false),
        encode(&img, 33, 17, Sampling::S444, 75, 0, true),
        strip_dht(&encode(&img, 33, 17, Sampling::S440, 75, 1, false)),
    ]
}

/// Runs both decode paths and the probe; only checks that nothing panics.
fn decode_all(dec: &mut MjpegDecoder, data: &[u8]) -> Result<(), JpegError> {
    let (mut rgb, mut grey) = (Vec::new(), Vec::new());
    let _ = MjpegDecoder::probe(data);
    let grey_result = dec.decode_grey(data, &mut grey);
    dec.decode_rgb(data, &mut rgb)?;
    grey_result.map(|_| ())
}

#[test]
fn every_prefix_is_handled() {
    let mut dec = MjpegDecoder::new();
    for jpeg in samples() {
        let eoi = jpeg.len() - 2;
        for len in 0..jpeg.len() {
            let result = decode_all(&mut dec, &jpeg[..len]);
            if len < eoi {
                assert!(
                    result.is_err(),
                    "prefix of {len}/{} bytes decoded",
                    jpeg.len()
                );
            }
        }
        assert_eq!(decode_all(&mut dec, &jpeg), Ok(()));
    }
    assert!(LARGEST.load(Ordering::Relaxed) <= LIMIT);
}

#[test]
fn random_mutations_never_panic() {
    let mut dec = MjpegDecoder::new();
    let mut rng = XorShift(0xDEAD_BEEF_1234_5678);
    let (mut ok, mut err) = (0, 0);
    for jpeg in samples() {
        for _ in 0..1500 {
            let mut bad = jpeg.clone();
            for _ in 0..1 + rng.next() % 4 {
                let pos = (rng.next() % bad.len() as u64) as usize;
                match rng.next() % 3 {
                    0 => bad[pos] ^= 1 << (rng.next() % 8),
                    1 => bad[pos] = rng.next() as u8,
                    _ => bad[pos] = 0xFF,
                }
            }
            match decode_all(&mut dec, &bad) {
                Ok(()) => ok += 1,
                Err(_) => err += 1,
            }
        }
    }
    println!("mutations: {ok} decoded, {err} rejected");
    assert!(err > 0);
    assert!(LARGEST.load(Ordering::Relaxed) <= LIMIT);
}

#[test]
fn clear_errors_for_junk_and_unsupported_files() {
    let mut dec = MjpegDecoder::new();
    let mut out = Vec::new();
    assert_eq!(dec.decode_rgb(&[], &mut out), Err(JpegError::Empty));
    assert_eq!(
        dec.decode_rgb(b"GIF89a not a jpeg", &mut out),
        Err(JpegError::NotJpeg)
    );
    assert_eq!(MjpegDecoder::probe(&[0xFF]), Err(JpegError::NotJpeg));
    assert!(matches!(
        dec.decode_grey(&[0xFF, 0xD8], &mut out),
        Err(JpegError::Truncated(_))
    ));

    let img = rgb_image(Pattern::Gradient, 16, 16, 0);
    let jpeg = encode(&img, 16, 16, Sampling::S420, 75, 0, false);
    let sof = jpeg.windows(2).position(|m| m == [0xFF, 0xC0]).unwrap();

    for (w, h) in [(65535u16, 65535u16), (0, 16), (16, 0), (8193, 8192)] {
        let mut big = jpeg.clone();
        big[sof + 5..sof + 7].copy_from_slice(&h.to_be_bytes());
        big[sof + 7..sof + 9].copy_from_slice(&w.to_be_bytes());
        let want = JpegError::BadDimensions {
            width: w.into(),
            height: h.into(),
        };
        assert_eq!(dec.decode_rgb(&big, &mut out), Err(want.clone()));
        assert_eq!(MjpegDecoder::probe(&big), Err(want.clone()));
        let message = want.to_string();
        assert!(message.contains("8192*8192"), "{message}");
    }

    let mut twelve_bit = jpeg.clone();
    twelve_bit[sof + 4] = 12;
    assert!(matches!(
        dec.decode_rgb(&twelve_bit, &mut out),
        Err(JpegError::Unsupported(_))
    ));
    for (marker, what) in [
        (0xC2, "progressive"),
        (0xC3, "lossless"),
        (0xC9, "arithmetic"),
    ] {
        let mut other = jpeg.clone();
        other[sof + 1] = marker;
        let err = dec.decode_rgb(&other, &mut out).unwrap_err();
        assert!(err.to_string().contains(what), "{err}");
    }

    let mut progressive = Vec::new();
    let mut enc = jpeg_encoder::Encoder::new(&mut progressive, 75);
    enc.set_progressive(true);
    enc.encode(&img, 16, 16, jpeg_encoder::ColorType::Rgb)
        .unwrap();
    assert_eq!(
        dec.decode_rgb(&progressive, &mut out),
        Err(JpegError::Unsupported("progressive DCT"))
    );
}
