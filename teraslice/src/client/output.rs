//! Tables for people, JSON for scripts.
use comfy_table::{presets::UTF8_BORDERS_ONLY, Table};
use serde_json::Value;

/// Prints `value` as pretty JSON, or `rows` as a table of `columns`.
pub fn print(json: bool, value: &Value, columns: &[&str]) {
    if json {
        println!(
            "{}",
            serde_json::to_string_pretty(value).unwrap_or_default()
        );
        return;
    }
    let rows: Vec<&Value> = match value {
        Value::Array(items) => items.iter().collect(),
        other => vec![other],
    };
    let mut table = Table::new();
    table
        .load_preset(UTF8_BORDERS_ONLY)
        .set_header(columns.to_vec());
    for row in rows {
        table.add_row(
            columns
                .iter()
                .map(|c| cell(row.get(*c)))
                .collect::<Vec<_>>(),
        );
    }
    println!("{table}");
}

pub fn cell(v: Option<&Value>) -> String {
    match v {
        None | Some(Value::Null) => "N/A".into(),
        Some(Value::String(s)) => s.clone(),
        Some(other) => other.to_string(),
    }
}
