//! The admin console: its rules for uploads (`check_directory`, `check_collisions`,
//! `resolve_revocations`), every statement it runs (`sql`, each scoped at the query), the preview
//! of an upload (`diff`), its HTML (`pages`, `lane_pages`) and its handlers (`handlers` for the
//! pages and forms, `api` for the bearer API, `cases` for the 差评 ledger). Who may do what is
//! `crate::access`.

pub mod diff;
pub mod lane_pages;
pub mod pages;
pub mod sql;

pub mod analysis;
pub mod api;
pub mod cases;
pub mod handlers;

use crate::access::Actor;

// ---- uploads ----

/// For each receiver with a table mapping, every entry it takes can fill its required fields
/// (the provincial `deptCode` needs the unit's 统一社会信用代码): else its ratings could never be
/// taken.
pub fn check_mapping(
    d: &wire::directory::Directory,
    cfg: &crate::config::Config,
) -> Result<(), String> {
    for r in &cfg.receivers {
        for (i, e) in d.entries.iter().enumerate() {
            if !e.region.starts_with(r.region.as_str()) {
                continue;
            }
            if let Some(f) = r.mapping.missing(e).first() {
                return Err(format!(
                    "第 {} 个二维码（{} {} 窗口 {}）缺少{}：上报接口 {}（{} 映射）的 {} 必填。请在名册的“统一社会信用代码”列填写后重新生成名录",
                    i + 1,
                    e.region,
                    e.hall,
                    e.window,
                    f.item,
                    r.name,
                    r.mapping.name(),
                    f.name
                ));
            }
        }
    }
    Ok(())
}

/// Every entry of a directory upload must lie in the authority (a region prefix) and in the
/// uploader's scope: the upload replaces exactly that part of the directory.
pub fn check_directory(
    d: &wire::directory::Directory,
    authority: &str,
    actor: &Actor,
) -> Result<(), String> {
    for (i, e) in d.entries.iter().enumerate() {
        let at = || format!("第 {} 项（{} {} {}）", i + 1, e.hall, e.window, e.code);
        if !e.region.starts_with(authority) {
            return Err(format!(
                "{}：区划 {} 不属于所选发码单位 {authority}",
                at(),
                e.region
            ));
        }
        if !actor.scope.covers(&e.region, &e.hall) {
            return Err(format!("{}：不在您的权限范围（{}）内", at(), actor.scope));
        }
    }
    Ok(())
}

/// A directory upload must not give a window or a staff member the short reference another
/// authority's window or staff member has (qr-gen refuses such a collision inside one roster;
/// across authorities only the edge sees both): they would share revocations and results.
pub fn check_collisions(
    d: &wire::directory::Directory,
    elsewhere: &[wire::directory::Entry],
) -> Result<(), String> {
    use std::collections::HashMap;
    let mut windows = HashMap::new();
    let mut staff = HashMap::new();
    for e in elsewhere {
        windows.insert(e.code.window, e);
        if let Some(s) = e.code.staff {
            staff.insert(s, e);
        }
    }
    for (i, e) in d.entries.iter().enumerate() {
        let at = || format!("第 {} 项（{} {} {}）", i + 1, e.hall, e.window, e.code);
        if let Some(o) = windows.get(&e.code.window)
            && (o.region.as_str(), o.hall.as_str(), o.window.as_str())
                != (e.region.as_str(), e.hall.as_str(), e.window.as_str())
        {
            return Err(format!(
                "{}：窗口短编码与其他发码单位的窗口（区划 {} {} {}）相同，请在 qr-gen 中调整窗口号后重新生成",
                at(),
                o.region,
                o.hall,
                o.window
            ));
        }
        if let (Some(s), Some(o)) = (e.code.staff, e.code.staff.and_then(|s| staff.get(&s)))
            && (o.region.as_str(), o.staff_id.as_deref())
                != (e.region.as_str(), e.staff_id.as_deref())
        {
            return Err(format!(
                "{}：人员短编码 {} 与其他发码单位的人员（区划 {} 工号 {}）相同，请联系技术支持",
                at(),
                s.to_text(),
                o.region,
                o.staff_id.as_deref().unwrap_or("")
            ));
        }
    }
    Ok(())
}

/// A revocation upload's rows, each resolved to the code or staff member it names in the
/// directory (within the authority and the uploader's scope). A revocation of a code the
/// directory does not have there is refused, naming the entry.
pub fn resolve_revocations(
    r: &wire::qr::Revocations,
    authority: &str,
    actor: &Actor,
    entries: &[wire::directory::Entry],
    reason: &str,
) -> Result<Vec<sql::NewRevocation>, String> {
    use wire::qr::Revocation;
    r.entries
        .iter()
        .enumerate()
        .map(|(i, rev)| {
            let found = entries.iter().find(|e| {
                e.region.starts_with(authority)
                    && actor.scope.covers(&e.region, &e.hall)
                    && match rev {
                        Revocation::Code { code, .. } => e.code == *code,
                        Revocation::Staff { staff, .. } => e.code.staff == Some(*staff),
                    }
            });
            let what = match rev {
                Revocation::Code { code, .. } => format!("二维码 {code}"),
                Revocation::Staff { staff, .. } => format!("人员 {}", staff.to_text()),
            };
            let e = found.ok_or_else(|| {
                format!(
                    "第 {} 项：{what} 不在名录中（或不在所选发码单位和您的权限范围内），不能作废",
                    i + 1
                )
            })?;
            Ok(sql::NewRevocation {
                revocation: *rev,
                region: e.region.clone(),
                hall: e.hall.clone(),
                reason: reason.into(),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::access::{Role, Scope};

    #[test]
    fn uploads_stay_inside_the_authority_and_the_scope() {
        use wire::directory::{Directory, Entry};
        use wire::qr::{Revocation, Revocations};
        let e = Entry::example("A01", Some("SC1"));
        let d = Directory {
            format: "zsp.directory".into(),
            version: 1,
            entries: vec![e.clone()],
            keys: vec![],
        };
        let hall = Actor {
            name: "h".into(),
            role: Role::Hall,
            scope: Scope::hall("330102", "上城区市民中心"),
        };
        assert!(check_directory(&d, "330102", &hall).is_ok());
        assert!(
            check_directory(&d, "330105", &hall)
                .unwrap_err()
                .contains("第 1 项")
        );
        let other = Actor {
            scope: Scope::hall("330102", "别的大厅"),
            ..hall.clone()
        };
        assert!(
            check_directory(&d, "", &other)
                .unwrap_err()
                .contains("不在您的权限范围")
        );
        let r = Revocations {
            entries: vec![Revocation::Code {
                code: e.code,
                issued_before: None,
            }],
        };
        let ok = resolve_revocations(&r, "", &hall, std::slice::from_ref(&e), "卡片遗失").unwrap();
        assert_eq!(ok[0].hall, "上城区市民中心");
        let unknown = resolve_revocations(&r, "", &hall, &[], "x").unwrap_err();
        assert!(
            unknown.contains("第 1 项") && unknown.contains("不在名录中"),
            "{unknown}"
        );
        assert!(resolve_revocations(&r, "", &other, &[e], "x").is_err());
    }

    #[test]
    fn an_upload_colliding_with_another_authoritys_short_reference_is_refused() {
        use wire::directory::{Directory, Entry};
        use wire::qr::{StaffRef, WindowRef};
        let hall = "上城区市民中心";
        let at = |window: &str, staff: Option<&str>| {
            let mut e = Entry::example(window, staff);
            e.region = "330102".into();
            e.hall = hall.into();
            e.staff_id = staff.map(str::to_owned);
            e.code.window = WindowRef::derive("330102", hall, window);
            e.code.staff = staff.map(|s| StaffRef::derive("330102", s));
            e
        };
        // Pairs found by search: 40-bit digests collide after about a million.
        let theirs = vec![at("W0723989", None), at("A1", Some("G0919347"))];
        let up = |e: Entry| Directory::new(vec![e]);
        let e = check_collisions(&up(at("W1422104", None)), &theirs).unwrap_err();
        assert!(e.contains("窗口短编码") && e.contains("W0723989"), "{e}");
        let e = check_collisions(&up(at("A9", Some("G2210655"))), &theirs).unwrap_err();
        assert!(e.contains("人员短编码") && e.contains("G0919347"), "{e}");
        // The same window or person again (a re-upload) is no collision.
        assert!(check_collisions(&up(at("W0723989", None)), &theirs).is_ok());
        assert!(check_collisions(&up(at("A2", Some("G0919347"))), &theirs).is_ok());
    }
}
