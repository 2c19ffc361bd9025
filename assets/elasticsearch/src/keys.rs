//! Key-prefix walking for `id_reader` and `subslice_by_key` (teraslice-assets.md §4.1): a
//! depth-first walk over id prefixes, descending while a prefix matches more than `size` docs.
use std::collections::VecDeque;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyType {
    Base64Url,
    Base64,
    Hex,
    HexUpper,
}

const BASE64URL: &str = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
const BASE64: &str = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_+/";

impl KeyType {
    pub fn parse(s: &str) -> Option<KeyType> {
        match s {
            "base64url" => Some(KeyType::Base64Url),
            "base64" => Some(KeyType::Base64),
            "hexadecimal" => Some(KeyType::Hex),
            "HEXADECIMAL" => Some(KeyType::HexUpper),
            _ => None,
        }
    }
    /// The characters ids are made of, in walk order.
    pub fn alphabet(self) -> &'static str {
        match self {
            KeyType::Base64Url => BASE64URL,
            KeyType::Base64 => BASE64,
            KeyType::Hex => "0123456789abcdef",
            KeyType::HexUpper => "0123456789ABCDEF",
        }
    }
}

/// The prefixes still to visit, next first.
#[derive(Debug, Clone)]
pub struct KeyWalk {
    alphabet: Vec<char>,
    initial: Vec<String>,
    pending: VecDeque<String>,
}

impl KeyWalk {
    /// A walk over `roots`; `starting_key_depth` d > 0 starts at prefixes of max(2, d) characters
    /// (Teraslice caps this at 3; deeper values are honoured here).
    pub fn new(key_type: KeyType, roots: Vec<String>, starting_key_depth: u64) -> Self {
        let alphabet: Vec<char> = key_type.alphabet().chars().collect();
        let mut initial = roots;
        if starting_key_depth > 0 {
            let target = usize::try_from(starting_key_depth.max(2)).unwrap_or(2);
            while initial.iter().any(|k| k.chars().count() < target) {
                initial = initial
                    .into_iter()
                    .flat_map(|k| {
                        if k.chars().count() >= target {
                            vec![k]
                        } else {
                            alphabet.iter().map(|c| format!("{k}{c}")).collect()
                        }
                    })
                    .collect();
            }
        }
        let pending = initial.iter().cloned().collect();
        KeyWalk {
            alphabet,
            initial,
            pending,
        }
    }

    /// The roots slicer `id` of `n` gets: every n-th key of `keys`, starting at `id`.
    pub fn roots_for(keys: &[String], id: usize, n: usize) -> Vec<String> {
        keys.iter().skip(id).step_by(n.max(1)).cloned().collect()
    }

    pub fn next_prefix(&mut self) -> Option<String> {
        self.pending.pop_front()
    }

    /// `prefix` matched too many docs: visit its children next, in alphabet order.
    pub fn descend(&mut self, prefix: &str) {
        for c in self.alphabet.iter().rev() {
            self.pending.push_front(format!("{prefix}{c}"));
        }
    }

    /// Fast-forwards to just after `key` (the last completed slice's key): its children are not
    /// revisited. A key outside this walk leaves it unchanged.
    pub fn resume_after(&mut self, key: &str) {
        let Some(pos) = self
            .initial
            .iter()
            .position(|i| key.starts_with(i.as_str()))
        else {
            return;
        };
        let base = self.initial[pos].chars().count();
        let chars: Vec<char> = key.chars().collect();
        let mut pending = VecDeque::new();
        for len in (base + 1..=chars.len()).rev() {
            let parent: String = chars[..len - 1].iter().collect();
            let at = self
                .alphabet
                .iter()
                .position(|c| *c == chars[len - 1])
                .unwrap_or(self.alphabet.len());
            for c in self.alphabet.iter().skip(at + 1) {
                pending.push_back(format!("{parent}{c}"));
            }
        }
        pending.extend(self.initial.iter().skip(pos + 1).cloned());
        self.pending = pending;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn drain(w: &mut KeyWalk) -> Vec<String> {
        std::iter::from_fn(|| w.next_prefix()).collect()
    }

    #[test]
    fn descends_in_order_and_resumes_after_a_key() {
        let roots = KeyWalk::roots_for(&["a".into(), "b".into(), "c".into()], 0, 2);
        assert_eq!(roots, ["a", "c"]);
        let mut w = KeyWalk::new(KeyType::Hex, roots.clone(), 0);
        assert_eq!(w.next_prefix().as_deref(), Some("a"));
        w.descend("a");
        assert_eq!(w.next_prefix().as_deref(), Some("a0"));
        let mut r = KeyWalk::new(KeyType::Hex, roots, 0);
        r.resume_after("ae");
        assert_eq!(drain(&mut r), ["af", "c"]);
        let deep = KeyWalk::new(KeyType::Hex, vec!["a".into()], 3);
        assert_eq!(deep.pending.len(), 256);
        assert_eq!(deep.pending.front().map(String::as_str), Some("a00"));
    }
}
