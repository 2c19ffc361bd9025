//! The one place secrets are taken out of text that is displayed or stored: credentials in URLs
//! (`https://user:pw@host` → `https://<redacted>@host`) and the value of `Authorization` headers
//! (`Authorization: Basic …` → `Authorization: <redacted>`). Used wherever a URL or a failure
//! can be shown: logs, errors, `_failureReason`.
pub const REDACTED: &str = "<redacted>";

/// `text` with every URL's userinfo and every `Authorization` header value replaced.
pub fn redact(text: &str) -> String {
    redact_headers(&redact_userinfo(text))
}

/// `scheme://user:pw@host…` → `scheme://<redacted>@host…`, for every URL in `text`.
fn redact_userinfo(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find("://") {
        let (head, tail) = rest.split_at(i + 3);
        out.push_str(head);
        // The authority ends at the first `/`, `?`, `#` or whitespace (or a quote around it).
        let end = tail
            .find(|c: char| {
                matches!(c, '/' | '?' | '#' | '"' | '\'' | '<' | '>') || c.is_whitespace()
            })
            .unwrap_or(tail.len());
        let authority = &tail[..end];
        match authority.rfind('@') {
            Some(at) => {
                out.push_str(REDACTED);
                out.push_str(&authority[at..]);
            }
            None => out.push_str(authority),
        }
        rest = &tail[end..];
    }
    out.push_str(rest);
    out
}

/// `Authorization: <value>` / `authorization=<value>` / `"authorization": "<value>"`, any case:
/// the value (up to the end of the line, a quote or a comma) is replaced.
fn redact_headers(text: &str) -> String {
    const NAME: &str = "authorization";
    let lower = text.to_ascii_lowercase();
    let mut out = String::with_capacity(text.len());
    let mut pos = 0;
    while let Some(found) = lower[pos..].find(NAME) {
        let name_end = pos + found + NAME.len();
        out.push_str(&text[pos..name_end]);
        let after = &text[name_end..];
        // The separator: optional quote, then `:` or `=`, then spaces and an optional quote.
        let sep_len = after
            .char_indices()
            .take_while(|(_, c)| matches!(c, '"' | '\'' | ':' | '=' | ' '))
            .map(|(i, c)| i + c.len_utf8())
            .last()
            .unwrap_or(0);
        let sep = &after[..sep_len];
        if !sep.contains([':', '=']) {
            pos = name_end;
            continue;
        }
        out.push_str(sep);
        let value = &after[sep_len..];
        let value_len = value
            .find(['\n', '\r', '"', '\'', ',', '}'])
            .unwrap_or(value.len());
        if value_len > 0 {
            out.push_str(REDACTED);
        }
        pos = name_end + sep_len + value_len;
    }
    out.push_str(&text[pos..]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn userinfo_is_taken_out_of_every_url() {
        assert_eq!(
            redact("cannot reach https://elastic:s3cr3t@es.example.com:9243/x, then http://u@h"),
            "cannot reach https://<redacted>@es.example.com:9243/x, then http://<redacted>@h"
        );
        assert_eq!(
            redact("error sending request for url (http://a:b@127.0.0.1:9/_bulk)"),
            "error sending request for url (http://<redacted>@127.0.0.1:9/_bulk)"
        );
        let plain = "http://es:9200/index?q=a@b";
        assert_eq!(redact(plain), plain, "an @ after the host is not userinfo");
    }

    #[test]
    fn authorization_values_are_taken_out() {
        assert_eq!(
            redact("headers: {\"Authorization\": \"Basic dTpw\", \"accept\": \"json\"}"),
            "headers: {\"Authorization\": \"<redacted>\", \"accept\": \"json\"}"
        );
        assert_eq!(
            redact("authorization: ApiKey abc\nnext"),
            "authorization: <redacted>\nnext"
        );
        assert_eq!(redact("no authorization given"), "no authorization given");
    }
}
