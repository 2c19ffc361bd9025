//! iptables, ip6tables and nftables state of the real node: every `KUBE-*` chain (the kubelet's
//! and kube-proxy's) and our guard chain, with the rules jumping to them, in every table; tables
//! kube-proxy created; iptables-nft tables left empty.
use std::io::Write;
use std::process::{Command, Stdio};

use anyhow::{bail, Context, Result};

use super::cni::{self, GUARD_CHAIN};

fn is_ours_chain(chain: &str) -> bool {
    chain.starts_with("KUBE-") || chain == GUARD_CHAIN
}

/// An `iptables-restore --noflush` script removing our chains and every rule jumping to them.
fn sweep_script(table: &str, saved: &str) -> Option<String> {
    let mut chains = Vec::new();
    let mut deletes = Vec::new();
    for line in saved.lines() {
        if let Some(chain) = line.strip_prefix(':').and_then(|l| l.split(' ').next()) {
            if is_ours_chain(chain) {
                chains.push(chain.to_string());
            }
        } else if let Some(rule) = line.strip_prefix("-A ") {
            let chain = rule.split(' ').next().unwrap_or_default();
            let words: Vec<&str> = rule.split(' ').collect();
            let jumps_to_ours = words
                .windows(2)
                .any(|w| (w[0] == "-j" || w[0] == "-g") && is_ours_chain(w[1]));
            if !is_ours_chain(chain) && jumps_to_ours {
                deletes.push(format!("-D {rule}"));
            }
        }
    }
    if chains.is_empty() && deletes.is_empty() {
        return None;
    }
    let mut script = format!("*{table}\n");
    for d in deletes {
        script.push_str(&d);
        script.push('\n');
    }
    for c in &chains {
        script.push_str(&format!("-F {c}\n"));
    }
    for c in &chains {
        script.push_str(&format!("-X {c}\n"));
    }
    script.push_str("COMMIT\n");
    Some(script)
}

fn save(bin: &str, table: &str) -> Option<String> {
    let out = Command::new(format!("{bin}-save"))
        .args(["-t", table])
        .stderr(Stdio::null())
        .output()
        .ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).into_owned())
}

pub fn sweep_iptables(bin: &str) -> Result<()> {
    for table in ["filter", "nat", "mangle", "raw"] {
        let Some(saved) = save(bin, table) else {
            continue;
        };
        let Some(script) = sweep_script(table, &saved) else {
            continue;
        };
        let mut child = Command::new(format!("{bin}-restore"))
            .args(["--noflush", "-w"])
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .with_context(|| format!("running {bin}-restore"))?;
        child
            .stdin
            .take()
            .context("restore stdin")?
            .write_all(script.as_bytes())?;
        let out = child.wait_with_output()?;
        if !out.status.success() {
            bail!(
                "{bin}-restore ({table}) failed: {}\n{script}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
    }
    Ok(())
}

/// kube-proxy's own nftables tables, then iptables-nft tables left empty (only builtin chains,
/// no rules): the machine is left as it was before the node.
pub fn sweep_nftables() -> Result<()> {
    let Ok(out) = Command::new("nft").args(["list", "tables"]).output() else {
        return Ok(()); // no nft: iptables-legacy, nothing more to do
    };
    let listed = String::from_utf8_lossy(&out.stdout).into_owned();
    for line in listed.lines() {
        let words: Vec<&str> = line.split_whitespace().collect();
        let [_, family, name] = words[..] else {
            continue;
        };
        let empty_iptables_table = match family {
            "ip" => is_empty_table("iptables", name),
            "ip6" => is_empty_table("ip6tables", name),
            _ => false,
        };
        if name == "kube-proxy" || empty_iptables_table {
            cni::run("nft", &["delete", "table", family, name])?;
        }
    }
    Ok(())
}

fn is_empty_table(bin: &str, table: &str) -> bool {
    const BUILTIN: [&str; 5] = ["PREROUTING", "INPUT", "FORWARD", "OUTPUT", "POSTROUTING"];
    if !["filter", "nat", "mangle", "raw"].contains(&table) {
        return false;
    }
    let Some(saved) = save(bin, table) else {
        return false;
    };
    saved.lines().all(|l| {
        !l.starts_with("-A ")
            && l.strip_prefix(':').is_none_or(|c| {
                let words: Vec<&str> = c.split(' ').collect();
                BUILTIN.contains(&words[0]) && words.get(1) == Some(&"ACCEPT")
            })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sweep_removes_our_chains_and_the_jumps_to_them_only() {
        let saved = "*filter
:INPUT ACCEPT [0:0]
:FORWARD ACCEPT [0:0]
:KUBE-FIREWALL - [0:0]
:OTHER - [0:0]
-A INPUT -m comment --comment \"kubernetes firewall\" -j KUBE-FIREWALL
-A INPUT -j OTHER
-A FORWARD -j TERASLICE-NODE-GUARD
-A KUBE-FIREWALL -j DROP
COMMIT
";
        let script = sweep_script("filter", saved).expect("script");
        assert_eq!(
            script,
            "*filter
-D INPUT -m comment --comment \"kubernetes firewall\" -j KUBE-FIREWALL
-D FORWARD -j TERASLICE-NODE-GUARD
-F KUBE-FIREWALL
-X KUBE-FIREWALL
COMMIT
"
        );
        assert_eq!(
            sweep_script("nat", "*nat\n:OUTPUT ACCEPT [0:0]\nCOMMIT\n"),
            None
        );
    }
}
