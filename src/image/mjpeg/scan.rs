//! Decodes one scan (SOS header plus entropy-coded data) into component planes.

use super::bitreader::BitReader;
use super::error::JpegError;
use super::frame::Frame;
use super::huffman::HuffmanTable;
use super::idct::{idct_block, Extent};
use super::markers::{find_marker, RST0};
use super::tables::{Tables, ZIGZAG};

/// Transposed (`u * 8 + v`) index of each zig-zag position, the IDCT's storage order.
const ZIGZAG_T: [usize; 64] = {
    let mut t = [0; 64];
    let mut k = 0;
    while k < 64 {
        t[k] = (ZIGZAG[k] % 8) * 8 + ZIGZAG[k] / 8;
        k += 1;
    }
    t
};

/// One dequantized coefficient block, stored transposed: `block[u][v]`.
type Block = [[f32; 8]; 8];

/// Per-component state of a scan.
struct ScanComp<'t> {
    /// Index of the component in frame order.
    index: usize,
    dc: &'t HuffmanTable,
    ac: &'t HuffmanTable,
    /// Quantization factors in transposed order (as the block).
    quant: [f32; 64],
    /// DC predictor.
    pred: i32,
}

/// Where a scan writes: one plane per frame component, and which components to reconstruct.
pub(crate) struct Planes<'p> {
    /// Component planes, each `plane_stride * plane_rows` bytes.
    pub data: &'p mut [Vec<u8>; 3],
    /// Components whose blocks are inverse-transformed; others are only entropy-decoded.
    pub keep: [bool; 3],
    /// Set for every component a scan has covered.
    pub decoded: [bool; 3],
}

/// Decodes the scan whose header is `header` and whose entropy-coded data starts at
/// `data[start..]`. Returns the offset of the marker that follows the scan (or `data.len()`).
pub(crate) fn decode_scan(
    data: &[u8],
    header: &[u8],
    start: usize,
    frame: &Frame,
    tables: &Tables,
    planes: &mut Planes<'_>,
) -> Result<usize, JpegError> {
    let mut comps = parse_header(header, frame, tables)?;
    let entropy = data.get(start..).ok_or(JpegError::Truncated("scan"))?;
    let mut reader = BitReader::new(entropy);
    let interleaved = comps.iter().flatten().count() > 1;
    let (mcus_x, mcus_y) = match &comps {
        [Some(only), None, None] => (
            frame.comp_width(only.index).div_ceil(8),
            frame.comp_height(only.index).div_ceil(8),
        ),
        _ => (frame.mcus_x, frame.mcus_y),
    };
    let mut block: Block = [[0.0; 8]; 8];
    let mut restarts = 0usize;
    for mcu in 0..mcus_x * mcus_y {
        if tables.restart_interval > 0 && mcu > 0 && mcu % tables.restart_interval == 0 {
            restart(entropy, &mut reader, restarts)?;
            restarts += 1;
            comps.iter_mut().flatten().for_each(|c| c.pred = 0);
        }
        let (mx, my) = (mcu % mcus_x, mcu / mcus_x);
        for comp in comps.iter_mut().flatten() {
            let c = frame.comps[comp.index];
            let (bh, bv) = if interleaved { (c.h, c.v) } else { (1, 1) };
            let stride = frame.plane_stride(comp.index);
            for v in 0..bv {
                for h in 0..bh {
                    let extent = decode_block(&mut reader, comp, &mut block)?;
                    if planes.keep[comp.index] {
                        let (bx, by) = (mx * bh + h, my * bv + v);
                        let plane = &mut planes.data[comp.index][by * 8 * stride + bx * 8..];
                        idct_block(&block, extent, plane, stride);
                    }
                    block = [[0.0; 8]; 8];
                }
            }
        }
        if reader.overrun() {
            return Err(JpegError::Truncated("entropy-coded data"));
        }
    }
    for comp in comps.iter().flatten() {
        planes.decoded[comp.index] = true;
    }
    Ok(find_marker(entropy, reader.position()).map_or(data.len(), |p| start + p))
}

/// Parses the SOS header into per-component decoding state.
fn parse_header<'t>(
    header: &[u8],
    frame: &Frame,
    tables: &'t Tables,
) -> Result<[Option<ScanComp<'t>>; 3], JpegError> {
    let count = usize::from(*header.first().ok_or(JpegError::Truncated("scan header"))?);
    if count == 0 || count > frame.count {
        return Err(JpegError::Invalid("scan component count"));
    }
    let specs = header
        .get(1..1 + 2 * count)
        .ok_or(JpegError::Truncated("scan header"))?;
    match header.get(1 + 2 * count..) {
        Some([0, 63, 0]) => {}
        Some([_, _, _]) => {
            return Err(JpegError::Invalid(
                "spectral selection or approximation in a sequential scan",
            ))
        }
        _ => return Err(JpegError::Truncated("scan header")),
    }
    let mut comps: [Option<ScanComp<'t>>; 3] = [None, None, None];
    let mut seen = [false; 3];
    for (slot, spec) in comps.iter_mut().zip(specs.chunks_exact(2)) {
        let index = frame.comps[..frame.count]
            .iter()
            .position(|c| c.id == spec[0])
            .ok_or(JpegError::Invalid("scan references an unknown component"))?;
        if std::mem::replace(&mut seen[index], true) {
            return Err(JpegError::Invalid("component repeated within a scan"));
        }
        let q = tables.quant(frame.comps[index].tq)?;
        *slot = Some(ScanComp {
            index,
            dc: tables.dc(usize::from(spec[1] >> 4))?,
            ac: tables.ac(usize::from(spec[1] & 0x0F))?,
            quant: std::array::from_fn(|t| f32::from(q[(t % 8) * 8 + t / 8])),
            pred: 0,
        });
    }
    Ok(comps)
}

/// Moves the reader past the restart marker expected after `done` earlier restarts.
fn restart(entropy: &[u8], reader: &mut BitReader<'_>, done: usize) -> Result<(), JpegError> {
    let expected = RST0 + (done % 8) as u8;
    match find_marker(entropy, reader.position()) {
        Some(p) if entropy[p + 1] == expected => {
            reader.reset(p + 2);
            Ok(())
        }
        Some(_) => Err(JpegError::Invalid("missing or out-of-order restart marker")),
        None => Err(JpegError::Truncated("entropy-coded data")),
    }
}

/// Decodes one block's coefficients, dequantized, into `block` (which must be all zero).
/// Returns which coefficients may be non-zero.
#[inline]
fn decode_block(
    reader: &mut BitReader<'_>,
    comp: &mut ScanComp<'_>,
    block: &mut Block,
) -> Result<Extent, JpegError> {
    let size = comp.dc.decode(reader)?;
    if size > 15 {
        return Err(JpegError::Invalid("DC difference category above 15"));
    }
    comp.pred = comp
        .pred
        .wrapping_add(reader.receive_extend(u32::from(size)));
    block[0][0] = comp.pred as f32 * comp.quant[0];
    let mut extent = Extent::Dc;
    let mut k = 1;
    while k < 64 {
        let rs = comp.ac.decode(reader)?;
        let (run, size) = (usize::from(rs >> 4), rs & 0x0F);
        if size == 0 {
            if run != 15 {
                break;
            }
            k += 16;
            continue;
        }
        k += run;
        let t = *ZIGZAG_T
            .get(k)
            .ok_or(JpegError::Invalid("AC coefficient index past 63"))?;
        let value = reader.receive_extend(u32::from(size));
        block[t >> 3][t & 7] = value as f32 * comp.quant[t];
        extent = extent.max(Extent::of_index(t));
        k += 1;
    }
    Ok(extent)
}
