//! `qr-gen sheets`: the whole run, checked before anything is written.

use crate::font;
use crate::matrix::{self, Matrix};
use crate::output::{self, Progress};
use crate::pdf::{self, Card, Layout};
use crate::roster::{self, Col, Row, RowError};
use anyhow::{Context, Result, anyhow, bail};
use rayon::prelude::*;
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;
use wire::csv::line as csv_line;
use wire::directory::{Directory, Entry};
use wire::{BaseUrl, CodeId, Day, KeyPurpose, Keyring, QrPayload, Revocation, Revocations};

#[derive(clap::Args)]
pub struct Args {
    /// The roster: an Excel workbook (.xlsx, first sheet) or a CSV file (UTF-8 or GBK).
    pub roster: PathBuf,
    /// Where the codes point, e.g. https://pj.example.gov.cn/ (http:// only for 127.0.0.1).
    #[arg(long)]
    pub host: String,
    /// The QR key file made by `qr-gen keys new`.
    #[arg(long)]
    pub key: PathBuf,
    /// Output folder. Run again into the same folder after a roster change: unchanged rows keep
    /// their codes, and codes of removed rows go on the revocation list.
    #[arg(long)]
    pub out: PathBuf,
    /// Layout of sheets.pdf and the per-hall PDFs: a4 (8 cards a sheet, with cut marks) or tent
    /// (one table tent a page, to fold).
    #[arg(long, default_value = "a4")]
    pub layout: String,
    /// A CJK font (.ttf/.otf/.ttc, FILE#N for face N of a collection). Default: Noto Sans CJK SC.
    #[arg(long)]
    pub font: Option<String>,
    /// Worker threads (default: one per core).
    #[arg(long)]
    pub jobs: Option<usize>,
    /// Skip bad rows (and list them) instead of writing nothing.
    #[arg(long)]
    pub keep_going: bool,
    /// Issue date printed into new codes, YYYY-MM-DD (default: SOURCE_DATE_EPOCH's day, else today).
    #[arg(long)]
    pub issued: Option<String>,
}

/// One code to print. Its QR matrix lives in its [`Card`], which draws it and feeds the PNG.
struct Printed {
    row: Row,
    code: CodeId,
    issued: Day,
    url: String,
}

fn issue_day(arg: Option<&str>) -> Result<Day> {
    if let Some(s) = arg {
        return Day::parse(s).ok_or_else(|| anyhow!("--issued {s}: 日期应写成 YYYY-MM-DD"));
    }
    let secs = match std::env::var("SOURCE_DATE_EPOCH") {
        Ok(v) => v
            .trim()
            .parse::<i64>()
            .map_err(|_| anyhow!("SOURCE_DATE_EPOCH={v} 不是整数秒"))?,
        Err(_) => std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)?
            .as_secs() as i64,
    };
    Day::from_unix(secs).context("日期超出范围")
}

/// Codes of the previous run in `out` (from its manifest) with their issue days, when made with
/// the same key and host: an unchanged row keeps its exact payload.
fn previous_codes(out: &Path, base: &BaseUrl, ring: &Keyring, kid: u16) -> HashMap<CodeId, Day> {
    let Ok(bytes) = std::fs::read(out.join("manifest.csv")) else {
        return HashMap::new();
    };
    let Ok(records) = roster::read_csv(&bytes) else {
        return HashMap::new();
    };
    let mut it = records.into_iter();
    let Some((_, header)) = it.next() else {
        return HashMap::new();
    };
    let Some(url_col) = header.iter().position(|h| h == "url") else {
        return HashMap::new();
    };
    it.filter_map(|(_, r)| {
        let seg = r.get(url_col)?.strip_prefix(base.as_str())?;
        let p = QrPayload::open(seg, ring).ok()?;
        (p.kid == kid).then_some((p.code, p.issued))
    })
    .collect()
}

fn hall_file(region: &str, hall: &str) -> String {
    let clean: String = hall
        .chars()
        .map(|c| {
            if c.is_control() || "/\\:*?\"<>|".contains(c) {
                '_'
            } else {
                c
            }
        })
        .collect();
    format!("{region}-{}.pdf", clean.trim_matches(['.', ' ']))
}

pub fn run(a: &Args) -> Result<ExitCode> {
    let started = Instant::now();
    if let Some(j) = a.jobs {
        rayon::ThreadPoolBuilder::new()
            .num_threads(j.max(1))
            .build_global()
            .context("--jobs")?;
    }
    let plan = check(a, started)?;
    write(plan, started)?;
    Ok(ExitCode::SUCCESS)
}

/// A run checked end to end, nothing written yet: the arguments, the key, every roster row, and
/// every card's glyphs and fit. Only [`check`] makes one, and only [`write`] writes, so a bad run
/// writes nothing (unless `--keep-going` turned its bad rows into `skipped`).
struct Plan {
    out: PathBuf,
    roster: PathBuf,
    layout: Layout,
    layout_name: String,
    today: Day,
    /// Codes of the previous run in the output folder, with their issue days.
    previous: HashMap<CodeId, Day>,
    /// One card a printed code, in roster order.
    printed: Vec<Printed>,
    cards: Vec<Card>,
    fonts: font::Fonts,
    warnings: Vec<String>,
    skipped: Vec<RowError>,
    /// When encoding and checking ended, from the start.
    t_encode: std::time::Duration,
    t_checked: std::time::Duration,
    /// The key the codes are signed with, by id and fingerprint (directory.json carries it).
    key: wire::directory::KeyPrint,
}

/// The card faces, checked to have a glyph for every character of every card; a missing one is
/// named with the row and column it is in.
fn fonts_for(spec: Option<&str>, rows: &[Row]) -> Result<font::Fonts> {
    let fixed = [
        pdf::TITLE,
        pdf::PROMPT,
        pdf::WINDOW_ONLY,
        "窗口 工号：-0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ",
    ];
    let mut chars: BTreeSet<char> = fixed.iter().flat_map(|s| s.chars()).collect();
    for r in rows {
        for s in [&r.hall, &r.dept, &r.window] {
            chars.extend(s.chars());
        }
        if let Some((id, name)) = &r.staff {
            chars.extend(id.chars().chain(name.chars()));
        }
    }
    let chars: Vec<char> = chars.into_iter().collect();
    font::load(spec, &chars, |c| {
        rows.iter()
            .find_map(|r| {
                let fields = [
                    (Col::Hall, r.hall.as_str()),
                    (Col::Dept, r.dept.as_str()),
                    (Col::Window, r.window.as_str()),
                    (Col::StaffId, r.staff_id().unwrap_or("")),
                    (Col::StaffName, r.staff_name().unwrap_or("")),
                ];
                fields
                    .into_iter()
                    .find(|(_, v)| v.contains(c))
                    .map(|(col, v)| format!("第{}行「{}」的“{v}”中", r.line, col.zh()))
            })
            .unwrap_or_else(|| "卡片的固定文字中".into())
    })
}

fn report(errors: &[RowError]) {
    for e in errors {
        eprintln!("  {e}");
    }
}

fn check(a: &Args, started: Instant) -> Result<Plan> {
    let layout = Layout::parse(&a.layout).ok_or_else(|| anyhow!("--layout 只能是 a4 或 tent"))?;
    let base = BaseUrl::parse(&a.host).map_err(|e| anyhow!("--host {}：{e}", a.host))?;
    let key_text = std::fs::read_to_string(&a.key).with_context(|| {
        format!(
            "无法读取密钥文件 {}（用 qr-gen keys new 生成）",
            a.key.display()
        )
    })?;
    let ring = Keyring::parse(KeyPurpose::Qr, &key_text)
        .map_err(|e| anyhow!("{} 不是 QR 密钥文件：{e}", a.key.display()))?;
    let key = ring.current().clone();
    let today = issue_day(a.issued.as_deref())?;

    let mut roster = roster::read(&a.roster)?;
    for w in &roster.warnings {
        eprintln!("注意：{w}");
    }
    let mut skipped: Vec<RowError> = std::mem::take(&mut roster.errors);
    if !skipped.is_empty() && !a.keep_going {
        eprintln!("名册 {} 有 {} 处错误：", a.roster.display(), skipped.len());
        report(&skipped);
        bail!("未生成任何文件。请改正以上各行后重新运行，或加 --keep-going 跳过这些行");
    }

    // Encode every code (in parallel; order kept).
    let previous = previous_codes(&a.out, &base, &ring, key.kid);
    let coded: Vec<(Printed, Matrix)> = roster
        .rows
        .par_iter()
        .map(|row| {
            let code = row.code();
            let issued = previous.get(&code).copied().unwrap_or(today);
            let segment = QrPayload::seal(code, issued, &key);
            let matrix = matrix::encode(base.as_str(), &segment)?;
            Ok((
                Printed {
                    row: row.clone(),
                    code,
                    issued,
                    url: base.url(&segment),
                },
                matrix,
            ))
        })
        .collect::<Result<_>>()?;

    let t_encode = started.elapsed();
    let fonts = fonts_for(a.font.as_deref(), &roster.rows)?;

    // Fit each card's text; a row whose text cannot fit is a row error.
    let mut cards = Vec::with_capacity(coded.len());
    let mut kept = Vec::with_capacity(coded.len());
    let mut layout_errors = vec![];
    for (c, matrix) in coded {
        match Card::new(&fonts, &c.row, matrix, c.code.to_display()) {
            Ok(card) => {
                cards.push(card);
                kept.push(c);
            }
            Err((col, message)) => layout_errors.push(RowError {
                line: c.row.line,
                col,
                message,
            }),
        }
    }
    if !layout_errors.is_empty() {
        if !a.keep_going {
            eprintln!(
                "名册 {} 有 {} 行放不进卡片：",
                a.roster.display(),
                layout_errors.len()
            );
            report(&layout_errors);
            bail!("未生成任何文件。请缩短以上各行的文字，或加 --keep-going 跳过这些行");
        }
        skipped.extend(layout_errors);
    }
    if kept.is_empty() {
        bail!("没有可生成的二维码");
    }

    Ok(Plan {
        key: wire::directory::KeyPrint {
            kid: key.kid,
            fingerprint: key.fingerprint(),
        },
        out: a.out.clone(),
        roster: a.roster.clone(),
        layout,
        layout_name: a.layout.clone(),
        today,
        previous,
        printed: kept,
        cards,
        fonts,
        warnings: roster.warnings,
        skipped,
        t_encode,
        t_checked: started.elapsed(),
    })
}

/// The manifest: a line a printed code (UTF-8 with BOM, so Excel opens it right).
fn manifest(kept: &[Printed], cards: &[Card], layout: Layout) -> String {
    let mut manifest = String::from("\u{FEFF}");
    csv_line(
        &mut manifest,
        &[
            "row",
            "region_code",
            "hall",
            "window",
            "dept",
            "staff_id",
            "staff_name",
            "code",
            "url",
            "qr_version",
            "png",
            "pdf_page",
            "issued",
        ],
    );
    for (i, (c, card)) in kept.iter().zip(cards).enumerate() {
        let r = &c.row;
        csv_line(
            &mut manifest,
            &[
                &r.line.to_string(),
                &r.region,
                &r.hall,
                &r.window,
                &r.dept,
                r.staff_id().unwrap_or(""),
                r.staff_name().unwrap_or(""),
                &c.code.to_text(),
                &c.url,
                &card.matrix.version.to_string(),
                &format!("qr/{}.png", c.code.to_text()),
                &layout.page_of(i).to_string(),
                &c.issued.to_string(),
            ],
        );
    }
    manifest
}

/// The revocation list of the output folder, with the codes of the previous run that are no
/// longer in the roster added (valid until the end of today), and those codes.
fn withdraw(
    out: &Path,
    previous: &HashMap<CodeId, Day>,
    kept: &[Printed],
    today: Day,
) -> Result<(Revocations, Vec<CodeId>)> {
    let mut revocations = match std::fs::read_to_string(out.join("revocations.json")) {
        Ok(t) => Revocations::from_json(&t)
            .map_err(|e| anyhow!("{}：{e}", out.join("revocations.json").display()))?,
        Err(_) => Revocations::default(),
    };
    let current: HashSet<CodeId> = kept.iter().map(|c| c.code).collect();
    let mut withdrawn: Vec<CodeId> = previous
        .keys()
        .filter(|c| !current.contains(c))
        .copied()
        .collect();
    withdrawn.sort();
    let tomorrow = Day(today.0.saturating_add(1));
    for code in &withdrawn {
        let r = Revocation::Code {
            code: *code,
            issued_before: Some(tomorrow),
        };
        if !revocations.entries.contains(&r) {
            revocations.entries.push(r);
        }
    }
    Ok((revocations, withdrawn))
}

/// The PNG of every code and the PDFs (all cards, and one a hall), into fresh `qr/` and `halls/`
/// folders; returns the number of halls and the size of `sheets.pdf`.
fn print_files(
    out: &Path,
    kept: &[Printed],
    cards: &[Card],
    fonts: &font::Fonts,
    layout: Layout,
) -> Result<(usize, u64)> {
    for dir in ["qr", "halls"] {
        let d = out.join(dir);
        if d.exists() {
            std::fs::remove_dir_all(&d).with_context(|| format!("无法清理 {}", d.display()))?;
        }
        std::fs::create_dir_all(&d).with_context(|| format!("无法创建 {}", d.display()))?;
    }
    let mut halls: Vec<((String, String), Vec<usize>)> = vec![];
    let mut hall_index: HashMap<(&str, &str), usize> = HashMap::new();
    for (i, c) in kept.iter().enumerate() {
        let k = (c.row.region.as_str(), c.row.hall.as_str());
        let h = *hall_index.entry(k).or_insert_with(|| {
            halls.push(((k.0.to_string(), k.1.to_string()), vec![]));
            halls.len() - 1
        });
        halls[h].1.push(i);
    }
    let sheet_title = match layout {
        Layout::A4 => "政务服务“好差评”评价二维码",
        Layout::Tent => "政务服务“好差评”评价桌牌",
    };
    let mut jobs: Vec<(PathBuf, Vec<&Card>, String)> = vec![(
        out.join("sheets.pdf"),
        cards.iter().collect(),
        sheet_title.into(),
    )];
    for ((region, hall), idx) in &halls {
        jobs.push((
            out.join("halls").join(hall_file(region, hall)),
            idx.iter().map(|&i| &cards[i]).collect(),
            format!("{hall} {sheet_title}"),
        ));
    }
    // PNG files (mostly waiting on the file system) and PDFs (all computing) at the same time.
    let png_progress = Progress::new("二维码", kept.len());
    let pdf_progress = Progress::new("PDF", jobs.len());
    let (pngs, sizes) = rayon::join(
        || {
            kept.par_iter()
                .zip(cards)
                .try_for_each(|(c, card)| -> Result<()> {
                    let path = out.join("qr").join(format!("{}.png", c.code.to_text()));
                    std::fs::write(&path, output::png(&card.matrix)?)
                        .with_context(|| format!("无法写入 {}", path.display()))?;
                    png_progress.inc();
                    Ok(())
                })
        },
        || {
            jobs.par_iter()
                .map(|(path, cards, title)| -> Result<u64> {
                    let bytes = pdf::render(fonts, cards, layout, title)?;
                    std::fs::write(path, &bytes)
                        .with_context(|| format!("无法写入 {}", path.display()))?;
                    pdf_progress.inc();
                    Ok(bytes.len() as u64)
                })
                .collect::<Result<Vec<u64>>>()
        },
    );
    pngs?;
    let sizes = sizes?;
    png_progress.done(&format!("{} 个 PNG", kept.len()));
    pdf_progress.done(&format!("{} 个 PDF", jobs.len()));
    Ok((halls.len(), sizes[0]))
}

/// Writes a checked run: the PNGs, the PDFs, the manifest, the directory, the revocations and
/// the summary.
fn write(plan: Plan, started: Instant) -> Result<()> {
    let Plan {
        out,
        roster,
        layout,
        layout_name,
        today,
        previous,
        printed: kept,
        cards,
        fonts,
        warnings,
        skipped,
        t_encode,
        t_checked,
        key,
    } = plan;
    let (halls, sheets_size) = print_files(&out, &kept, &cards, &fonts, layout)?;
    let t_pdf = started.elapsed();

    let manifest = manifest(&kept, &cards, layout);
    let mut directory = Directory::new(
        kept.iter()
            .map(|c| Entry {
                code: c.code,
                region: c.row.region.clone(),
                hall: c.row.hall.clone(),
                window: c.row.window.clone(),
                dept: c.row.dept.clone(),
                staff_id: c.row.staff_id().map(str::to_string),
                staff_name: c.row.staff_name().map(str::to_string),
                matters: c.row.matters.clone(),
                dept_code: c.row.dept_code.clone(),
            })
            .collect(),
    );
    directory.keys = vec![key];
    let (revocations, withdrawn) = withdraw(&out, &previous, &kept, today)?;
    std::fs::write(out.join("manifest.csv"), manifest)?;
    std::fs::write(out.join("directory.json"), directory.to_json())?;
    std::fs::write(out.join("revocations.json"), revocations.to_json())?;

    // Summary.
    let mut versions: BTreeMap<i16, usize> = BTreeMap::new();
    for card in &cards {
        *versions.entry(card.matrix.version).or_default() += 1;
    }
    let staff = kept.iter().filter(|c| c.row.staff.is_some()).count();
    let mut s = String::new();
    s.push_str(&format!("名册：{}\n", roster.display()));
    s.push_str(&format!(
        "二维码：{} 个（工作人员 {staff}，窗口 {}），大厅 {} 个\n",
        kept.len(),
        kept.len() - staff,
        halls
    ));
    s.push_str(&format!(
        "QR 版本：{}（纠错等级 M）\n",
        versions
            .iter()
            .map(|(v, n)| format!("版本{v} × {n}"))
            .collect::<Vec<_>>()
            .join("，")
    ));
    s.push_str(&format!(
        "PDF：sheets.pdf {} 页 {:.1} MB（{}），halls/ {} 个\n",
        layout.page_of(kept.len() - 1),
        sheets_size as f64 / 1e6,
        layout_name,
        halls
    ));
    if !withdrawn.is_empty() {
        s.push_str(&format!(
            "停用：{} 个旧二维码已不在名册中，已加入 revocations.json\n",
            withdrawn.len()
        ));
    }
    for w in &warnings {
        s.push_str(&format!("注意：{w}\n"));
    }
    if !skipped.is_empty() {
        s.push_str(&format!("跳过 {} 行（--keep-going）：\n", skipped.len()));
        for e in &skipped {
            s.push_str(&format!("  {e}\n"));
        }
    }
    s.push_str(&format!("字体：{}\n", fonts.regular.name));
    std::fs::write(out.join("summary.txt"), &s)?;
    // Timing goes to the terminal only: the files stay byte-identical from run to run.
    s.push_str(&format!(
        "用时：{:.2} 秒（读名册与编码 {:.2}，字体与排版 {:.2}，PNG 与 PDF {:.2}）\n",
        started.elapsed().as_secs_f64(),
        t_encode.as_secs_f64(),
        (t_checked - t_encode).as_secs_f64(),
        (t_pdf - t_checked).as_secs_f64(),
    ));
    print!("{s}");
    println!("打印文件：{}", out.join("sheets.pdf").display());
    Ok(())
}
