//! One csv/tsv line: values split on a (possibly multi-character) delimiter, `"` quoting with
//! `""` escapes, as json2csv writes and csvtojson reads them.
pub fn split(line: &str, delim: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut field = String::new();
    let mut rest = line;
    let mut quoted = false;
    let mut at_start = true;
    loop {
        if quoted {
            match rest.find('"') {
                None => {
                    // An unterminated quote keeps the rest of the line.
                    field.push_str(rest);
                    out.push(std::mem::take(&mut field));
                    return out;
                }
                Some(q) => {
                    field.push_str(&rest[..q]);
                    rest = &rest[q + 1..];
                    if let Some(after) = rest.strip_prefix('"') {
                        field.push('"');
                        rest = after;
                    } else {
                        quoted = false;
                    }
                }
            }
            continue;
        }
        if at_start {
            at_start = false;
            if let Some(after) = rest.strip_prefix('"') {
                quoted = true;
                rest = after;
                continue;
            }
        }
        match rest.find(delim) {
            Some(d) => {
                field.push_str(&rest[..d]);
                out.push(std::mem::take(&mut field));
                rest = &rest[d + delim.len()..];
                at_start = true;
            }
            None => {
                field.push_str(rest);
                out.push(field);
                return out;
            }
        }
    }
}

/// Joins values, quoting those that hold the delimiter, a quote or a line break.
pub fn join(values: &[String], delim: &str, line_delim: &str) -> String {
    let quoted: Vec<String> = values
        .iter()
        .map(|v| {
            let needs = v.contains(delim)
                || v.contains('"')
                || v.contains('\n')
                || v.contains('\r')
                || v.contains(line_delim);
            if needs {
                format!("\"{}\"", v.replace('"', "\"\""))
            } else {
                v.clone()
            }
        })
        .collect();
    quoted.join(delim)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoted_values_round_trip() {
        let values = vec![
            "plain".to_string(),
            "a,b".into(),
            "say \"hi\"".into(),
            String::new(),
        ];
        let line = join(&values, ",", "\n");
        assert_eq!(line, "plain,\"a,b\",\"say \"\"hi\"\"\",");
        assert_eq!(split(&line, ","), values);
        assert_eq!(split("x||y", "||"), vec!["x", "y"]);
    }
}
