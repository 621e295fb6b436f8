//! Quantization and Huffman tables (DQT, DHT) and the restart interval (DRI) of a frame.

use super::error::JpegError;
use super::huffman::HuffmanTable;
use super::std_tables as k3;

/// Natural (row-major) index of each zig-zag position.
pub(crate) const ZIGZAG: [usize; 64] = [
    0, 1, 8, 16, 9, 2, 3, 10, 17, 24, 32, 25, 18, 11, 4, 5, 12, 19, 26, 33, 40, 48, 41, 34, 27, 20,
    13, 6, 7, 14, 21, 28, 35, 42, 49, 56, 57, 50, 43, 36, 29, 22, 15, 23, 30, 37, 44, 51, 58, 59,
    52, 45, 38, 31, 39, 46, 53, 60, 61, 54, 47, 55, 62, 63,
];

/// Tables defined so far in the current frame, plus the Annex K defaults.
pub(crate) struct Tables {
    /// Quantization tables in natural order.
    quant: [[u16; 64]; 4],
    quant_defined: [bool; 4],
    dc: [HuffmanTable; 4],
    ac: [HuffmanTable; 4],
    dc_defined: [bool; 4],
    ac_defined: [bool; 4],
    /// Annex K tables: DC luma, DC chroma.
    std_dc: [HuffmanTable; 2],
    /// Annex K tables: AC luma, AC chroma.
    std_ac: [HuffmanTable; 2],
    /// MCUs between restart markers; 0 disables restarts.
    pub restart_interval: usize,
}

impl Tables {
    /// Creates an empty set whose Huffman slots 0 and 1 fall back to Annex K.
    pub(crate) fn new() -> Tables {
        let luma_dc = build(&k3::LUMA_DC_COUNTS, &k3::DC_SYMBOLS);
        let chroma_dc = build(&k3::CHROMA_DC_COUNTS, &k3::DC_SYMBOLS);
        let luma_ac = build(&k3::LUMA_AC_COUNTS, &k3::LUMA_AC_SYMBOLS);
        let chroma_ac = build(&k3::CHROMA_AC_COUNTS, &k3::CHROMA_AC_SYMBOLS);
        Tables {
            quant: [[0; 64]; 4],
            quant_defined: [false; 4],
            dc: [
                luma_dc.clone(),
                chroma_dc.clone(),
                luma_dc.clone(),
                chroma_dc.clone(),
            ],
            ac: [
                luma_ac.clone(),
                chroma_ac.clone(),
                luma_ac.clone(),
                chroma_ac.clone(),
            ],
            dc_defined: [false; 4],
            ac_defined: [false; 4],
            std_dc: [luma_dc, chroma_dc],
            std_ac: [luma_ac, chroma_ac],
            restart_interval: 0,
        }
    }

    /// Forgets the previous frame's tables and restart interval.
    pub(crate) fn reset(&mut self) {
        self.quant_defined = [false; 4];
        self.dc_defined = [false; 4];
        self.ac_defined = [false; 4];
        self.restart_interval = 0;
    }

    /// Stores the tables of a DQT segment.
    pub(crate) fn parse_dqt(&mut self, mut payload: &[u8]) -> Result<(), JpegError> {
        while let [pq_tq, rest @ ..] = payload {
            let id = usize::from(pq_tq & 0x0F);
            if id > 3 {
                return Err(JpegError::Invalid("quantization table id above 3"));
            }
            let wide = match pq_tq >> 4 {
                0 => false,
                1 => true,
                _ => return Err(JpegError::Invalid("quantization table precision")),
            };
            let size = if wide { 128 } else { 64 };
            let values = rest
                .get(..size)
                .ok_or(JpegError::Truncated("quantization table"))?;
            for (k, &natural) in ZIGZAG.iter().enumerate() {
                self.quant[id][natural] = if wide {
                    u16::from_be_bytes([values[2 * k], values[2 * k + 1]])
                } else {
                    u16::from(values[k])
                };
            }
            self.quant_defined[id] = true;
            payload = &rest[size..];
        }
        Ok(())
    }

    /// Stores the tables of a DHT segment.
    pub(crate) fn parse_dht(&mut self, mut payload: &[u8]) -> Result<(), JpegError> {
        while let [tc_th, rest @ ..] = payload {
            let id = usize::from(tc_th & 0x0F);
            if id > 3 {
                return Err(JpegError::Invalid("Huffman table id above 3"));
            }
            let counts: &[u8; 16] = rest
                .get(..16)
                .and_then(|c| c.try_into().ok())
                .ok_or(JpegError::Truncated("Huffman table"))?;
            let total: usize = counts.iter().map(|&c| usize::from(c)).sum();
            let symbols = rest
                .get(16..16 + total)
                .ok_or(JpegError::Truncated("Huffman table"))?;
            let table = HuffmanTable::new(counts, symbols)?;
            match tc_th >> 4 {
                0 => {
                    self.dc[id] = table;
                    self.dc_defined[id] = true;
                }
                1 => {
                    self.ac[id] = table;
                    self.ac_defined[id] = true;
                }
                _ => return Err(JpegError::Invalid("Huffman table class")),
            }
            payload = &rest[16 + total..];
        }
        Ok(())
    }

    /// Stores the restart interval of a DRI segment.
    pub(crate) fn parse_dri(&mut self, payload: &[u8]) -> Result<(), JpegError> {
        match payload {
            [hi, lo] => {
                self.restart_interval = usize::from(u16::from_be_bytes([*hi, *lo]));
                Ok(())
            }
            _ => Err(JpegError::Invalid("DRI segment length")),
        }
    }

    /// Quantization table `id`, which the frame must have defined.
    pub(crate) fn quant(&self, id: usize) -> Result<&[u16; 64], JpegError> {
        match self.quant_defined.get(id) {
            Some(true) => Ok(&self.quant[id]),
            _ => Err(JpegError::Invalid(
                "component uses an undefined quantization table",
            )),
        }
    }

    /// DC table `id`, or the Annex K default for ids 0 and 1 when the frame defined none.
    pub(crate) fn dc(&self, id: usize) -> Result<&HuffmanTable, JpegError> {
        pick(&self.dc, &self.dc_defined, &self.std_dc, id)
    }

    /// AC table `id`, or the Annex K default for ids 0 and 1 when the frame defined none.
    pub(crate) fn ac(&self, id: usize) -> Result<&HuffmanTable, JpegError> {
        pick(&self.ac, &self.ac_defined, &self.std_ac, id)
    }
}

/// Chooses a defined table, else the standard one, else an error.
fn pick<'a>(
    tables: &'a [HuffmanTable; 4],
    defined: &[bool; 4],
    standard: &'a [HuffmanTable; 2],
    id: usize,
) -> Result<&'a HuffmanTable, JpegError> {
    match (defined.get(id), standard.get(id)) {
        (Some(true), _) => Ok(&tables[id]),
        (_, Some(table)) => Ok(table),
        _ => Err(JpegError::Invalid("scan uses an undefined Huffman table")),
    }
}

/// Builds one of the constant Annex K tables, which are valid by construction.
fn build(counts: &[u8; 16], symbols: &[u8]) -> HuffmanTable {
    match HuffmanTable::new(counts, symbols) {
        Ok(table) => table,
        Err(_) => unreachable!("Annex K tables are well-formed"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn standard_tables_build() {
        let tables = Tables::new();
        assert!(tables.dc(1).is_ok() && tables.ac(1).is_ok());
        assert!(tables.dc(2).is_err() && tables.ac(3).is_err());
        assert!(tables.quant(0).is_err());
    }

    #[test]
    fn parses_16_bit_dqt() {
        let mut tables = Tables::new();
        let mut seg = vec![0x11];
        seg.extend((0..64u16).flat_map(|k| (k + 300).to_be_bytes()));
        tables.parse_dqt(&seg).unwrap();
        let q = tables.quant(1).unwrap();
        assert_eq!((q[0], q[1], q[8], q[63]), (300, 301, 302, 363));
    }
}
