//! Demo data: a region (湖南省长沙市) with institutions, an inspector roster and one user per role,
//! so a newcomer can try every workflow at once on the embedded defaults. Also the CLI's
//! `user add`.

use crate::auth::{Role, password, random_token};
use crate::db::DbConn;
use crate::error::ApiError;
use crate::registry::credit_code;
use crate::registry::inspectors::{self, InspectorInput};
use crate::registry::institutions::{self, InstitutionInput, Kind};
use crate::registry::users::{self, UserInput};
use crate::registry::{Scope, now_text};
use diesel::Connection;

/// Districts of 长沙市 used by the demo.
pub const DISTRICTS: &[(&str, &str)] = &[
    ("430102", "芙蓉区"),
    ("430103", "天心区"),
    ("430104", "岳麓区"),
    ("430105", "开福区"),
    ("430111", "雨花区"),
    ("430112", "望城区"),
    ("430121", "长沙县"),
    ("430181", "浏阳市"),
    ("430182", "宁乡市"),
];

const NAMES: &[&str] = &[
    "福寿",
    "康乐",
    "颐和",
    "夕阳红",
    "松鹤",
    "安康",
    "慈爱",
    "孝亲",
    "和美",
    "长青",
    "乐龄",
    "怡心",
];
const SURNAMES: &[&str] = &[
    "张", "王", "李", "刘", "陈", "杨", "黄", "赵", "周", "吴", "徐", "孙", "胡", "朱", "高", "林",
    "何", "郭", "马", "罗",
];
const GIVEN: &[&str] = &[
    "伟", "芳", "娜", "敏", "静", "丽", "强", "磊", "军", "洋", "勇", "艳", "杰", "娟", "涛", "明",
    "超", "秀英", "华", "慧",
];
const DEPARTMENTS: &[&str] = &["民政", "消防救援", "市场监管", "卫健"];

fn person(i: usize) -> String {
    format!(
        "{}{}",
        SURNAMES[i % SURNAMES.len()],
        GIVEN[(i * 7 + 3) % GIVEN.len()]
    )
}

/// Demo institution number `i` (deterministic).
pub fn institution(i: usize) -> InstitutionInput {
    let (district, district_name) = DISTRICTS[i % DISTRICTS.len()];
    let kind = [
        Kind::Private,
        Kind::Public,
        Kind::PublicPrivate,
        Kind::Private,
    ][i % 4];
    let suffix = match kind {
        Kind::Public => "社会福利中心",
        Kind::PublicPrivate => "康养中心",
        Kind::Private => "养老院",
    };
    let prefix = if kind == Kind::Public { "12" } else { "52" };
    let code = credit_code::complete(&format!("{prefix}{district}MJ{:07}", 1_000_000 + i * 7919))
        .unwrap_or_default();
    let beds = [40, 60, 80, 120, 150, 200, 300][i % 7];
    let floors = 1 + (i % 6) as i32;
    let filed = i % 5 != 4;
    let mut facts = serde_json::Map::new();
    facts.insert(
        "fire_acceptance".into(),
        serde_json::Value::Bool(i % 9 != 8),
    );
    facts.insert(
        "sprinklers".into(),
        serde_json::Value::Bool(floors >= 3 || i.is_multiple_of(3)),
    );
    facts.insert(
        "smoke_detectors".into(),
        serde_json::Value::Bool(i % 11 != 10),
    );
    facts.insert(
        "nursing_staff".into(),
        serde_json::Value::from(beds / 8 + (i % 5) as i32),
    );
    facts.insert(
        "night_staff".into(),
        serde_json::Value::from(2 + (i % 3) as i32),
    );
    facts.insert(
        "medical_license".into(),
        serde_json::Value::Bool(beds >= 100),
    );
    facts.insert("dementia_unit".into(), serde_json::Value::Bool(i % 4 == 1));
    facts.insert(
        "accidents_last_12_months".into(),
        serde_json::Value::from(i32::from(i % 17 == 16)),
    );
    InstitutionInput {
        name: format!(
            "长沙市{district_name}{}{suffix}",
            NAMES[(i / DISTRICTS.len() + i) % NAMES.len()]
        ),
        credit_code: code,
        address: format!(
            "湖南省长沙市{district_name}{}路{}号",
            ["人民", "芙蓉", "韶山", "东二环", "金星", "雷锋"][i % 6],
            10 + i * 13
        ),
        district_code: district.into(),
        kind,
        beds,
        residents: beds * (55 + (i % 40) as i32) / 100,
        legal_representative: person(i),
        safety_manager: person(i + 11),
        contact_phone: format!("0731-8{:07}", 2_000_000 + i * 3571),
        floors,
        has_kitchen: i % 6 != 5,
        building_area: f64::from(beds) * 32.5 + (i as f64) * 10.0,
        fire_resistance_grade: if floors >= 4 { 1 } else { 1 + (i % 2) as i32 },
        filed,
        filed_on: filed.then(|| format!("20{:02}-{:02}-{:02}", 18 + i % 7, 1 + i % 12, 1 + i % 28)),
        facts,
        version: None,
    }
}

/// Demo inspector number `i`.
pub fn inspector(i: usize) -> InspectorInput {
    InspectorInput {
        name: person(i * 3 + 1),
        department: DEPARTMENTS[i % DEPARTMENTS.len()].into(),
        district_code: DISTRICTS[i % DISTRICTS.len()].0.into(),
        certificate_no: format!("湘执{:08}", 43_010_000 + i * 17),
        previous_employer: i
            .is_multiple_of(5)
            .then(|| format!("长沙市{}养老服务有限公司", NAMES[i % NAMES.len()])),
        relations: Vec::new(),
        available: i % 7 != 6,
        version: None,
    }
}

/// Demo users and their passwords.
pub const DEMO_USERS: &[(&str, &str, Role)] = &[
    ("demo-admin", "demo-admin-pass", Role::Admin),
    ("demo-inspector", "demo-inspector-pass", Role::Inspector),
    (
        "demo-institution",
        "demo-institution-pass",
        Role::Institution,
    ),
];

/// Loads 36 institutions, 20 inspectors and one user per role; refuses when demo users exist.
pub fn load(conn: &mut DbConn) -> Result<String, ApiError> {
    if users::by_username(conn, DEMO_USERS[0].0)?.is_some() {
        return Ok("the demo region is already loaded".into());
    }
    conn.transaction(|conn| {
        let now = now_text();
        let mut first_institution = String::new();
        for i in 0..36 {
            let row = institution(i).validate(uuid::Uuid::new_v4().to_string(), 1, now.clone())?;
            if i == 0 {
                first_institution = row.id.clone();
            }
            institutions::insert(conn, &row)?;
        }
        let mut first_inspector = String::new();
        for i in 0..20 {
            let row = inspector(i).validate(uuid::Uuid::new_v4().to_string(), 1, now.clone())?;
            if i == 0 {
                first_inspector = row.id.clone();
            }
            inspectors::insert(conn, &row)?;
        }
        let mut out = String::from(
            "demo region 湖南省长沙市 (4301): 36 institutions, 20 inspectors\nusers:\n",
        );
        for (name, pw, role) in DEMO_USERS {
            let input = UserInput {
                username: (*name).into(),
                password: (*pw).into(),
                role: *role,
                display_name: None,
                region_code: (*role != Role::Institution).then(|| "4301".into()),
                inspector_id: (*role == Role::Inspector).then(|| first_inspector.clone()),
                institution_id: (*role == Role::Institution).then(|| first_institution.clone()),
            };
            input.validate()?;
            let hash = password::hash(pw).map_err(ApiError::internal)?;
            users::insert(conn, &input.into_row(hash))?;
            out.push_str(&format!("  {:<10} {name} / {pw}\n", role.as_str()));
        }
        Ok(out)
    })
}

/// Adds a user from the CLI; returns the generated password when none was given.
pub fn add_user(
    conn: &mut DbConn,
    username: &str,
    role: &str,
    region: Option<String>,
    institution: Option<String>,
    inspector: Option<String>,
    password_given: Option<String>,
) -> Result<Option<String>, ApiError> {
    let role = Role::parse(role)
        .ok_or_else(|| ApiError::validation("role", "role is admin, inspector or institution"))?;
    let (pw, generated) = match password_given {
        Some(p) => (p, false),
        None => (random_token()[..20].to_owned(), true),
    };
    let national = role == Role::Admin && region.as_deref().unwrap_or_default().is_empty();
    let input = UserInput {
        username: username.into(),
        password: pw.clone(),
        role,
        display_name: None,
        region_code: if national { Some("43".into()) } else { region },
        inspector_id: inspector,
        institution_id: institution,
    };
    input.validate()?;
    let mut row =
        users::create_in_scope(conn, &Scope::Region(String::new()), input, password::hash)?;
    if national {
        // A country-wide admin: no region prefix.
        row.region_code = None;
        users::set_region(conn, &row.id, None)?;
    }
    Ok(generated.then_some(pw))
}
