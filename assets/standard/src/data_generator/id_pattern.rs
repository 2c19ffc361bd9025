//! `set_id` / `id_start_key`: the `id` field drawn from a small regex subset (Teraslice uses
//! randexp): literal characters, `[...]` classes with ranges, `\d`, `\w`, and `{n}` repeats.
use rand::Rng;

pub const SET_IDS: &[&str] = &["base64url", "hexadecimal", "HEXADECIMAL"];

/// One position of the pattern: a character drawn from `chars`, `repeat` times.
#[derive(Debug, Clone, PartialEq)]
struct Atom {
    chars: Vec<char>,
    repeat: u32,
}

/// A parsed id pattern.
#[derive(Debug, Clone, PartialEq)]
pub struct IdPattern(Vec<Atom>);

fn range(a: char, b: char) -> Vec<char> {
    (a..=b).collect()
}

fn word_chars() -> Vec<char> {
    [range('a', 'z'), range('A', 'Z'), range('0', '9'), vec!['_']].concat()
}

impl IdPattern {
    /// `id_start_key` (if any) followed by the `set_id` pattern. Fixed on purpose: `base64url`
    /// is one of `[a-zA-Z1-9_-]` then 8 word characters (Teraslice emits `wwwwwwww`).
    pub fn new(set_id: &str, start: Option<&str>) -> Result<Self, String> {
        let mut atoms = match start {
            Some(s) => parse(s)?,
            None => Vec::new(),
        };
        match set_id {
            "hexadecimal" => atoms.push(Atom {
                chars: [range('0', '9'), range('a', 'f')].concat(),
                repeat: 8,
            }),
            "HEXADECIMAL" => atoms.push(Atom {
                chars: [range('0', '9'), range('A', 'F')].concat(),
                repeat: 8,
            }),
            "base64url" => {
                atoms.push(Atom {
                    chars: [
                        range('a', 'z'),
                        range('A', 'Z'),
                        range('1', '9'),
                        vec!['-', '_'],
                    ]
                    .concat(),
                    repeat: 1,
                });
                atoms.push(Atom {
                    chars: word_chars(),
                    repeat: 8,
                });
            }
            other => {
                return Err(format!(
                    "must be one of {}, got \"{other}\"",
                    SET_IDS.join(", ")
                ))
            }
        }
        Ok(IdPattern(atoms))
    }

    pub fn generate(&self, rng: &mut impl Rng) -> String {
        let mut out = String::new();
        for atom in &self.0 {
            for _ in 0..atom.repeat {
                if let Some(c) = atom.chars.get(rng.random_range(0..atom.chars.len())) {
                    out.push(*c);
                }
            }
        }
        out
    }
}

const UNSUPPORTED: &str =
    "supported: literal characters, [...] classes with ranges, \\d, \\w and {n} repeats";

fn parse(pattern: &str) -> Result<Vec<Atom>, String> {
    let mut atoms: Vec<Atom> = Vec::new();
    let mut it = pattern.chars().peekable();
    while let Some(c) = it.next() {
        let chars = match c {
            '\\' => escape(it.next())?,
            '[' => class(&mut it)?,
            '{' => {
                let mut n = String::new();
                for d in it.by_ref() {
                    if d == '}' {
                        break;
                    }
                    n.push(d);
                }
                let last = atoms
                    .last_mut()
                    .ok_or("a {n} repeat needs something before it")?;
                last.repeat = n
                    .parse()
                    .map_err(|_| format!("\"{{{n}}}\" is not a {{n}} repeat; {UNSUPPORTED}"))?;
                continue;
            }
            '(' | ')' | '|' | '*' | '+' | '?' | '.' | '^' | '$' | ']' | '}' => {
                return Err(format!("unsupported regex syntax \"{c}\"; {UNSUPPORTED}"))
            }
            other => vec![other],
        };
        atoms.push(Atom { chars, repeat: 1 });
    }
    Ok(atoms)
}

fn escape(c: Option<char>) -> Result<Vec<char>, String> {
    match c {
        Some('d') => Ok(range('0', '9')),
        Some('w') => Ok(word_chars()),
        Some(c) if !c.is_ascii_alphanumeric() => Ok(vec![c]),
        Some(c) => Err(format!("unsupported escape \"\\{c}\"; {UNSUPPORTED}")),
        None => Err(format!("a trailing \"\\\" escapes nothing; {UNSUPPORTED}")),
    }
}

fn class(it: &mut std::iter::Peekable<std::str::Chars<'_>>) -> Result<Vec<char>, String> {
    let mut chars = Vec::new();
    if it.peek() == Some(&'^') {
        return Err(format!(
            "negated classes [^...] are not supported; {UNSUPPORTED}"
        ));
    }
    loop {
        let c = match it.next() {
            None => return Err(format!("unclosed \"[\"; {UNSUPPORTED}")),
            Some(']') if !chars.is_empty() => break,
            Some('\\') => {
                chars.extend(escape(it.next())?);
                continue;
            }
            Some(c) => c,
        };
        let mut ahead = it.clone();
        match (ahead.next(), ahead.next()) {
            (Some('-'), Some(end)) if end != ']' => {
                if end < c {
                    return Err(format!("range \"{c}-{end}\" is out of order"));
                }
                chars.extend(range(c, end));
                it.next();
                it.next();
            }
            _ => chars.push(c),
        }
    }
    Ok(chars)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::rngs::StdRng;
    use rand::SeedableRng;

    #[test]
    fn start_key_prefixes_the_id() -> Result<(), String> {
        let mut rng = StdRng::seed_from_u64(1);
        let p = IdPattern::new("hexadecimal", Some("[ab]x{2}"))?;
        for _ in 0..50 {
            let id = p.generate(&mut rng);
            assert_eq!(id.len(), 11, "{id}");
            assert!(id.starts_with("axx") || id.starts_with("bxx"), "{id}");
        }
        assert!(IdPattern::new("hexadecimal", Some("(a|b)")).is_err());
        assert!(IdPattern::new("hexadecimal", Some("[z-a]")).is_err());
        Ok(())
    }
}
