//! `qr-gen`: from a staff roster to print-ready QR sheets for a whole city.
//!
//! ```text
//! qr-gen keys new --kid 3301 --out 3301.key
//! qr-gen keys new --purpose challenge --kid 1 --out challenge.key   # for the edge's secrets
//! qr-gen sheets 名册.xlsx --host https://pj.example.gov.cn/ --key 3301.key --out 输出
//! ```

use qr_gen::{sample, sheets};

use anyhow::{Context, Result, bail};
use clap::{Parser, Subcommand};
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use wire::{Key, KeyPurpose};

#[derive(Parser)]
#[command(
    name = "qr-gen",
    version,
    about = "从工作人员名册生成可打印的“好差评”评价二维码"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Keys: for signing QR codes, and the edge's challenge and upstream keys.
    Keys {
        #[command(subcommand)]
        command: KeysCommand,
    },
    /// Turn a roster (.xlsx or .csv) into sheets.pdf (cards, or table tents with --layout tent),
    /// per-hall PDFs, PNGs, a manifest, the edge's directory and the revocation list.
    Sheets(sheets::Args),
    /// Write a realistic generated roster (for demos and benchmarks).
    #[command(hide = true)]
    Sample {
        #[arg(long, default_value_t = 3400)]
        rows: usize,
        #[arg(long)]
        out: PathBuf,
    },
}

#[derive(Subcommand)]
enum KeysCommand {
    /// Make a new random key (file mode 0600): a QR key per issuing authority by default.
    New {
        /// Key id, 0–65535: for QR keys one per issuing authority (e.g. the county's region code
        /// suffix); for the others a new one at each rotation.
        #[arg(long)]
        kid: u16,
        /// qr (printed codes), challenge (the edge's anti-abuse challenges) or upstream (signing
        /// forwarded ratings; shared with the receiving platform).
        #[arg(long, default_value = "qr", value_parser = purpose)]
        purpose: KeyPurpose,
        /// Where to write the key; an existing file is never overwritten.
        #[arg(long)]
        out: PathBuf,
    },
}

/// `--purpose`, in the key files' own words.
fn purpose(s: &str) -> Result<KeyPurpose, &'static str> {
    KeyPurpose::parse(s).ok_or("must be qr, challenge or upstream")
}

fn main() -> ExitCode {
    match run() {
        Ok(code) => code,
        Err(e) => {
            eprintln!("qr-gen: 错误：{e:#}");
            ExitCode::FAILURE
        }
    }
}

fn run() -> Result<ExitCode> {
    match Cli::parse().command {
        Command::Keys {
            command: KeysCommand::New { kid, purpose, out },
        } => {
            keys_new(purpose, kid, &out)?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Sheets(args) => sheets::run(&args),
        Command::Sample { rows, out } => {
            std::fs::write(&out, sample::city_roster(rows))?;
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn keys_new(purpose: KeyPurpose, kid: u16, out: &PathBuf) -> Result<()> {
    let mut secret = [0u8; 32];
    getrandom::fill(&mut secret).map_err(|e| anyhow::anyhow!("no system randomness: {e}"))?;
    let key = Key::new(purpose, kid, secret);
    if out.exists() {
        bail!(
            "{} 已存在：为防止覆盖已在用的密钥，请换一个文件名",
            out.display()
        );
    }
    if let Some(dir) = out.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)?;
    }
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o600);
    let mut f = opts
        .open(out)
        .with_context(|| format!("无法创建 {}", out.display()))?;
    writeln!(f, "{}", key.to_text())?;
    println!(
        "已生成密钥 {}（编号 {kid}），文件权限 0600，请妥善保管。",
        out.display()
    );
    println!();
    println!("把它交给 edge 作为机密（多把密钥用逗号分隔，轮换时先追加新密钥）：");
    let secret = format!("{}_KEYS", purpose.as_str().to_ascii_uppercase());
    println!("  npx wrangler secret put {secret} < {}", out.display());
    println!("本地运行时写入 edge/.dev.vars 的 {secret}=… 一行。");
    Ok(())
}
