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

/// The roster's columns, under `qr-gen sheets --help` (ROSTER.md has the whole of it).
const ROSTER_HELP: &str =
    "名册（The roster）: .xlsx (first sheet) or .csv (UTF-8 or GBK); row 1 is the header:
  区划代码  required  6 to 9 digits, e.g. 330102
  大厅      required  the hall's name, at most 30 characters
  窗口单位  required  the department at the window, at most 50
  窗口号    required  e.g. A01, at most 12
  工号      optional  leave 工号 and 姓名 empty for one code for the window
  姓名      optional  at most 20
  事项      optional  编码:名称;编码:名称, e.g. 330102-SC-001:食品经营许可（新办）
  统一社会信用代码  optional  the unit's 18 characters, checked (the provincial mapping's deptCode)
English headers work too: region_code, hall, dept, window, staff_id, staff_name, matters, dept_code.
A sample: samples/roster.xlsx and samples/roster.csv; the rules: ROSTER.md (both in the archive).";

#[derive(Subcommand)]
enum Command {
    /// Keys: for signing QR codes, and the edge's challenge and upstream keys.
    Keys {
        #[command(subcommand)]
        command: KeysCommand,
    },
    /// Turn a roster (.xlsx or .csv) into sheets.pdf (cards, or table tents with --layout tent),
    /// per-hall PDFs, PNGs, a manifest, the edge's directory and the revocation list.
    #[command(after_help = ROSTER_HELP)]
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
    let secret = format!("{}_KEYS", purpose.as_str().to_ascii_uppercase());
    if in_release() {
        // The operator's archive: zsp.env is where the service reads it.
        println!(
            "把文件中的这一行文字填入 zsp.env 的 {secret}= 之后（多把密钥用逗号分隔，换钥时在末尾追加新密钥），"
        );
        println!(
            "然后运行 zsp check。密钥文件与 zsp.env 一起离线另存一份：丢失后已印制的二维码全部失效。"
        );
    } else {
        println!("把它交给 edge 作为机密（多把密钥用逗号分隔，轮换时先追加新密钥）：");
        println!("  npx wrangler secret put {secret} < {}", out.display());
        println!("本地运行时写入 edge/.dev.vars 的 {secret}=… 一行。");
    }
    Ok(())
}

/// Run from the operator's archive (`zsp` and `zsp.env.example` beside this program), not from a
/// checkout (whose build folder has a `zsp` too).
fn in_release() -> bool {
    std::env::current_exe()
        .ok()
        .and_then(|p| {
            p.parent()
                .map(|d| d.join("zsp").is_file() && d.join("zsp.env.example").is_file())
        })
        .unwrap_or(false)
}
