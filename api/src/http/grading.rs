//! `/grading`: applications from the self-assessment to the granted grade, and an institution's
//! grades.

use super::body::ApiJson;
use crate::auth::{AdminUser, AnyUser, InstitutionUser};
use crate::error::{ApiError, Problem};
use crate::grading::{self as model, ApplicationRow, Apply, GradeRow, ItemComparison};
use crate::registry::now_text;
use crate::state::AppState;
use actix_web::{HttpResponse, get, post, web};
use serde::{Deserialize, Serialize};

/// An application with the assessors and the item-by-item comparison.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ApplicationView {
    /// The application.
    #[serde(flatten)]
    pub application: ApplicationRow,
    /// Assessors' names.
    pub assessors: Vec<String>,
    /// Self-assessment against official assessment, item by item.
    pub comparison: Vec<ItemComparison>,
}

/// The eligibility review.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Review {
    /// Eligible or not.
    pub eligible: bool,
    /// Required when not eligible.
    #[serde(default)]
    pub reason: Option<String>,
}

/// The assessors.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Assessors {
    /// Inspector ids, at least two, none of whom must recuse.
    pub assessors: Vec<String>,
}

/// The committee's decision.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Decision {
    /// A grade id of the standard, or `none`.
    pub grade: String,
    /// Required when it differs from the computed grade.
    #[serde(default)]
    pub reason: Option<String>,
    /// Days of public notice (公示), 0–30; default 7.
    #[serde(default)]
    pub notice_days: Option<u32>,
}

fn view(c: &mut crate::db::DbConn, app: ApplicationRow) -> Result<ApplicationView, ApiError> {
    Ok(ApplicationView {
        assessors: model::assessors(c, &app)?,
        comparison: model::comparison(c, &app)?,
        application: app,
    })
}

fn load(
    c: &mut crate::db::DbConn,
    user: &crate::registry::users::UserRow,
    id: &str,
) -> Result<ApplicationRow, ApiError> {
    model::get(c, &user.scope(), id)?.ok_or_else(|| ApiError::not_found("application"))
}

/// Applies for a grade with a scored self-assessment; refused with 422 `application_refused`
/// listing every guard that applies.
#[utoipa::path(tag = "grading", request_body = Apply, responses((status = 201, body = ApplicationRow), (status = 422, body = Problem)), security(("bearer" = [])))]
#[post("/grading/applications")]
pub async fn apply(
    state: web::Data<AppState>,
    user: InstitutionUser,
    body: ApiJson<Apply>,
) -> Result<HttpResponse, ApiError> {
    let b = body.0;
    let inst = user
        .0
        .institution_id
        .clone()
        .ok_or_else(|| ApiError::forbidden("this user is bound to no institution"))?;
    let st = state.clone();
    let app = state
        .db(move |c| {
            model::apply(
                c,
                &st.compiled,
                &inst,
                &b.self_assessment_id,
                &b.requested_grade,
                &now_text(),
            )
        })
        .await?;
    Ok(HttpResponse::Created().json(app))
}

/// One application with its assessors and the comparison of self and official assessment.
#[utoipa::path(tag = "grading", responses((status = 200, body = ApplicationView), (status = 404, body = Problem)), security(("bearer" = [])))]
#[get("/grading/applications/{id}")]
pub async fn get_one(
    state: web::Data<AppState>,
    user: AnyUser,
    id: web::Path<String>,
) -> Result<web::Json<ApplicationView>, ApiError> {
    let id = id.into_inner();
    state
        .db(move |c| {
            let app = load(c, &user.0, &id)?;
            view(c, app)
        })
        .await
        .map(web::Json)
}

/// The eligibility review.
#[utoipa::path(tag = "grading", request_body = Review, responses((status = 200, body = ApplicationView), (status = 409, body = Problem)), security(("bearer" = [])))]
#[post("/grading/applications/{id}/review")]
pub async fn review(
    state: web::Data<AppState>,
    admin: AdminUser,
    id: web::Path<String>,
    body: ApiJson<Review>,
) -> Result<web::Json<ApplicationView>, ApiError> {
    let b = body.0;
    let id = id.into_inner();
    state
        .db(move |c| {
            let app = load(c, &admin.0, &id)?;
            model::review(
                c,
                &app,
                b.eligible,
                b.reason.as_deref(),
                &admin.0.id,
                &now_text(),
            )?;
            let app = load(c, &admin.0, &id)?;
            view(c, app)
        })
        .await
        .map(web::Json)
}

/// Assigns the assessors; the on-site assessment is an inspection they carry out as usual.
#[utoipa::path(tag = "grading", request_body = Assessors, responses((status = 200, body = ApplicationView), (status = 400, body = Problem), (status = 409, body = Problem)), security(("bearer" = [])))]
#[post("/grading/applications/{id}/assessors")]
pub async fn assessors(
    state: web::Data<AppState>,
    admin: AdminUser,
    id: web::Path<String>,
    body: ApiJson<Assessors>,
) -> Result<web::Json<ApplicationView>, ApiError> {
    let b = body.0;
    let id = id.into_inner();
    state
        .db(move |c| {
            let app = load(c, &admin.0, &id)?;
            model::assign(c, &app, &b.assessors, &admin.0.id, &now_text())?;
            let app = load(c, &admin.0, &id)?;
            view(c, app)
        })
        .await
        .map(web::Json)
}

/// The committee's decision; a grade other than the computed one needs a reason.
#[utoipa::path(tag = "grading", request_body = Decision, responses((status = 200, body = ApplicationView), (status = 400, body = Problem), (status = 409, body = Problem)), security(("bearer" = [])))]
#[post("/grading/applications/{id}/decision")]
pub async fn decide(
    state: web::Data<AppState>,
    admin: AdminUser,
    id: web::Path<String>,
    body: ApiJson<Decision>,
) -> Result<web::Json<ApplicationView>, ApiError> {
    let b = body.0;
    let days = b.notice_days.unwrap_or(7);
    if days > 30 {
        return Err(ApiError::validation(
            "notice_days",
            "notice_days must be 0–30",
        ));
    }
    let id = id.into_inner();
    state
        .db(move |c| {
            let app = load(c, &admin.0, &id)?;
            model::decide(
                c,
                &app,
                &b.grade,
                b.reason.as_deref(),
                days,
                &admin.0.id,
                &now_text(),
            )?;
            let app = load(c, &admin.0, &id)?;
            view(c, app)
        })
        .await
        .map(web::Json)
}

/// Grants the grade once the notice period is over (409 `notice_running` before); a decision of
/// `none` closes the application without a grade.
#[utoipa::path(tag = "grading", responses((status = 200, body = Option<GradeRow>), (status = 409, body = Problem)), security(("bearer" = [])))]
#[post("/grading/applications/{id}/grant")]
pub async fn grant(
    state: web::Data<AppState>,
    admin: AdminUser,
    id: web::Path<String>,
) -> Result<web::Json<Option<GradeRow>>, ApiError> {
    let id = id.into_inner();
    let st = state.clone();
    state
        .db(move |c| {
            let app = load(c, &admin.0, &id)?;
            model::grant(c, &st.compiled, &app, &admin.0.id, &now_text())
        })
        .await
        .map(web::Json)
}

/// An institution's grades, newest first (an active grade past its validity reads `lapsed`).
#[utoipa::path(tag = "grading", responses((status = 200, body = Vec<GradeRow>), (status = 404, body = Problem)), security(("bearer" = [])))]
#[get("/institutions/{id}/grades")]
pub async fn grades(
    state: web::Data<AppState>,
    user: AnyUser,
    id: web::Path<String>,
) -> Result<web::Json<Vec<GradeRow>>, ApiError> {
    let id = id.into_inner();
    state
        .db(move |c| {
            crate::registry::institutions::get(c, &user.0.scope(), &id)?
                .ok_or_else(|| ApiError::not_found("institution"))?;
            Ok(model::grades_of(c, &id)?)
        })
        .await
        .map(web::Json)
}

/// Downgrades or withdraws an active grade, with the reason (a `grade_downgraded` credit event
/// follows). Returns the lower grade for a downgrade.
#[utoipa::path(tag = "grading", request_body = crate::grading::GradeChange, responses((status = 200, body = Option<GradeRow>), (status = 400, body = Problem), (status = 409, body = Problem)), security(("bearer" = [])))]
#[post("/grades/{id}/change")]
pub async fn change(
    state: web::Data<AppState>,
    admin: AdminUser,
    id: web::Path<String>,
    body: ApiJson<crate::grading::GradeChange>,
) -> Result<web::Json<Option<GradeRow>>, ApiError> {
    let ch = body.0;
    let id = id.into_inner();
    let st = state.clone();
    state
        .db(move |c| {
            let g = model::grade_in_scope(c, &admin.0.scope(), &id)?
                .ok_or_else(|| ApiError::not_found("grade"))?;
            model::change(c, &st.compiled, &g, &ch, &admin.0.id, &now_text())
        })
        .await
        .map(web::Json)
}
