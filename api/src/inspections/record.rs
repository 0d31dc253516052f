//! The inspection record (检查记录) with its three lists as a page that prints on A4 and that the
//! institution's representative signs: HTML with a CJK font stack and print styles, built from
//! the same scoring as submit (stored outcomes once submitted, the answers so far before).

use super::facts::{institution_facts, pinned};
use super::submit::{score, today_cn};
use super::{InspectionRow, members};
use crate::db::DbConn;
use crate::db::schema::{inspectors, institutions};
use crate::error::ApiError;
use crate::registry::institutions::InstitutionRow;
use crate::rulesets::CompiledCache;
use caregrade_dsl::report::Report;
use diesel::prelude::*;
use std::fmt::Write;

/// Escapes text for HTML.
fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

const STYLE: &str = "body{font-family:\"Noto Sans CJK SC\",\"Source Han Sans SC\",\"PingFang SC\",\"Microsoft YaHei\",\"SimSun\",sans-serif;margin:2em;color:#111}\
h1{text-align:center;font-size:1.5em}h2{font-size:1.15em;border-bottom:1px solid #444;margin-top:1.6em}\
table{border-collapse:collapse;width:100%;font-size:.9em}th,td{border:1px solid #666;padding:.3em .45em;vertical-align:top}\
th{background:#eee}.meta td{border:none;padding:.15em .6em}.sign{margin-top:3em;display:flex;justify-content:space-between}\
.sign div{width:45%;border-top:1px solid #111;padding-top:.3em}@page{size:A4;margin:15mm}\
@media print{body{margin:0}h2{break-after:avoid}tr{break-inside:avoid}}";

/// The record of `inspection` as an HTML page.
pub fn html(
    conn: &mut DbConn,
    cache: &CompiledCache,
    insp: &InspectionRow,
) -> Result<String, ApiError> {
    let inst: InstitutionRow = institutions::table
        .find(&insp.institution_id)
        .select(InstitutionRow::as_select())
        .first(conn)?;
    let team_ids = members(conn, &insp.id)?;
    let team: Vec<String> = inspectors::table
        .filter(inspectors::id.eq_any(&team_ids))
        .order(inspectors::name)
        .select(inspectors::name)
        .load(conn)?;
    let compiled = pinned(cache, conn, insp)?.map_err(ApiError::internal)?;
    let facts = institution_facts(&inst);
    let as_of = today_cn();
    let mut reports: Vec<Report> = Vec::new();
    for (name, c) in &compiled {
        reports.push(score(conn, &insp.id, &inst, &facts, name, c, as_of)?.1);
    }
    let ack: Option<serde_json::Value> = insp
        .acknowledgement
        .as_deref()
        .and_then(|a| serde_json::from_str(a).ok());
    let mut h = String::new();
    let _ = write!(
        h,
        "<!doctype html><html lang=\"zh-CN\"><head><meta charset=\"utf-8\"><title>检查记录 — {}</title><style>{STYLE}</style></head><body>",
        esc(&inst.name)
    );
    let _ = write!(h, "<h1>养老机构监督检查记录</h1><table class=\"meta\">");
    for (k, v) in [
        ("被检查机构", inst.name.clone()),
        ("统一社会信用代码", inst.credit_code.clone()),
        ("地址", inst.address.clone()),
        ("法定代表人", inst.legal_representative.clone()),
        ("检查类型", insp.purpose.clone()),
        ("检查人员", team.join("、")),
        ("开始时间", insp.started_at.clone().unwrap_or_default()),
        (
            "提交时间",
            insp.submitted_at.clone().unwrap_or_else(|| "未提交".into()),
        ),
        ("记录编号", insp.id.clone()),
    ] {
        let _ = write!(h, "<tr><td>{}</td><td>{}</td></tr>", esc(k), esc(&v));
    }
    h.push_str("</table>");
    for r in &reports {
        let _ = write!(
            h,
            "<h2>{}（{}，规则版本 {}）</h2><table><tr><th>检查项</th><th>条款</th><th>检查结果与说明</th></tr>",
            esc(&r.ruleset.title),
            esc(&r.ruleset.version),
            esc(&r.ruleset.hash[..12.min(r.ruleset.hash.len())])
        );
        for i in &r.items {
            let _ = write!(
                h,
                "<tr><td>{}</td><td>{}</td><td>{}</td></tr>",
                esc(&i.title),
                esc(i.clause.as_deref().unwrap_or("")),
                esc(&i.explanation)
            );
        }
        h.push_str("</table>");
        if let (Some(t), Some(m)) = (r.total, r.max_total) {
            let _ = write!(h, "<p>得分：{t} / {m}</p>");
        }
    }
    let hazards: Vec<_> = reports.iter().flat_map(|r| r.hazards.iter()).collect();
    h.push_str("<h2>隐患清单</h2><table><tr><th>序号</th><th>检查项</th><th>隐患描述</th><th>等级</th><th>依据</th></tr>");
    for (n, z) in hazards.iter().enumerate() {
        let level = match (z.level, z.pending) {
            (caregrade_dsl::ast::HazardLevel::Major, true) => "重大隐患（待专家认定）",
            (caregrade_dsl::ast::HazardLevel::Major, false) => "重大隐患",
            _ => "一般隐患",
        };
        let _ = write!(
            h,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            n + 1,
            esc(&z.item_title),
            esc(&z.description),
            level,
            esc(z.basis.as_deref().or(z.clause.as_deref()).unwrap_or(""))
        );
    }
    h.push_str("</table><h2>整改清单</h2><table><tr><th>序号</th><th>整改措施</th><th>立即措施</th><th>整改期限</th></tr>");
    for (n, z) in hazards.iter().enumerate() {
        let _ = write!(
            h,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            n + 1,
            esc(&z.measure),
            esc(z.immediate.as_deref().unwrap_or("")),
            esc(z.deadline.as_deref().unwrap_or(""))
        );
    }
    h.push_str(
        "</table><h2>责任清单</h2><table><tr><th>序号</th><th>主体责任</th><th>监管责任</th></tr>",
    );
    for (n, z) in hazards.iter().enumerate() {
        let _ = write!(
            h,
            "<tr><td>{}</td><td>{}</td><td>{}</td></tr>",
            n + 1,
            esc(&z.party_title),
            esc(&z.department_title)
        );
    }
    h.push_str("</table>");
    let signer = ack
        .as_ref()
        .and_then(|a| a["name"].as_str().map(str::to_owned))
        .unwrap_or_default();
    let _ = write!(
        h,
        "<div class=\"sign\"><div>检查人员签名：{}</div><div>被检查机构负责人签名：{}</div></div></body></html>",
        esc(&team.join("、")),
        esc(&signer)
    );
    Ok(h)
}

#[cfg(test)]
mod tests {
    use super::esc;

    #[test]
    fn escapes_markup() {
        assert_eq!(
            esc("<b>\"A&B\"</b>'"),
            "&lt;b&gt;&quot;A&amp;B&quot;&lt;/b&gt;&#39;"
        );
        assert_eq!(esc("消防通道"), "消防通道");
    }
}
