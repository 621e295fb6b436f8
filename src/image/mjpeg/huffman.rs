//! Huffman code tables: construction from code-length counts and symbol decoding.

use super::bitreader::BitReader;
use super::error::JpegError;

/// Bits resolved by a single table lookup; longer codes take the slow path.
const LUT_BITS: u32 = 9;

/// A decoding table for one Huffman code (DC or AC), stored inline without heap memory.
#[derive(Clone)]
pub(crate) struct HuffmanTable {
    /// Indexed by the next `LUT_BITS` bits: `(length << 8) | symbol`, or 0 for longer codes.
    lut: [u16; 1 << LUT_BITS],
    /// Largest code of each length 1..=16 (index = length), -1 when the length has no codes.
    maxcode: [i32; 17],
    /// Added to a code of a given length to get its index into `values`.
    offset: [i32; 17],
    /// Symbols in code order.
    values: [u8; 256],
}

impl HuffmanTable {
    /// Builds a table from the 16 code-length counts and the symbols (as in a DHT segment).
    pub(crate) fn new(counts: &[u8; 16], symbols: &[u8]) -> Result<HuffmanTable, JpegError> {
        let total: usize = counts.iter().map(|&c| usize::from(c)).sum();
        if total > 256 || total != symbols.len() {
            return Err(JpegError::Invalid("Huffman table symbol count"));
        }
        let mut table = HuffmanTable {
            lut: [0; 1 << LUT_BITS],
            maxcode: [-1; 17],
            offset: [0; 17],
            values: [0; 256],
        };
        table.values[..total].copy_from_slice(symbols);
        let mut code: i32 = 0;
        let mut index: i32 = 0;
        for len in 1..=16u32 {
            let count = i32::from(counts[len as usize - 1]);
            table.offset[len as usize] = index - code;
            for _ in 0..count {
                if code >= 1 << len {
                    return Err(JpegError::Invalid(
                        "Huffman table has more codes than fit their lengths",
                    ));
                }
                if len <= LUT_BITS {
                    let shift = LUT_BITS - len;
                    let first = (code as usize) << shift;
                    let entry = (len as u16) << 8 | u16::from(symbols[index as usize]);
                    table.lut[first..first + (1 << shift)].fill(entry);
                }
                code += 1;
                index += 1;
            }
            if count > 0 {
                table.maxcode[len as usize] = code - 1;
            }
            code <<= 1;
        }
        Ok(table)
    }

    /// Decodes one symbol from `reader`.
    #[inline]
    pub(crate) fn decode(&self, reader: &mut BitReader<'_>) -> Result<u8, JpegError> {
        reader.refill();
        let bits = reader.peek16();
        let entry = self.lut[(bits >> (16 - LUT_BITS)) as usize];
        if entry != 0 {
            reader.consume(u32::from(entry >> 8));
            return Ok(entry as u8);
        }
        self.decode_long(reader, bits)
    }

    /// Slow path for codes longer than `LUT_BITS`.
    #[cold]
    fn decode_long(&self, reader: &mut BitReader<'_>, bits: u32) -> Result<u8, JpegError> {
        for len in LUT_BITS + 1..=16 {
            let code = (bits >> (16 - len)) as i32;
            if code <= self.maxcode[len as usize] {
                reader.consume(len);
                let index = code + self.offset[len as usize];
                return usize::try_from(index)
                    .ok()
                    .and_then(|i| self.values.get(i).copied())
                    .ok_or(JpegError::Invalid("bad Huffman code"));
            }
        }
        Err(JpegError::Invalid("bad Huffman code"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_short_and_long_codes() {
        // Lengths: one code of length 1 ("0" -> 7), one of length 12 ("100000000000" -> 9).
        let mut counts = [0u8; 16];
        counts[0] = 1;
        counts[11] = 1;
        let table = HuffmanTable::new(&counts, &[7, 9]).unwrap();
        let data = [0b0100_0000, 0b0000_0111, 0xFF, 0x00];
        let mut reader = BitReader::new(&data);
        assert_eq!(table.decode(&mut reader), Ok(7));
        assert_eq!(table.decode(&mut reader), Ok(9));
        assert!(table.decode(&mut reader).is_err());
    }

    #[test]
    fn rejects_overfull_tables() {
        let mut counts = [0u8; 16];
        counts[0] = 3;
        assert!(HuffmanTable::new(&counts, &[1, 2, 3]).is_err());
        assert!(HuffmanTable::new(&counts, &[1, 2]).is_err());
    }
}
