//! Byte-range slices of a file and reading the lines of one range.
//!
//! Slice `i` owns the lines that *start* in `[i*size, (i+1)*size)`. Its request starts
//! `delimiter.len()` bytes early (Teraslice's `getOffsets`), so the fetcher, which drops
//! everything up to the first delimiter unless `offset == 0`, also sees a line that starts
//! exactly on the boundary; it reads past the end of the range to finish the last line.
use std::fs::File;
use std::io::{self, BufRead, BufReader, Read, Seek, SeekFrom};

use serde::{Deserialize, Serialize};

/// One slice request of `file_reader`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileSlice {
    pub path: String,
    pub offset: u64,
    pub length: u64,
    pub total: u64,
}

/// The number of byte-range slices of a file of `total` bytes.
pub fn chunk_count(size: u64, total: u64) -> u64 {
    total.div_ceil(size)
}

/// `(offset, length)` of chunk `i` (Teraslice `getOffsets`); needs `size > delim_len`.
pub fn chunk(i: u64, size: u64, total: u64, delim_len: u64) -> (u64, u64) {
    let end = ((i + 1) * size).min(total);
    let offset = if i == 0 { 0 } else { i * size - delim_len };
    (offset, end - offset)
}

/// Reads up to and including the next `delim` (or to EOF); returns (bytes read, found).
fn read_through(r: &mut impl BufRead, delim: &[u8], out: &mut Vec<u8>) -> io::Result<(u64, bool)> {
    let Some(&last) = delim.last() else {
        return Ok((0, false));
    };
    let start = out.len();
    loop {
        let n = r.read_until(last, out)?;
        if n == 0 {
            return Ok(((out.len() - start) as u64, false));
        }
        if out[start..].ends_with(delim) {
            return Ok(((out.len() - start) as u64, true));
        }
    }
}

/// The raw lines (without delimiter) that slice `s` owns.
pub fn read_lines(s: &FileSlice, delim: &[u8]) -> io::Result<Vec<Vec<u8>>> {
    let mut file = File::open(&s.path)?;
    file.seek(SeekFrom::Start(s.offset))?;
    let mut r = BufReader::with_capacity(64 * 1024, file);
    let end = s.offset + s.length;
    let mut pos = s.offset;
    if s.offset != 0 {
        let mut skipped = Vec::new();
        let (n, found) = read_through(&mut r, delim, &mut skipped)?;
        if !found {
            return Ok(Vec::new());
        }
        pos += n;
    }
    let mut lines = Vec::new();
    while pos < end {
        let mut line = Vec::new();
        let (n, found) = read_through(&mut r, delim, &mut line)?;
        if n == 0 {
            break;
        }
        pos += n;
        if found {
            line.truncate(line.len() - delim.len());
        }
        lines.push(line);
        if !found {
            break;
        }
    }
    Ok(lines)
}

/// The whole file (`json` format and `file_per_slice`).
pub fn read_all(path: &str) -> io::Result<Vec<u8>> {
    let mut out = Vec::new();
    File::open(path)?.read_to_end(&mut out)?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunks_match_teraslice_get_offsets() {
        // Teraslice's documented example: size 300, total 1000, "\n".
        let got: Vec<_> = (0..chunk_count(300, 1000))
            .map(|i| chunk(i, 300, 1000, 1))
            .collect();
        assert_eq!(got, vec![(0, 300), (299, 301), (599, 301), (899, 101)]);
        assert_eq!(chunk_count(300, 0), 0);
        assert_eq!(chunk_count(300, 100), 1);
    }
}
