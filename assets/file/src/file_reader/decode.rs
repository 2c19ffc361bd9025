//! Lines → records, shared by `file_reader` and `s3_reader`: the csv header rule, the per-format
//! decoding, and the whole-file path (json, `file_per_slice`, compressed files).
use serde_json::Value;

use crate::file_format::{decode_json_file, decode_line, parse_header, FileConfig, Format};

/// A decoded line, or the line and why it could not be decoded.
pub type Decoded = Result<Value, (String, String)>;

/// Whether decoding a slice needs the file's first line (csv/tsv header).
pub fn needs_first_line(cfg: &FileConfig, at_start: bool) -> bool {
    matches!(cfg.format, Format::Csv | Format::Tsv)
        && (cfg.fields.is_empty() || (cfg.remove_header && at_start))
}

/// The lines of a whole text, borrowed from it: split on the delimiter, one trailing delimiter
/// dropped.
pub fn split_lines<'a>(bytes: &'a [u8], delim: &[u8]) -> Vec<&'a [u8]> {
    if bytes.is_empty() {
        return Vec::new();
    }
    if delim.is_empty() {
        return vec![bytes];
    }
    let body = bytes.strip_suffix(delim).unwrap_or(bytes);
    let mut out = Vec::new();
    let mut rest = body;
    while let Some(at) = find(rest, delim) {
        out.push(&rest[..at]);
        rest = &rest[at + delim.len()..];
    }
    out.push(rest);
    out
}

/// Where `delim` (not empty) first starts in `bytes`.
pub fn find(bytes: &[u8], delim: &[u8]) -> Option<usize> {
    match delim {
        [b] => bytes.iter().position(|c| c == b),
        _ => bytes.windows(delim.len()).position(|w| w == delim),
    }
}

/// Decodes a slice's `lines`; `first_line` is the file's first line when
/// [`needs_first_line`], `at_start` whether the slice begins the file.
pub fn decode_lines<L: AsRef<[u8]>>(
    cfg: &FileConfig,
    lines: Vec<L>,
    first_line: Option<&[u8]>,
    at_start: bool,
) -> Vec<Decoded> {
    let mut header = cfg.fields.clone();
    let mut skip_first = false;
    if let Some(first) = first_line {
        // Without `fields` the file's first line names the columns.
        let names = parse_header(cfg, &String::from_utf8_lossy(first));
        skip_first = at_start && (header.is_empty() || names == header);
        if header.is_empty() {
            header = names;
        }
    }
    let mut out = Vec::with_capacity(lines.len());
    for (i, raw) in lines.into_iter().enumerate() {
        if i == 0 && skip_first {
            continue;
        }
        // Parsed in place: a line is copied only when it cannot be decoded.
        let line = match std::str::from_utf8(raw.as_ref()) {
            Ok(line) => line,
            Err(_) => {
                let shown = String::from_utf8_lossy(raw.as_ref()).into_owned();
                out.push(Err((shown, "not valid UTF-8".to_string())));
                continue;
            }
        };
        if line.trim().is_empty() {
            continue;
        }
        out.push(decode_line(cfg, line, &header).map_err(|e| (line.to_string(), e)));
    }
    out
}

/// The records of a whole (already decompressed) file.
pub fn decode_whole(cfg: &FileConfig, bytes: &[u8]) -> Vec<Decoded> {
    if cfg.format == Format::Json {
        let text = String::from_utf8_lossy(bytes);
        return match decode_json_file(&text) {
            Ok(items) => items.into_iter().map(Ok).collect(),
            Err(e) => vec![Err((text.chars().take(200).collect(), e))],
        };
    }
    let lines = split_lines(bytes, cfg.line_delimiter.as_bytes());
    let first = needs_first_line(cfg, true)
        .then(|| lines.first().copied())
        .flatten();
    decode_lines(cfg, lines, first, true)
}

#[cfg(test)]
mod tests {
    use super::split_lines;

    #[test]
    fn split_drops_one_trailing_delimiter_only() {
        assert_eq!(split_lines(b"a\nb\n", b"\n"), vec![&b"a"[..], b"b"]);
        assert_eq!(split_lines(b"a\r\nb", b"\r\n"), vec![&b"a"[..], b"b"]);
        assert_eq!(split_lines(b"a\n\n", b"\n"), vec![&b"a"[..], b""]);
        assert!(split_lines(b"", b"\n").is_empty());
    }
}
