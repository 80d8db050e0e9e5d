//! A realistic generated roster, deterministic for a given size: a city's districts, their
//! citizen centres and township centres, the departments at their windows, staff with common and
//! rare names (`·` in minority names, CJK Extension B such as 𠮷), window-level codes for rotating
//! staff, and matter lists. Used by the tests, the benchmark and the demo.

use wire::csv::line as csv_line;

const SURNAMES: &[&str] = &[
    "王", "李", "张", "刘", "陈", "杨", "黄", "赵", "吴", "周", "徐", "孙", "马", "朱", "胡", "郭",
    "何", "高", "林", "罗", "欧阳", "司马", "诸葛",
];
const GIVEN: &[&str] = &[
    "芳", "伟", "娜", "敏", "静", "丽", "强", "磊", "军", "洋", "勇", "艳", "杰", "娟", "涛", "明",
    "超", "秀英", "霞", "平", "建华", "晓东", "雨萱", "子涵", "浩然", "𠮷", "淼", "犇", "昇",
];
const SPECIAL: &[&str] = &[
    "买买提·艾力",
    "阿依古丽·吐尔逊",
    "𠮷田",
    "扎西·顿珠",
    "欧阳𠮷",
];
const DISTRICTS: &[(&str, &str)] = &[
    ("330102", "上城区"),
    ("330105", "拱墅区"),
    ("330106", "西湖区"),
    ("330108", "滨江区"),
    ("330109", "萧山区"),
    ("330110", "余杭区"),
];
const TOWNS: &[&str] = &[
    "湖滨",
    "清波",
    "小营",
    "南星",
    "紫阳",
    "望江",
    "闸弄口",
    "四季青",
    "采荷",
    "凯旋",
    "笕桥",
    "九堡",
    "彭埠",
    "丁兰",
];
const DEPTS: &[&str] = &[
    "市场监督管理局",
    "税务局",
    "人力资源和社会保障局",
    "医疗保障局",
    "公安分局出入境管理",
    "不动产登记中心",
    "住房公积金管理中心",
    "民政局",
    "卫生健康局",
    "规划和自然资源局",
    "行政审批服务管理办公室综合受理窗口（企业开办、工程建设项目审批一件事联办专窗）",
];
const MATTERS: &[(&str, &str)] = &[
    ("330100-SC-001", "食品经营许可（新办）"),
    ("330100-SW-014", "发票领用"),
    ("330100-RS-203", "社会保障卡申领"),
    ("330100-YB-031", "医保关系转移接续"),
    ("330100-BDC-002", "不动产首次登记"),
    ("330100-GJJ-110", "住房公积金提取"),
];

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> usize {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 >> 11) as usize
    }
    fn pick<'a>(&mut self, xs: &'a [&'a str]) -> &'a str {
        xs[self.next() % xs.len()]
    }
}

/// A CSV roster (UTF-8, Chinese headers) of exactly `rows` data rows.
pub fn city_roster(rows: usize) -> String {
    let mut rng = Rng(0x005E_ED0F_C17E);
    let mut out = String::new();
    csv_line(&mut out, &crate::roster::Col::header());
    let mut n = 0;
    let mut staff_no = 0;
    'outer: for round in 0.. {
        for (d, (region, district)) in DISTRICTS.iter().enumerate() {
            // The district's citizen centre first, then its township centres (9-digit codes).
            let (code, hall) = if round == 0 {
                (region.to_string(), format!("{district}市民中心"))
            } else {
                let t = (round - 1) * DISTRICTS.len() + d;
                (
                    format!("{region}{:03}", t + 1),
                    format!(
                        "{district}{}{}便民服务中心",
                        TOWNS[t % TOWNS.len()],
                        if t >= TOWNS.len() {
                            format!("第{}", t / TOWNS.len() + 1)
                        } else {
                            String::new()
                        }
                    ),
                )
            };
            let windows = if round == 0 { 40 } else { 16 };
            for w in 0..windows {
                let dept = DEPTS[(w + d) % DEPTS.len()];
                let window = format!("{}{:02}", ['A', 'B', 'C', 'D'][w % 4], w + 1);
                let matters: Vec<String> = (0..rng.next() % 3)
                    .map(|k| {
                        let (c, name) = MATTERS[(w + k) % MATTERS.len()];
                        format!("{c}:{name}")
                    })
                    .collect();
                // Every tenth window is staffed by rotation: one window-level code.
                let people = if w % 10 == 9 { 0 } else { 1 + rng.next() % 2 };
                for _ in 0..people.max(1) {
                    if n == rows {
                        break 'outer;
                    }
                    let (id, name) = if people == 0 {
                        (String::new(), String::new())
                    } else {
                        staff_no += 1;
                        let name = if staff_no % 97 == 0 {
                            SPECIAL[staff_no / 97 % SPECIAL.len()].to_string()
                        } else {
                            format!("{}{}", rng.pick(SURNAMES), rng.pick(GIVEN))
                        };
                        (format!("ZW{staff_no:05}"), name)
                    };
                    csv_line(
                        &mut out,
                        &[&code, &hall, dept, &window, &id, &name, &matters.join(";")],
                    );
                    n += 1;
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn exact_size_valid_and_varied() {
        let text = super::city_roster(3400);
        let r = crate::roster::read_csv(text.as_bytes()).unwrap();
        assert_eq!(r.len(), 3401);
        assert!(text.contains("𠮷") && text.contains('·'));
        assert_eq!(super::city_roster(50), super::city_roster(50));
    }
}
