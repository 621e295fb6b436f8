//! Splits a JPEG byte stream into marker segments.

use super::error::JpegError;

/// Start of image.
pub(crate) const SOI: u8 = 0xD8;
/// End of image.
pub(crate) const EOI: u8 = 0xD9;
/// Start of scan.
pub(crate) const SOS: u8 = 0xDA;
/// Define quantization tables.
pub(crate) const DQT: u8 = 0xDB;
/// Define Huffman tables.
pub(crate) const DHT: u8 = 0xC4;
/// Define restart interval.
pub(crate) const DRI: u8 = 0xDD;
/// Baseline sequential DCT frame.
pub(crate) const SOF0: u8 = 0xC0;
/// Extended sequential DCT frame, Huffman coded.
pub(crate) const SOF1: u8 = 0xC1;
/// First restart marker; RST0..RST7 are 0xD0..0xD7.
pub(crate) const RST0: u8 = 0xD0;

/// One marker and the payload that follows its length field.
pub(crate) struct Segment<'a> {
    /// The marker code (the byte after 0xFF).
    pub marker: u8,
    /// Payload without the two length bytes; empty for stand-alone markers.
    pub payload: &'a [u8],
    /// Offset of the first byte after the segment.
    pub end: usize,
}

/// Checks that `data` starts with SOI and returns the offset after it.
pub(crate) fn expect_soi(data: &[u8]) -> Result<usize, JpegError> {
    match data {
        [] => Err(JpegError::Empty),
        [0xFF, SOI, ..] => Ok(2),
        _ => Err(JpegError::NotJpeg),
    }
}

/// Reads the segment starting at `pos`, which must hold a marker (fill bytes 0xFF allowed).
pub(crate) fn read_segment(data: &[u8], mut pos: usize) -> Result<Segment<'_>, JpegError> {
    if data.get(pos) != Some(&0xFF) {
        return match data.get(pos) {
            None => Err(JpegError::Truncated("marker segments")),
            Some(_) => Err(JpegError::Invalid("expected a marker")),
        };
    }
    while data.get(pos) == Some(&0xFF) {
        pos += 1;
    }
    let marker = *data
        .get(pos)
        .ok_or(JpegError::Truncated("marker segments"))?;
    pos += 1;
    if marker == 0x00 {
        return Err(JpegError::Invalid("expected a marker"));
    }
    if stands_alone(marker) {
        return Ok(Segment {
            marker,
            payload: &[],
            end: pos,
        });
    }
    let len_bytes = data
        .get(pos..pos + 2)
        .ok_or(JpegError::Truncated("segment length"))?;
    let len = usize::from(u16::from_be_bytes([len_bytes[0], len_bytes[1]]));
    if len < 2 {
        return Err(JpegError::Invalid("segment length below 2"));
    }
    let payload = data
        .get(pos + 2..pos + len)
        .ok_or(JpegError::Truncated("marker segment"))?;
    Ok(Segment {
        marker,
        payload,
        end: pos + len,
    })
}

/// Finds the next marker at or after `pos` inside entropy-coded data, skipping stuffed 0xFF00.
/// Returns the offset of its 0xFF byte, or `None` when the data ends first.
pub(crate) fn find_marker(data: &[u8], mut pos: usize) -> Option<usize> {
    while pos + 1 < data.len() {
        if data[pos] == 0xFF && data[pos + 1] != 0x00 && data[pos + 1] != 0xFF {
            return Some(pos);
        }
        pos += 1;
    }
    None
}

/// True for markers that carry no length field (SOI, EOI, RSTn, TEM).
fn stands_alone(marker: u8) -> bool {
    matches!(marker, SOI | EOI | 0x01 | 0xD0..=0xD7)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_segments_and_fill_bytes() {
        let data = [0xFF, 0xD8, 0xFF, 0xFF, 0xE0, 0x00, 0x04, 1, 2, 0xFF, 0xD9];
        assert_eq!(expect_soi(&data), Ok(2));
        let seg = read_segment(&data, 2).unwrap();
        assert_eq!((seg.marker, seg.payload, seg.end), (0xE0, &[1u8, 2][..], 9));
        let seg = read_segment(&data, 9).unwrap();
        assert_eq!((seg.marker, seg.end), (EOI, 11));
        assert!(read_segment(&data, 11).is_err());
    }

    #[test]
    fn finds_markers_past_stuffing() {
        let data = [1, 0xFF, 0x00, 2, 0xFF, 0xFF, 0xD3, 0];
        assert_eq!(find_marker(&data, 0), Some(5));
        assert_eq!(find_marker(&data[..6], 0), None);
    }
}
