//! The bearer API under `/admin/`, for the operator's command (`zsp`) and an office's scripts:
//! the directory and revocations, the export, held ratings, retry, tablets, tokens and (the
//! operator's alone) accounts with a password. The route table has checked the token and its
//! role; each handler acts within the token's scope, as the console does.

use super::handlers::{self, refused, write};
use super::sql;
use crate::access::{self, Actor};
use crate::config::Config;
use crate::error::{self, ApiError};
use crate::host::{self, DbError, Host};
use crate::http::{Answer, Method, Request, Response};
use wire::directory::{Directory, FileError};
use wire::qr::Revocations;

/// A refused upload: the file's own error says what and where (the administrator's text, not
/// internals).
fn file_error(code: &'static str, e: FileError) -> ApiError {
    ApiError {
        detail: Some(e.0),
        ..ApiError::new(
            400,
            code,
            "上传的文件格式不正确。",
            "The uploaded file is not valid.",
        )
    }
}

fn text(b: &[u8]) -> Result<&str, ApiError> {
    std::str::from_utf8(b)
        .map_err(|_| file_error("admin.encoding", FileError("the file is not UTF-8".into())))
}

/// The upload's `?authority=`, one the settings name.
fn authority(cfg: &Config, req: &Request) -> Result<String, ApiError> {
    let a = req.param("authority");
    if cfg.authority_prefixes().contains(&a) {
        Ok(a)
    } else {
        Err(refused(
            400,
            "admin.authority",
            "未知的发码单位。",
            format!("authority {a:?}: one of {:?}", cfg.authority_prefixes()),
        ))
    }
}

fn entries(n: usize) -> Answer {
    Ok(Response::json(
        200,
        serde_json::json!({"ok": true, "entries": n}).to_string(),
    ))
}

/// `PUT /admin/directory?authority=…`: the authority's part of the directory within scope,
/// replaced.
pub async fn directory(h: &impl Host, cfg: &Config, me: &Actor, req: &Request) -> Answer {
    let authority = authority(cfg, req)?;
    let d = Directory::from_json(text(&req.body)?).map_err(|e| file_error("admin.directory", e))?;
    super::check_mapping(&d, cfg).map_err(|e| file_error("admin.directory", FileError(e)))?;
    handlers::check_upload(h, &d, &authority, me)
        .await
        .map_err(|e| file_error("admin.directory", FileError(e)))?;
    let n = d.entries.len();
    let mut stmts = sql::replace_entries(&me.scope, &authority, &d, h.now());
    stmts.push(access::audit(
        me,
        "directory.apply",
        if authority.is_empty() {
            "全部"
        } else {
            &authority
        },
        &format!("名录 {n} 个二维码（接口）"),
        h.now(),
    ));
    write(h, stmts).await?;
    entries(n)
}

/// `PUT` (replace) or `POST` (add) `/admin/revocations?authority=…`.
pub async fn revocations(h: &impl Host, cfg: &Config, me: &Actor, req: &Request) -> Answer {
    let authority = authority(cfg, req)?;
    let r =
        Revocations::from_json(text(&req.body)?).map_err(|e| file_error("admin.revocations", e))?;
    let (rows, _) = handlers::resolve_upload(h, &r, &authority, me, "接口")
        .await
        .map_err(|e| file_error("admin.revocations", FileError(e.detail.unwrap_or_default())))?;
    let replace = req.method == Method::Put;
    let t = h.now();
    let mut stmts = vec![];
    if replace {
        stmts.push(sql::clear_revocations(&me.scope, &authority));
    }
    stmts.extend(
        rows.iter()
            .map(|r| sql::add_revocation(r, &authority, &me.name, t)),
    );
    stmts.push(access::audit(
        me,
        "revocations.apply",
        if authority.is_empty() {
            "全部"
        } else {
            &authority
        },
        &format!(
            "作废清单{} {} 项（接口）",
            if replace { "替换" } else { "追加" },
            rows.len()
        ),
        t,
    ));
    write(h, stmts).await?;
    entries(rows.len())
}

/// `GET /admin/export.csv` and `.xlsx`: the ratings of a range within scope (as the console's).
pub async fn export(h: &impl Host, me: &Actor, req: &Request, xlsx: bool) -> Answer {
    let pairs = req.query_pairs();
    // A range of at most a year, both ends given: a script names what it takes.
    for end in ["from", "to"] {
        if req.param(end).is_empty() {
            return Err(handlers::form_error(format!(
                "缺少参数 {end}：导出须给出起止日期（from、to，格式 2026-11-27，最长一年）"
            )));
        }
    }
    let (filter, from, to) = handlers::filter_of(h.now(), &pairs, true)?;
    let full = req.param("phones") == "full";
    if full && !me.may(access::Action::ExportUnmasked) {
        return Err(access::NOT_FOUND);
    }
    let bytes = handlers::export(h, me, &filter, full, xlsx, &format!("{from}..{to}")).await?;
    Ok(if xlsx {
        Response::download(bytes, handlers::XLSX, "ratings.xlsx")
    } else {
        Response::download(bytes, "text/csv; charset=utf-8", "ratings.csv")
    })
}

/// `POST /admin/ratings/<id>/release|reject`: a held rating within scope decided.
pub async fn review(h: &impl Host, me: &Actor, id: &str, release: bool) -> Answer {
    if !handlers::review(h, me, id, release).await? {
        return Err(handlers::not_held());
    }
    Ok(Response::json(
        200,
        serde_json::json!({"ok": true, "id": id,
            "decision": if release { "release" } else { "reject" }})
        .to_string(),
    ))
}

/// `POST /admin/held/release|reject` `{"code", "signal", "from", "to"}` (each optional but the
/// range's days, `2026-11-27`): every held rating they take within scope decided; the count.
pub async fn review_bulk(h: &impl Host, me: &Actor, req: &Request, release: bool) -> Answer {
    #[derive(serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Bulk {
        #[serde(default)]
        code: String,
        #[serde(default)]
        signal: String,
        from: String,
        to: String,
    }
    let b: Bulk = crate::http::json(&req.body).map_err(|e| ApiError {
        detail: Some(format!(
            "{e} (fields: code, signal, from, to; from and to required)"
        )),
        ..error::MALFORMED_JSON
    })?;
    let pairs: Vec<(String, String)> = [
        ("code", b.code),
        ("signal", b.signal),
        ("from", b.from),
        ("to", b.to),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect();
    let f = handlers::held_filter_of(h.now(), &pairs)?;
    let n = handlers::review_bulk(h, me, &f, release).await?;
    Ok(Response::json(
        200,
        serde_json::json!({"ok": true, "count": n,
            "decision": if release { "release" } else { "reject" }})
        .to_string(),
    ))
}

/// `POST /admin/retry`.
pub async fn retry(h: &impl Host, me: &Actor) -> Answer {
    handlers::retry_now(h, me, "retry now (API)").await?;
    Ok(Response::json(
        200,
        serde_json::json!({"ok": true}).to_string(),
    ))
}

/// `POST /admin/kiosks` `{"code", "label"}`: a tablet of a window within scope; its address is
/// answered once.
pub async fn kiosk_add(h: &impl Host, cfg: &Config, me: &Actor, req: &Request) -> Answer {
    #[derive(serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    struct New {
        code: String,
        label: String,
    }
    let n: New = crate::http::json_body(&req.body)?;
    let label = crate::kiosk::label_ok(&n.label)?;
    let (row, e) = crate::directory::code_in_scope(h, me, &n.code).await?;
    let (id, url) = handlers::new_tablet(h, cfg, req, me, &e, label).await?;
    Ok(Response::json(
        201,
        serde_json::json!({"ok": true, "id": id, "url": url, "code": row.code, "label": label})
            .to_string(),
    ))
}

/// `POST /admin/kiosks/<id>/revoke`: a tablet within scope withdrawn.
pub async fn kiosk_revoke(h: &impl Host, me: &Actor, id: &str) -> Answer {
    let t = h.now();
    let rows: Vec<crate::kiosk::KioskRow> =
        host::rows(h, crate::kiosk::revoke(id, None, &me.scope, t)).await?;
    let k = rows.into_iter().next().ok_or(access::NOT_FOUND)?;
    write(
        h,
        vec![access::audit(me, "kiosk.revoke", &k.id, &k.label, t)],
    )
    .await?;
    Ok(Response::json(
        200,
        serde_json::json!({"ok": true, "id": k.id, "revoked": true}).to_string(),
    ))
}

/// The body of `POST /admin/tokens` and `/admin/accounts`: a name, a role and a scope within the
/// caller's.
#[derive(serde::Deserialize)]
struct Grant {
    name: String,
    role: String,
    scope: serde_json::Value,
    #[serde(default)]
    password: Option<String>,
    /// An existing account gets this password instead (the demo's restarts; an operator's
    /// `zsp admin add NAME --reset`).
    #[serde(default)]
    reset: bool,
    /// A token's last day (`YYYY-MM-DD`); none: until revoked.
    #[serde(default)]
    expires: Option<String>,
}

fn grant_of(
    me: &Actor,
    req: &Request,
    account: bool,
    code: &'static str,
    zh: &'static str,
) -> Result<(Grant, Actor), ApiError> {
    let g: Grant = crate::http::json(&req.body).map_err(|e| refused(400, code, zh, e))?;
    let scope = access::Scope::from_json(&g.scope.to_string()).ok_or_else(|| {
        refused(
            400,
            code,
            zh,
            format!(
                "scope {}: \"all\" or {{\"places\": [{{\"region\", \"hall\"}}]}}",
                g.scope
            ),
        )
    })?;
    let new = handlers::new_actor(me, g.name.clone(), &g.role, scope, account).map_err(|e| {
        let status = if e.starts_with("范围超出") {
            403
        } else {
            400
        };
        refused(
            status,
            code,
            if status == 403 {
                "范围超出您自己的范围。"
            } else {
                zh
            },
            e,
        )
    })?;
    Ok((g, new))
}

/// `POST /admin/tokens`: an automation token (a queue system's, for 一事一评 links), shown once.
pub async fn token_add(h: &impl Host, me: &Actor, req: &Request) -> Answer {
    let (g, new) = grant_of(me, req, false, "admin.token", "令牌信息有误。")?;
    let detail = format!("{}，{}（接口）", new.role.label(), new.scope);
    let expires = g
        .expires
        .as_deref()
        .map(|d| access::expiry(d, h.now()))
        .transpose()
        .map_err(|e| refused(400, "admin.token", "令牌信息有误。", e))?;
    let (stmts, token) = handlers::new_token(h, me, &new, &detail, expires);
    write(h, stmts).await?;
    Ok(Response::json(
        201,
        serde_json::json!({"ok": true, "token": token}).to_string(),
    ))
}

/// `POST /admin/accounts`: an account and its password, hashed here, or an existing account's
/// new password (`reset`). The operator's `ADMIN_TOKEN` only: an administrator's token never
/// sets a password (the console resets to a generated one instead).
pub async fn account_add(h: &impl Host, me: &Actor, req: &Request) -> Answer {
    if !me.is_operator() {
        return Err(access::NOT_FOUND);
    }
    let (g, new) = grant_of(me, req, true, "admin.account", "账户信息有误。")?;
    let pw = g.password.unwrap_or_default();
    access::password_ok(&pw, &g.name)
        .map_err(|e| refused(400, "admin.account", "账户信息有误。", e))?;
    let hash = access::hash_password(h, &pw).await?;
    let t = h.now();
    if g.reset {
        let exists: Vec<access::AccountRow> = host::rows(h, access::account(&g.name)).await?;
        if !exists.is_empty() {
            let mut stmts = access::set_password(&g.name, &hash, false);
            stmts.push(access::audit(
                me,
                "account.reset",
                &g.name,
                "新密码（接口）",
                t,
            ));
            host::run(h, stmts, false).await?;
            return Ok(Response::json(
                200,
                serde_json::json!({"ok": true, "name": g.name, "reset": true}).to_string(),
            ));
        }
    }
    let detail = format!("{}，{}", new.role.label(), new.scope);
    match host::try_run(
        h,
        vec![
            access::add_account(&new, &hash, &me.name, t, false),
            access::audit(me, "account.add", &g.name, &detail, t),
        ],
        false,
    )
    .await
    {
        Ok(_) => Ok(Response::json(
            200,
            serde_json::json!({"ok": true, "name": g.name}).to_string(),
        )),
        Err(DbError::Sql(m)) if m.contains("UNIQUE") => {
            Err(refused(409, "admin.account_exists", "账户已存在。", g.name))
        }
        Err(e) => Err(host::internal(h, "storage", e)),
    }
}
