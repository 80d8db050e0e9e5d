//! The command as an administrator meets it: bad rosters, bad options, Excel input, reruns.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const HOST: &str = "https://pj.example.gov.cn/";
const HEADER: &str = "区划代码,大厅,窗口单位,窗口号,工号,姓名,事项\n";

fn qr_gen(args: &[&str], epoch: &str) -> Output {
    Command::new(env!("CARGO_BIN_EXE_qr-gen"))
        .args(args)
        .env("SOURCE_DATE_EPOCH", epoch)
        .output()
        .expect("qr-gen runs")
}

struct Case {
    dir: PathBuf,
    key: String,
}

impl Case {
    fn new(name: &str) -> Case {
        let dir = std::env::temp_dir().join(format!("qr-gen-cli-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let key = dir.join("k.key").to_string_lossy().into_owned();
        assert!(
            qr_gen(&["keys", "new", "--kid", "7", "--out", &key], "0")
                .status
                .success()
        );
        Case { dir, key }
    }

    fn path(&self, p: &str) -> String {
        self.dir.join(p).to_string_lossy().into_owned()
    }

    fn sheets(&self, roster: &str, out: &str, extra: &[&str]) -> Output {
        let mut args = vec![
            "sheets", roster, "--host", HOST, "--key", &self.key, "--out", out,
        ];
        args.extend(extra);
        qr_gen(&args, "1795305600")
    }
}

impl Drop for Case {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

fn files_in(dir: &Path) -> usize {
    std::fs::read_dir(dir).map(|d| d.count()).unwrap_or(0)
}

#[test]
fn bad_rows_are_all_reported_and_nothing_is_written() {
    let c = Case::new("bad");
    let roster = c.path("r.csv");
    std::fs::write(&roster, format!("{HEADER}330102,市民中心,局,A1,S1,王芳,\n33,市民中心,局,A2,S2,李娜,\n330102,市民中心,局,A3,S3,,\n330102,市民中心,局,A1,S1,王芳,\n")).unwrap();
    let out = c.path("out");
    let o = c.sheets(&roster, &out, &[]);
    assert!(!o.status.success());
    let t = text(&o);
    for want in [
        "3 处错误",
        "第3行「区划代码」",
        "第4行「姓名」",
        "第5行：与第2行重复",
        "--keep-going",
    ] {
        assert!(t.contains(want), "{want:?} missing from:\n{t}");
    }
    assert_eq!(files_in(Path::new(&out)), 0, "nothing may be written");

    let o = c.sheets(&roster, &out, &["--keep-going"]);
    assert!(o.status.success(), "{}", text(&o));
    let summary = std::fs::read_to_string(c.dir.join("out/summary.txt")).unwrap();
    assert!(
        summary.contains("跳过 3 行") && summary.contains("第3行「区划代码」"),
        "{summary}"
    );
    assert_eq!(files_in(&c.dir.join("out/qr")), 1);
}

#[test]
#[ignore = "needs Debian's fonts-noto-cjk and poppler-utils: `cargo xtask test` runs it"]
fn a_character_the_font_lacks_is_an_error_naming_the_row() {
    let c = Case::new("glyph");
    let roster = c.path("r.csv");
    std::fs::write(
        &roster,
        format!("{HEADER}330102,市民中心,局,A1,S1,王\u{E000}芳,\n"),
    )
    .unwrap();
    let out = c.path("out");
    let o = c.sheets(&roster, &out, &[]);
    assert!(!o.status.success());
    let t = text(&o);
    assert!(t.contains("U+E000") && t.contains("第2行「姓名」"), "{t}");
    assert_eq!(files_in(Path::new(&out)), 0);
    let o = c.sheets(&roster, &out, &["--font", "/nonexistent/font.ttf"]);
    assert!(
        !o.status.success() && text(&o).contains("无法读取字体文件"),
        "{}",
        text(&o)
    );
}

#[test]
fn bad_options_say_what_is_wrong() {
    let c = Case::new("opts");
    let roster = c.path("r.csv");
    std::fs::write(&roster, format!("{HEADER}330102,市民中心,局,A1,S1,王芳,\n")).unwrap();
    let out = c.path("out");
    let (missing, pdf) = (c.path("none.csv"), c.path("r.pdf"));
    // (roster, host, key file, what the error must say)
    let cases = [
        (
            roster.as_str(),
            "http://pj.example.gov.cn/",
            c.key.as_str(),
            "https",
        ),
        (&roster, HOST, &roster, "不是 QR 密钥文件"),
        (&missing, HOST, &c.key, "无法读取"),
        (&pdf, HOST, &c.key, "不支持的文件类型"),
    ];
    for (roster, host, key, want) in cases {
        let o = qr_gen(
            &[
                "sheets", roster, "--host", host, "--key", key, "--out", &out,
            ],
            "0",
        );
        assert!(
            !o.status.success() && text(&o).contains(want),
            "{want}: {}",
            text(&o)
        );
    }
    let o = c.sheets(&roster, &out, &["--layout", "poster"]);
    assert!(!o.status.success() && text(&o).contains("a4 或 tent"));
    // A key file is never overwritten.
    let o = qr_gen(&["keys", "new", "--kid", "8", "--out", &c.key], "0");
    assert!(!o.status.success() && text(&o).contains("已存在"));
    // The edge's other keys come from the same command, and are no use for printing.
    let ck = c.path("challenge.key");
    let o = qr_gen(
        &[
            "keys",
            "new",
            "--purpose",
            "challenge",
            "--kid",
            "2",
            "--out",
            &ck,
        ],
        "0",
    );
    assert!(
        o.status.success() && text(&o).contains("CHALLENGE_KEYS"),
        "{}",
        text(&o)
    );
    assert!(
        std::fs::read_to_string(&ck)
            .unwrap()
            .starts_with("zspk1:challenge:2:")
    );
    let o = qr_gen(
        &[
            "sheets", &roster, "--host", HOST, "--key", &ck, "--out", &out,
        ],
        "0",
    );
    assert!(
        !o.status.success() && text(&o).contains("challenge"),
        "{}",
        text(&o)
    );
    let o = qr_gen(
        &[
            "keys",
            "new",
            "--purpose",
            "admin",
            "--kid",
            "3",
            "--out",
            &c.path("a.key"),
        ],
        "0",
    );
    assert!(
        !o.status.success() && text(&o).contains("admin"),
        "{}",
        text(&o)
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(
            std::fs::metadata(&c.key).unwrap().permissions().mode() & 0o777,
            0o600
        );
    }
}

#[test]
#[ignore = "needs Debian's fonts-noto-cjk and poppler-utils: `cargo xtask test` runs it"]
fn excel_input_with_numbers_and_rare_names() {
    let c = Case::new("xlsx");
    let path = c.path("名册.xlsx");
    let mut wb = rust_xlsxwriter::Workbook::new();
    let ws = wb.add_worksheet();
    for (i, h) in qr_gen::roster::Col::header().iter().enumerate() {
        ws.write_string(0, i as u16, *h).unwrap();
    }
    ws.write_number(1, 0, 330102.0).unwrap(); // typed as a number, as Excel users do
    ws.write_string(1, 1, " 上城区市民中心 ").unwrap();
    ws.write_string(1, 2, "区市场监督管理局").unwrap();
    ws.write_string(1, 3, "Ａ１２").unwrap();
    ws.write_number(1, 4, 1024.0).unwrap();
    ws.write_string(1, 5, "阿依古丽·𠮷").unwrap();
    ws.write_string(1, 6, "M-1：食品经营许可；M-2:药品零售")
        .unwrap();
    ws.write_number(2, 0, 330102.0).unwrap();
    ws.write_string(2, 1, "上城区市民中心").unwrap();
    ws.write_string(2, 2, "区税务局").unwrap();
    ws.write_string(2, 3, "B3").unwrap();
    wb.save(&path).unwrap();
    let out = c.path("out");
    let o = c.sheets(&path, &out, &["--layout", "tent"]);
    assert!(o.status.success(), "{}", text(&o));
    let m = std::fs::read_to_string(c.dir.join("out/manifest.csv")).unwrap();
    assert!(
        m.contains("2,330102,上城区市民中心,A12,区市场监督管理局,1024,阿依古丽·𠮷,"),
        "{m}"
    );
    assert!(m.contains("3,330102,上城区市民中心,B3,区税务局,,,"), "{m}");
    let d = wire::directory::Directory::from_json(
        &std::fs::read_to_string(c.dir.join("out/directory.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(d.entries[0].matters.len(), 2);
    assert_eq!(d.entries[1].staff_name, None);
    let t = Command::new("pdftotext")
        .arg(c.dir.join("out/sheets.pdf"))
        .arg("-")
        .output()
        .unwrap();
    let t = String::from_utf8(t.stdout).unwrap();
    assert!(
        t.contains("阿依古丽·𠮷") && t.contains("本窗口服务评价"),
        "{t}"
    );
}

#[test]
#[ignore = "needs Debian's fonts-noto-cjk and poppler-utils: `cargo xtask test` runs it"]
fn reruns_are_byte_identical_keep_codes_and_revoke_removed_rows() {
    let c = Case::new("rerun");
    let roster = c.path("r.csv");
    let all = qr_gen::sample::city_roster(40);
    std::fs::write(&roster, &all).unwrap();
    let (a, b) = (c.path("a"), c.path("b"));
    assert!(c.sheets(&roster, &a, &[]).status.success());
    assert!(c.sheets(&roster, &b, &[]).status.success());
    for f in [
        "sheets.pdf",
        "manifest.csv",
        "directory.json",
        "revocations.json",
        "summary.txt",
    ] {
        assert_eq!(
            std::fs::read(c.dir.join("a").join(f)).unwrap(),
            std::fs::read(c.dir.join("b").join(f)).unwrap(),
            "{f}"
        );
    }
    let before = std::fs::read_to_string(c.dir.join("a/manifest.csv")).unwrap();
    // A later day, one staff member gone and a name changed: the others keep their exact URLs.
    let mut lines: Vec<&str> = all.lines().collect();
    let gone = lines.remove(5).to_string();
    let renamed = {
        let mut f: Vec<&str> = lines[3].split(',').collect();
        assert_eq!(f[4], "ZW00003");
        f[5] = "改名";
        f.join(",")
    };
    lines[3] = &renamed;
    std::fs::write(&roster, lines.join("\n") + "\n").unwrap();
    let o = qr_gen(
        &[
            "sheets", &roster, "--host", HOST, "--key", &c.key, "--out", &a,
        ],
        "1800000000",
    );
    assert!(o.status.success(), "{}", text(&o));
    let after = std::fs::read_to_string(c.dir.join("a/manifest.csv")).unwrap();
    let url_of = |m: &str, id: &str| {
        m.lines()
            .find(|l| l.contains(&format!(",{id},")))
            .map(|l| l.split(',').nth(8).unwrap().to_string())
    };
    assert_eq!(url_of(&before, "ZW00001"), url_of(&after, "ZW00001"));
    assert_eq!(
        url_of(&before, "ZW00003"),
        url_of(&after, "ZW00003"),
        "a rename keeps the code"
    );
    let gone_id = gone.split(',').nth(4).unwrap();
    assert!(url_of(&after, gone_id).is_none());
    let rev = wire::Revocations::from_json(
        &std::fs::read_to_string(c.dir.join("a/revocations.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(rev.entries.len(), 1);
    assert!(text(&o).contains("停用：1 个"));
}
