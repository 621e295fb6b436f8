//! The reusable decoder: walks the marker segments and produces RGB or luma output.

use super::color::{grey_to_rgb, ycbcr_to_rgb, ChromaPlane};
use super::error::JpegError;
use super::frame::{is_sof, Frame};
use super::markers::{expect_soi, read_segment, Segment, DHT, DQT, DRI, EOI, SOS};
use super::scan::{decode_scan, Planes};
use super::tables::Tables;

/// Basic facts about a frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct JpegInfo {
    /// Width in pixels.
    pub width: usize,
    /// Height in pixels.
    pub height: usize,
    /// Colour components in the file: 1 (grey) or 3 (YCbCr).
    pub components: usize,
}

/// A baseline JPEG decoder whose buffers are kept between frames, so that decoding a frame
/// no larger than an earlier one performs no heap allocation.
pub struct MjpegDecoder {
    /// Quantization and Huffman tables, including the Annex K defaults.
    tables: Tables,
    /// Component planes at their own resolution, padded to whole MCUs.
    planes: [Vec<u8>; 3],
    /// Column-sum scratch row for upsampling.
    sums: Vec<u16>,
    /// Upsampled Cb row.
    cb_row: Vec<u8>,
    /// Upsampled Cr row.
    cr_row: Vec<u8>,
}

impl Default for MjpegDecoder {
    fn default() -> Self {
        Self::new()
    }
}

impl MjpegDecoder {
    /// Creates a decoder with empty buffers.
    pub fn new() -> Self {
        MjpegDecoder {
            tables: Tables::new(),
            planes: [Vec::new(), Vec::new(), Vec::new()],
            sums: Vec::new(),
            cb_row: Vec::new(),
            cr_row: Vec::new(),
        }
    }

    /// Header only: (width, height, components).
    pub fn probe(jpeg: &[u8]) -> Result<JpegInfo, JpegError> {
        let seg = frame_segment(jpeg)?;
        Frame::parse(seg.marker, seg.payload).map(|f| info(&f))
    }

    /// Decodes to interleaved RGB (width*height*3) into `out`, which is resized (reusing its capacity).
    pub fn decode_rgb(&mut self, jpeg: &[u8], out: &mut Vec<u8>) -> Result<JpegInfo, JpegError> {
        let frame = self.decode_planes(jpeg, true)?;
        let (width, height) = (frame.width, frame.height);
        out.resize(width * height * 3, 0);
        let luma_stride = frame.plane_stride(0);
        let rows = out.chunks_exact_mut(width * 3).enumerate();
        if frame.count == 1 {
            for (y, dst) in rows {
                grey_to_rgb(&self.planes[0][y * luma_stride..][..width], dst);
            }
            return Ok(info(&frame));
        }
        let [luma, cb, cr] = &self.planes;
        let cb = chroma(&frame, 1, cb);
        let cr = chroma(&frame, 2, cr);
        self.sums.resize(cb.width.max(cr.width), 0);
        self.cb_row.resize(width, 0);
        self.cr_row.resize(width, 0);
        for (y, dst) in rows {
            let cb_row = cb.upsample_row(y, &mut self.sums, &mut self.cb_row);
            let cr_row = cr.upsample_row(y, &mut self.sums, &mut self.cr_row);
            ycbcr_to_rgb(&luma[y * luma_stride..][..width], cb_row, cr_row, dst);
        }
        Ok(info(&frame))
    }

    /// Decodes only the luma plane (width*height) into `out`: the fast path for grey pipelines
    /// (chroma is entropy-decoded but not IDCT'd / upsampled/converted).
    pub fn decode_grey(&mut self, jpeg: &[u8], out: &mut Vec<u8>) -> Result<JpegInfo, JpegError> {
        let frame = self.decode_planes(jpeg, false)?;
        let (width, stride) = (frame.width, frame.plane_stride(0));
        out.resize(width * frame.height, 0);
        for (y, dst) in out.chunks_exact_mut(width).enumerate() {
            dst.copy_from_slice(&self.planes[0][y * stride..][..width]);
        }
        Ok(info(&frame))
    }

    /// Parses all segments and decodes every scan into the component planes.
    /// With `chroma` false only the luma plane is reconstructed.
    fn decode_planes(&mut self, jpeg: &[u8], chroma: bool) -> Result<Frame, JpegError> {
        let mut pos = expect_soi(jpeg)?;
        self.tables.reset();
        let mut frame: Option<Frame> = None;
        let mut decoded = [false; 3];
        loop {
            if let Some(f) = frame.filter(|f| decoded[..f.count].iter().all(|&d| d)) {
                return Ok(f);
            }
            let seg = read_segment(jpeg, pos)?;
            match seg.marker {
                m if is_sof(m) => {
                    if frame.is_some() {
                        return Err(JpegError::Invalid("more than one frame header"));
                    }
                    let f = Frame::parse(m, seg.payload)?;
                    self.allocate(&f, chroma);
                    frame = Some(f);
                }
                DQT => self.tables.parse_dqt(seg.payload)?,
                DHT => self.tables.parse_dht(seg.payload)?,
                DRI => self.tables.parse_dri(seg.payload)?,
                SOS => {
                    let f = frame
                        .as_ref()
                        .ok_or(JpegError::Invalid("scan before the frame header"))?;
                    let keep = [true, chroma, chroma];
                    let mut planes = Planes {
                        data: &mut self.planes,
                        keep,
                        decoded,
                    };
                    pos = decode_scan(jpeg, seg.payload, seg.end, f, &self.tables, &mut planes)?;
                    decoded = planes.decoded;
                    continue;
                }
                EOI => {
                    return Err(JpegError::Invalid(
                        "end of image before every component was decoded",
                    ))
                }
                _ => {}
            }
            pos = seg.end;
        }
    }

    /// Sizes the planes that will be reconstructed for `frame`; capacity is only ever grown.
    fn allocate(&mut self, frame: &Frame, chroma: bool) {
        let planes = if chroma { frame.count } else { 1 };
        for (i, plane) in self.planes.iter_mut().enumerate().take(planes) {
            plane.resize(frame.plane_stride(i) * frame.plane_rows(i), 0);
        }
    }
}

/// The public summary of a frame.
/// The frame header (SOFn) segment: the first one after SOI, before any scan.
fn frame_segment(jpeg: &[u8]) -> Result<Segment<'_>, JpegError> {
    let mut pos = expect_soi(jpeg)?;
    loop {
        let seg = read_segment(jpeg, pos)?;
        if is_sof(seg.marker) {
            return Ok(seg);
        }
        if matches!(seg.marker, SOS | EOI) {
            return Err(JpegError::Invalid("no frame header before the first scan"));
        }
        pos = seg.end;
    }
}

/// The (horizontal, vertical) sampling factors of each component in the
/// frame header of any JPEG, baseline or not; `None` when the header cannot
/// be read (the caller's decoder then says why).
pub(crate) fn sampling_factors(jpeg: &[u8]) -> Option<Vec<(u8, u8)>> {
    let payload = frame_segment(jpeg).ok()?.payload;
    let count = usize::from(*payload.get(5)?);
    (0..count)
        .map(|c| payload.get(7 + 3 * c).map(|hv| (hv >> 4, hv & 15)))
        .collect()
}

fn info(frame: &Frame) -> JpegInfo {
    JpegInfo {
        width: frame.width,
        height: frame.height,
        components: frame.count,
    }
}

/// Describes chroma component `i` of `frame` stored in `data`.
fn chroma<'a>(frame: &Frame, i: usize, data: &'a [u8]) -> ChromaPlane<'a> {
    let (ratio_h, ratio_v) = frame.ratio(i);
    ChromaPlane {
        data,
        stride: frame.plane_stride(i),
        width: frame.comp_width(i),
        height: frame.comp_height(i),
        ratio_h,
        ratio_v,
    }
}
