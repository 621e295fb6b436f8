//! Frames without DHT (UVC "AVI1" MJPEG) must decode with the Annex K tables.

use crate::common::*;
use siamedge::image::MjpegDecoder;

#[test]
fn stripped_dht_decodes_identically() {
    let mut dec = MjpegDecoder::new();
    for sampling in ALL_SAMPLINGS {
        for (w, h, restart) in [(33, 17, 0), (640, 480, 4)] {
            let img = rgb_image(Pattern::Shapes, w, h, 2);
            let jpeg = encode(&img, w, h, sampling, 75, restart, false);
            let stripped = strip_dht(&jpeg);
            assert!(
                stripped.len() < jpeg.len(),
                "{sampling:?}: encoder wrote no DHT"
            );
            assert!(
                !stripped.windows(2).any(|m| m == [0xFF, 0xC4]),
                "DHT left in stream"
            );
            let (mut a, mut b) = (Vec::new(), Vec::new());
            dec.decode_rgb(&jpeg, &mut a).unwrap();
            dec.decode_rgb(&stripped, &mut b).unwrap();
            assert_eq!(a, b, "{sampling:?} {w}x{h}: RGB differs without DHT");
            dec.decode_grey(&jpeg, &mut a).unwrap();
            dec.decode_grey(&stripped, &mut b).unwrap();
            assert_eq!(a, b, "{sampling:?} {w}x{h}: luma differs without DHT");
        }
    }
}

#[test]
fn tables_do_not_leak_between_frames() {
    // A frame with optimized (non-standard) tables must not affect a later DHT-less frame.
    let img = rgb_image(Pattern::Noise, 48, 32, 3);
    let custom = encode(&img, 48, 32, Sampling::S420, 80, 0, true);
    let standard = encode(&img, 48, 32, Sampling::S420, 80, 0, false);
    let mut dec = MjpegDecoder::new();
    let (mut want, mut got) = (Vec::new(), Vec::new());
    dec.decode_rgb(&standard, &mut want).unwrap();
    dec.decode_rgb(&custom, &mut got).unwrap();
    dec.decode_rgb(&strip_dht(&standard), &mut got).unwrap();
    assert_eq!(want, got);
}
