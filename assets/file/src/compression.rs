//! The `compression` setting of the `file` asset: `none`, `gzip` (RFC 1952, `flate2`) or `lz4`
//! (the LZ4 frame format the `lz4` CLI reads, `lz4` crate). A compressed file is always read
//! whole: a byte range of it cannot be decoded on its own.
use std::io::{self, Read, Write};

/// How file contents are compressed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Compression {
    #[default]
    None,
    Gzip,
    Lz4,
}

impl Compression {
    pub fn from_name(name: &str) -> Option<Self> {
        match name {
            "none" => Some(Compression::None),
            "gzip" => Some(Compression::Gzip),
            "lz4" => Some(Compression::Lz4),
            _ => None,
        }
    }

    /// The file name suffix Teraslice adds (`.gz`, `.lz4`, or none).
    pub fn suffix(self) -> &'static str {
        match self {
            Compression::None => "",
            Compression::Gzip => ".gz",
            Compression::Lz4 => ".lz4",
        }
    }

    pub fn compress(self, data: Vec<u8>) -> io::Result<Vec<u8>> {
        match self {
            Compression::None => Ok(data),
            Compression::Gzip => {
                let out = Vec::with_capacity(data.len() / 4 + 64);
                let mut enc = flate2::write::GzEncoder::new(out, flate2::Compression::default());
                enc.write_all(&data)?;
                enc.finish()
            }
            Compression::Lz4 => {
                let out = Vec::with_capacity(data.len() / 3 + 64);
                let mut enc = lz4::EncoderBuilder::new().build(out)?;
                enc.write_all(&data)?;
                let (out, done) = enc.finish();
                done.map(|()| out)
            }
        }
    }

    /// The decompressed contents; concatenated gzip members / LZ4 frames are read in turn.
    pub fn decompress(self, data: Vec<u8>) -> io::Result<Vec<u8>> {
        let mut out = Vec::with_capacity(data.len() * 3);
        match self {
            Compression::None => return Ok(data),
            Compression::Gzip => {
                flate2::read::MultiGzDecoder::new(&data[..]).read_to_end(&mut out)?;
            }
            Compression::Lz4 => {
                let mut rest = &data[..];
                while !rest.is_empty() {
                    let mut dec = lz4::Decoder::new(rest)?;
                    dec.read_to_end(&mut out)?;
                    let (r, done) = dec.finish();
                    done?;
                    rest = r;
                }
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gzip_and_lz4_round_trip_including_concatenated_members() {
        let text = b"{\"a\":1}\n{\"b\":2}\n".repeat(100);
        for c in [Compression::None, Compression::Gzip, Compression::Lz4] {
            let packed = c.compress(text.clone()).expect("compress");
            if c != Compression::None {
                assert_ne!(packed, text, "{c:?} changed nothing");
            }
            let mut twice = packed.clone();
            twice.extend_from_slice(&packed);
            let mut expected = text.clone();
            expected.extend_from_slice(&text);
            assert_eq!(c.decompress(twice).expect("decompress"), expected, "{c:?}");
        }
    }

    #[test]
    fn gzip_output_is_rfc1952() {
        let packed = Compression::Gzip.compress(b"x\n".to_vec()).expect("gzip");
        assert_eq!(&packed[..2], &[0x1f, 0x8b]);
        let lz4 = Compression::Lz4.compress(b"x\n".to_vec()).expect("lz4");
        assert_eq!(&lz4[..4], &[0x04, 0x22, 0x4d, 0x18], "LZ4 frame magic");
    }

    #[test]
    fn corrupt_input_is_an_error() {
        assert!(Compression::Gzip.decompress(b"not gzip".to_vec()).is_err());
        assert!(Compression::Lz4.decompress(b"not lz4!".to_vec()).is_err());
    }
}
