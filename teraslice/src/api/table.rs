//! Text tables as Teraslice's `/txt` routes print them (easy-table): columns two spaces apart,
//! a header and a dash line unless `headers=false`, `N/A` for missing values.
use serde_json::Value;

use crate::master::search::Query;

/// The columns: `fields=a,b` or the route's defaults.
pub fn fields(q: &Query, defaults: &[&str]) -> Vec<String> {
    match q.get("fields").filter(|f| !f.trim().is_empty()) {
        Some(f) => f
            .split(',')
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty())
            .collect(),
        None => defaults.iter().map(|s| s.to_string()).collect(),
    }
}

fn cell(doc: &Value, field: &str) -> String {
    match doc.get(field) {
        None | Some(Value::Null) => "N/A".to_string(),
        Some(Value::String(s)) => s.clone(),
        Some(other) => other.to_string(),
    }
}

pub fn render(rows: &[Value], fields: &[String], headers: bool) -> String {
    let cells: Vec<Vec<String>> = rows
        .iter()
        .map(|r| fields.iter().map(|f| cell(r, f)).collect())
        .collect();
    let widths: Vec<usize> = fields
        .iter()
        .enumerate()
        .map(|(i, f)| {
            let data = cells
                .iter()
                .map(|r| r[i].chars().count())
                .max()
                .unwrap_or(0);
            if headers {
                data.max(f.chars().count())
            } else {
                data
            }
        })
        .collect();
    let line = |vals: Vec<String>| -> String {
        let padded: Vec<String> = vals
            .iter()
            .zip(&widths)
            .map(|(v, w)| format!("{v:<w$}"))
            .collect();
        padded.join("  ").trim_end().to_string()
    };
    let mut out = Vec::new();
    if headers {
        out.push(line(fields.to_vec()));
        out.push(line(widths.iter().map(|w| "-".repeat(*w)).collect()));
    }
    if cells.is_empty() {
        out.push(String::new());
    }
    for r in cells {
        out.push(line(r));
    }
    out.join("\n") + "\n"
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn columns_align_and_missing_values_print_na() {
        let rows = vec![
            json!({"name": "a", "workers": 10}),
            json!({"name": "long-name"}),
        ];
        let fields = vec!["name".to_string(), "workers".to_string()];
        assert_eq!(
            render(&rows, &fields, true),
            "name       workers\n---------  -------\na          10\nlong-name  N/A\n"
        );
        assert_eq!(
            render(&rows, &fields, false),
            "a          10\nlong-name  N/A\n"
        );
    }
}
