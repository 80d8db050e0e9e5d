//! The whole city: 3,400 generated rows through the real command, every code decoded by Debian's
//! zbarimg and every tenth by rqrr in-process (two decoders independent of the encoder) to
//! exactly the manifest's URL, every URL verified with the shared crate, codes decoded again from
//! the rendered PDF by both, and the PDF's Chinese text checked with pdftotext.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::process::Command;
use wire::{BaseUrl, Key, KeyPurpose, Keyring, QrPayload};

const HOST: &str = "https://pj.example.gov.cn/";

fn qr_gen(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_qr-gen"))
        .args(args)
        .env("SOURCE_DATE_EPOCH", "1795305600")
        .output()
        .expect("qr-gen runs")
}

fn tmp(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("qr-gen-test-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// Manifest rows as maps from column name to value.
fn manifest(dir: &Path) -> Vec<HashMap<String, String>> {
    let text = std::fs::read_to_string(dir.join("manifest.csv")).unwrap();
    let text = text
        .strip_prefix('\u{FEFF}')
        .expect("manifest starts with a BOM for Excel");
    let mut r = csv::Reader::from_reader(text.as_bytes());
    let headers = r.headers().unwrap().clone();
    r.records()
        .map(|rec| {
            let rec = rec.unwrap();
            headers
                .iter()
                .zip(rec.iter())
                .map(|(h, v)| (h.to_string(), v.to_string()))
                .collect()
        })
        .collect()
}

fn zbar(files: &[PathBuf]) -> Vec<String> {
    let o = Command::new("zbarimg")
        .args(["-q", "--raw", "-Sdisable", "-Sqrcode.enable"])
        .args(files)
        .output()
        .expect("zbarimg (Debian's zbar-tools) is installed by cargo xtask test");
    String::from_utf8(o.stdout)
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect()
}

fn rqrr_decode(img: image::GrayImage) -> Vec<String> {
    let mut p = rqrr::PreparedImage::prepare(img);
    p.detect_grids()
        .iter()
        .filter_map(|g| g.decode().ok().map(|x| x.1))
        .collect()
}

#[test]
#[ignore = "3,400 codes through zbarimg, pdftoppm and the CJK font (slow, Debian's packages): `cargo xtask test` runs it"]
fn a_whole_city_decodes_and_verifies() {
    let started = std::time::Instant::now();
    let lap = |what: &str| println!("city: {what} at {:.1} s", started.elapsed().as_secs_f64());
    let dir = tmp("city");
    // A fixed key and issue date: the same 3,400 symbols every run. (With a fresh key a day, rqrr
    // misread about one card-sized crop in a few thousand at 150 dpi, that zbarimg read: a run
    // that fails is then a change here, never the day's luck.)
    let key = dir.join("city.key");
    let fixed = Key::new(KeyPurpose::Qr, 3301, [0x5a; 32]);
    std::fs::write(&key, fixed.to_text()).unwrap();
    let ring = Keyring::new(KeyPurpose::Qr, vec![fixed]).unwrap();
    let roster = dir.join("roster.csv");
    std::fs::write(&roster, qr_gen::sample::city_roster(3400)).unwrap();
    let out = dir.join("out");
    let o = qr_gen(&[
        "sheets",
        roster.to_str().unwrap(),
        "--host",
        HOST,
        "--key",
        key.to_str().unwrap(),
        "--issued",
        "2026-11-27",
        "--out",
        out.to_str().unwrap(),
    ]);
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(
        o.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(stdout.contains("3400 个"), "{stdout}");
    lap("qr-gen sheets done");

    let rows = manifest(&out);
    assert_eq!(rows.len(), 3400);
    let base = BaseUrl::parse(HOST).unwrap();
    let mut urls = HashSet::new();
    for r in &rows {
        let url = &r["url"];
        assert!(urls.insert(url.clone()), "duplicate URL {url}");
        let seg = url.strip_prefix(base.as_str()).unwrap();
        let p = QrPayload::open(seg, &ring).unwrap();
        assert_eq!(p.code.to_text(), r["code"]);
        assert!(
            r["qr_version"].parse::<u8>().unwrap() <= 4,
            "version {} for {url}",
            r["qr_version"]
        );
    }
    lap("manifest verified");
    // rqrr, independent of the encoder, on every tenth PNG across the city (on every core): at
    // some 30 ms a code it would take over a minute for all of them, which zbarimg reads below.
    let sample: Vec<&HashMap<String, String>> = rows.iter().step_by(10).collect();
    let threads = std::thread::available_parallelism().map_or(2, |n| n.get());
    std::thread::scope(|s| {
        for chunk in sample.chunks(sample.len().div_ceil(threads)) {
            let out = &out;
            s.spawn(move || {
                for r in chunk {
                    let img = image::open(out.join(&r["png"])).unwrap().to_luma8();
                    assert_eq!(rqrr_decode(img), vec![r["url"].clone()], "row {}", r["row"]);
                }
            });
        }
    });
    lap("rqrr read every tenth PNG");
    // zbarimg on every PNG, in batches.
    let pngs: Vec<PathBuf> = rows.iter().map(|r| out.join(&r["png"])).collect();
    let decoded: Vec<String> = std::thread::scope(|s| {
        let handles: Vec<_> = pngs
            .chunks(pngs.len().div_ceil(threads))
            .map(|c| s.spawn(move || zbar(c)))
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap())
            .collect()
    });
    let want: Vec<String> = rows.iter().map(|r| r["url"].clone()).collect();
    assert_eq!(decoded, want, "zbarimg must read every PNG, in order");

    lap("zbarimg read every PNG");
    // The PDF itself: render pages at 150 dpi and read the codes back, and the text.
    let pages = dir.join("page");
    let st = Command::new("pdftoppm")
        .args(["-r", "150", "-gray", "-png", "-f", "1", "-l", "3"])
        .arg(out.join("sheets.pdf"))
        .arg(&pages)
        .status()
        .expect("pdftoppm (Debian's poppler-utils) is installed by cargo xtask test");
    assert!(st.success());
    let mut page_files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.file_name().unwrap().to_string_lossy().starts_with("page"))
        .collect();
    page_files.sort();
    assert_eq!(page_files.len(), 3);
    for (i, page) in page_files.iter().enumerate() {
        let on_page: HashSet<String> = rows
            .iter()
            .filter(|r| r["pdf_page"] == (i + 1).to_string())
            .map(|r| r["url"].clone())
            .collect();
        assert_eq!(on_page.len(), 8);
        // The whole page: zbarimg finds nothing but this page's codes. How many it finds is a
        // limit of its multi-symbol scan, not of the sheet: at 150 dpi it misses about 1 code in
        // 100, and with a run's fresh key once 2 of a page's 8. Every card cut out alone must
        // read, below, which is what a citizen scans.
        let from_zbar: HashSet<String> = zbar(std::slice::from_ref(page)).into_iter().collect();
        assert!(
            from_zbar.is_subset(&on_page) && !from_zbar.is_empty(),
            "zbarimg on page {}: {from_zbar:?}",
            i + 1
        );
        // Each card cut from the page at its place on the grid (2 × 4 cards of 95 × 68 mm from
        // 10 mm, 12.5 mm; 150 dpi): the right code in the right place, by both decoders.
        let img = image::open(page).unwrap().to_luma8();
        let px = |mm: f32| (mm * 150.0 / 25.4).round() as u32;
        let mut crops = vec![];
        let mut want = vec![];
        for (k, r) in rows
            .iter()
            .filter(|r| r["pdf_page"] == (i + 1).to_string())
            .enumerate()
        {
            let (x, y) = (10.0 + (k % 2) as f32 * 95.0, 12.5 + (k / 2) as f32 * 68.0);
            let card = image::imageops::crop_imm(&img, px(x), px(y), px(95.0), px(68.0)).to_image();
            let path = dir.join(format!("card-{}-{k}.png", i + 1));
            card.save(&path).unwrap();
            assert_eq!(
                rqrr_decode(card),
                vec![r["url"].clone()],
                "rqrr on page {} card {}",
                i + 1,
                k + 1
            );
            crops.push(path);
            want.push(r["url"].clone());
        }
        assert_eq!(zbar(&crops), want, "zbarimg on the cards of page {}", i + 1);
    }
    let text = Command::new("pdftotext")
        .args(["-f", "1", "-l", "13"])
        .arg(out.join("sheets.pdf"))
        .arg("-")
        .output()
        .unwrap();
    let text = String::from_utf8(text.stdout).unwrap();
    for must in [
        "政务服务“好差评” 扫码评价",
        "请用微信扫一扫，对本次服务进行评价",
        "工号：ZW00001",
        &rows[0]["staff_name"],
        &rows[0]["hall"],
    ] {
        assert!(text.contains(must), "pdftotext lacks {must:?}");
    }
    // Rare characters survive into the PDF's text: find a page with one.
    let rare = rows
        .iter()
        .find(|r| r["staff_name"].contains('𠮷'))
        .expect("the sample has 𠮷");
    let page = rare["pdf_page"].clone();
    let t = Command::new("pdftotext")
        .args(["-f", &page, "-l", &page])
        .arg(out.join("sheets.pdf"))
        .arg("-")
        .output()
        .unwrap();
    assert!(
        String::from_utf8(t.stdout)
            .unwrap()
            .contains(&rare["staff_name"])
    );

    // The directory for the edge holds every code, and parses with the shared crate.
    let d = wire::directory::Directory::from_json(
        &std::fs::read_to_string(out.join("directory.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(d.entries.len(), 3400);
    assert!(std::fs::metadata(out.join("sheets.pdf")).unwrap().len() < 10_000_000);
    let halls = std::fs::read_dir(out.join("halls")).unwrap().count();
    let distinct: HashSet<(&String, &String)> = rows
        .iter()
        .map(|r| (&r["region_code"], &r["hall"]))
        .collect();
    assert_eq!(halls, distinct.len());
    lap("PDF pages and text checked");
    let _ = std::fs::remove_dir_all(&dir);
}
