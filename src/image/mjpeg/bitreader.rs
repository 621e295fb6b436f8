//! Bit reader over entropy-coded JPEG data: removes byte stuffing and stops at markers.

/// Reads bits MSB-first from an entropy-coded segment.
///
/// At a marker or the end of the data it supplies zero bits and counts them, so that
/// reading past the real data can be detected with [`BitReader::overrun`].
pub(crate) struct BitReader<'a> {
    data: &'a [u8],
    /// Offset of the next unread byte; stays on a marker's 0xFF once one is reached.
    pos: usize,
    /// Buffered bits, left-aligned.
    acc: u64,
    /// Number of valid bits in `acc`.
    nbits: u32,
    /// Zero bits appended after the real data (they are the last `padded` bits of the stream).
    padded: u32,
}

impl<'a> BitReader<'a> {
    /// Starts reading `data` at its first byte.
    pub(crate) fn new(data: &'a [u8]) -> BitReader<'a> {
        BitReader {
            data,
            pos: 0,
            acc: 0,
            nbits: 0,
            padded: 0,
        }
    }

    /// Offset of the next byte not yet loaded into the bit buffer.
    pub(crate) fn position(&self) -> usize {
        self.pos
    }

    /// Drops buffered bits and continues at byte offset `pos` (after a restart marker).
    pub(crate) fn reset(&mut self, pos: usize) {
        self.pos = pos;
        self.acc = 0;
        self.nbits = 0;
        self.padded = 0;
    }

    /// True once bits past the end of the real entropy-coded data have been consumed.
    pub(crate) fn overrun(&self) -> bool {
        self.nbits < self.padded
    }

    /// Tops the buffer up to at least 57 bits.
    #[inline]
    pub(crate) fn refill(&mut self) {
        if self.nbits > 56 {
            return;
        }
        // Fast path: the next eight bytes hold no 0xFF, so whole bytes load at once.
        if let Some(chunk) = self.data.get(self.pos..self.pos + 8) {
            let word = u64::from_be_bytes(chunk.try_into().unwrap_or([0xFF; 8]));
            let has_ff = (!word).wrapping_sub(0x0101_0101_0101_0101) & word & 0x8080_8080_8080_8080;
            if has_ff == 0 {
                let bits = (64 - self.nbits) / 8 * 8;
                self.acc |= (word >> (64 - bits)) << (64 - self.nbits - bits);
                self.nbits += bits;
                self.pos += bits as usize / 8;
                return;
            }
        }
        while self.nbits <= 56 {
            let byte = self.next_byte();
            self.acc |= u64::from(byte) << (56 - self.nbits);
            self.nbits += 8;
        }
    }

    /// Returns the next data byte, undoing 0xFF00 stuffing, or a padding zero at a marker.
    #[inline]
    fn next_byte(&mut self) -> u8 {
        match self.data.get(self.pos) {
            Some(&0xFF) => {
                if self.data.get(self.pos + 1) == Some(&0x00) {
                    self.pos += 2;
                    0xFF
                } else {
                    self.pad()
                }
            }
            Some(&byte) => {
                self.pos += 1;
                byte
            }
            None => self.pad(),
        }
    }

    /// Supplies a zero byte past the real data.
    #[cold]
    fn pad(&mut self) -> u8 {
        self.padded = self.padded.saturating_add(8);
        0
    }

    /// The next 16 bits, without consuming them; call `refill` first.
    #[inline]
    pub(crate) fn peek16(&self) -> u32 {
        (self.acc >> 48) as u32
    }

    /// Consumes `n` bits (at most the number buffered).
    #[inline]
    pub(crate) fn consume(&mut self, n: u32) {
        let n = n.min(self.nbits);
        self.acc = self.acc.checked_shl(n).unwrap_or(0);
        self.nbits -= n;
    }

    /// Reads `n` bits (0..=16) as an unsigned value; call `refill` first.
    #[inline]
    pub(crate) fn bits(&mut self, n: u32) -> u32 {
        if n == 0 {
            return 0;
        }
        let value = (self.acc >> (64 - n)) as u32;
        self.consume(n);
        value
    }

    /// Reads an `n`-bit magnitude and sign-extends it as in JPEG's EXTEND procedure (n <= 16).
    #[inline]
    pub(crate) fn receive_extend(&mut self, n: u32) -> i32 {
        if n == 0 {
            return 0;
        }
        self.refill_if_below(n);
        let value = self.bits(n) as i32;
        if value < 1 << (n - 1) {
            value - (1 << n) + 1
        } else {
            value
        }
    }

    /// Refills when fewer than `n` bits are buffered.
    #[inline]
    fn refill_if_below(&mut self, n: u32) {
        if self.nbits < n {
            self.refill();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unstuffs_and_pads_at_markers() {
        let data = [0xAB, 0xFF, 0x00, 0xCD, 0xFF, 0xD0, 0x12];
        let mut r = BitReader::new(&data);
        r.refill();
        assert_eq!(r.bits(8), 0xAB);
        assert_eq!(r.bits(16), 0xFFCD);
        assert!(!r.overrun());
        assert_eq!(r.position(), 4);
        assert_eq!(r.bits(1), 0);
        assert!(r.overrun());
    }

    #[test]
    fn fast_and_slow_refill_agree() {
        let data: Vec<u8> = (0..40u8)
            .map(|i| i.wrapping_mul(37))
            .chain([0xFF, 0x00, 0x12, 0xFF, 0xD9])
            .collect();
        let mut r = BitReader::new(&data);
        let mut bytes = Vec::new();
        for _ in 0..21 {
            r.refill();
            bytes.push(r.bits(8) as u8);
            r.refill();
            bytes.push(r.bits(3) as u8);
            r.consume(5);
        }
        let unstuffed: Vec<u8> = data[..40].iter().copied().chain([0xFF, 0x12]).collect();
        let want: Vec<u8> = (0..21)
            .flat_map(|i| [unstuffed[2 * i], unstuffed[2 * i + 1] >> 5])
            .collect();
        assert_eq!(bytes, want);
        assert!(!r.overrun());
        r.refill();
        r.bits(1);
        assert!(r.overrun());
    }

    #[test]
    fn extends_signs() {
        let data = [0b0110_0000];
        let mut r = BitReader::new(&data);
        assert_eq!(r.receive_extend(2), -2);
        assert_eq!(r.receive_extend(2), 2);
    }
}
