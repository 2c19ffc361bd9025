//! Collects measurements and renders docs/benchmarks.md.
use std::fmt::Write;

pub struct Row {
    pub metric: String,
    pub value: String,
    pub baseline: String,
    pub ratio: String,
}

pub struct Section {
    pub title: String,
    pub intro: String,
    pub rows: Vec<Row>,
}

pub struct Report {
    sections: Vec<Section>,
}

impl Report {
    pub fn new() -> Self {
        Report { sections: vec![] }
    }

    pub fn section(&mut self, title: &str, intro: &str) -> &mut Section {
        self.sections.push(Section {
            title: title.into(),
            intro: intro.into(),
            rows: vec![],
        });
        let last = self.sections.len() - 1;
        &mut self.sections[last]
    }

    pub fn markdown(&self) -> String {
        let mut out = String::from("# Benchmarks\n\n");
        let _ = writeln!(
            out,
            "Written by `cargo xtask bench` on {} ({} CPUs). Every figure is measured side by side with its \
             baseline in the same run, because these machines are noisy: compare the **ratio** column between \
             runs, not the absolute numbers. Nothing here is asserted by a test.\n",
            chrono::Utc::now().format("%Y-%m-%d %H:%M UTC"),
            std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1)
        );
        for s in &self.sections {
            let _ = writeln!(out, "## {}\n\n{}\n", s.title, s.intro);
            out.push_str(
                "| measurement | value | baseline (same run) | ratio |\n|---|---|---|---|\n",
            );
            for r in &s.rows {
                let _ = writeln!(
                    out,
                    "| {} | {} | {} | {} |",
                    r.metric, r.value, r.baseline, r.ratio
                );
            }
            out.push('\n');
        }
        out
    }
}

impl Section {
    pub fn row(&mut self, metric: &str, value: String, baseline: String, ratio: String) {
        self.rows.push(Row {
            metric: metric.into(),
            value,
            baseline,
            ratio,
        });
    }
}

pub fn ratio(value: f64, baseline: f64) -> String {
    if baseline > 0.0 {
        format!("{:.2}", value / baseline)
    } else {
        "n/a".into()
    }
}
