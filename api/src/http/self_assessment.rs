//! `/self-assessments`: an institution scores itself under the grading standard in force and
//! sees its predicted grade and gap; answers and photos go through `/inspections/{id}/…`.

use super::body::ApiJson;
use crate::auth::{AnyUser, InstitutionUser};
use crate::error::{ApiError, Problem};
use crate::inspections::self_assessment::{self as model, Run, SelfAssessment};
use crate::inspections::{self, Need, purpose};
use crate::registry::now_text;
use crate::state::AppState;
use actix_web::{HttpResponse, get, post, web};
use serde::Deserialize;

/// Which standard to self-assess under.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewSelfAssessment {
    /// A stored standard's hash; default the one in force for the institution's district.
    #[serde(default)]
    pub standard: Option<String>,
}

fn own_institution(user: &InstitutionUser) -> Result<String, ApiError> {
    user.0
        .institution_id
        .clone()
        .ok_or_else(|| ApiError::forbidden("this user is bound to no institution"))
}

/// Starts a self-assessment (a draft the institution answers and scores as often as it likes).
#[utoipa::path(tag = "self-assessment", request_body = NewSelfAssessment, responses((status = 201, body = SelfAssessment), (status = 409, body = Problem)), security(("bearer" = [])))]
#[post("/self-assessments")]
pub async fn create(
    state: web::Data<AppState>,
    user: InstitutionUser,
    body: ApiJson<NewSelfAssessment>,
) -> Result<HttpResponse, ApiError> {
    let inst = own_institution(&user)?;
    let standard = body.0.standard;
    let sa = state
        .db(move |c| model::create(c, &inst, standard.as_deref(), &now_text()))
        .await?;
    Ok(HttpResponse::Created().json(sa))
}

/// The institution's self-assessments, newest first.
#[utoipa::path(tag = "self-assessment", responses((status = 200, body = Vec<SelfAssessment>)), security(("bearer" = [])))]
#[get("/self-assessments")]
pub async fn list(
    state: web::Data<AppState>,
    user: InstitutionUser,
) -> Result<web::Json<Vec<SelfAssessment>>, ApiError> {
    let inst = own_institution(&user)?;
    state
        .db(move |c| Ok(model::list(c, &inst)?))
        .await
        .map(web::Json)
}

fn self_assessment(
    c: &mut crate::db::DbConn,
    user: &crate::registry::users::UserRow,
    id: &str,
    need: Need,
) -> Result<inspections::InspectionRow, ApiError> {
    let (row, _) = inspections::require(c, user, id, need)?;
    if row.purpose != purpose::SELF_ASSESSMENT {
        return Err(ApiError::not_found("self-assessment"));
    }
    Ok(row)
}

/// Scores the self-assessment as it stands: predicted grade, why, the first threshold missed for
/// the next grade, the gap per part and the cheapest items to close it. The run is kept.
#[utoipa::path(tag = "self-assessment", responses((status = 201, body = Run), (status = 403, body = Problem), (status = 404, body = Problem)), security(("bearer" = [])))]
#[post("/self-assessments/{id}/runs")]
pub async fn run(
    state: web::Data<AppState>,
    user: InstitutionUser,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let st = state.clone();
    let run = state
        .db(move |c| {
            let sa = self_assessment(c, &user.0, &id, Need::Team)?;
            model::run(c, &st.compiled, &sa, &now_text())
        })
        .await?;
    Ok(HttpResponse::Created().json(run))
}

/// Every run so far (total and grade), to compare over time: the institution and its bureau.
#[utoipa::path(tag = "self-assessment", responses((status = 200, body = Vec<Run>), (status = 404, body = Problem)), security(("bearer" = [])))]
#[get("/self-assessments/{id}/runs")]
pub async fn runs(
    state: web::Data<AppState>,
    user: AnyUser,
    id: web::Path<String>,
) -> Result<web::Json<Vec<Run>>, ApiError> {
    let id = id.into_inner();
    state
        .db(move |c| {
            self_assessment(c, &user.0, &id, Need::Read)?;
            Ok(model::runs(c, &id)?)
        })
        .await
        .map(web::Json)
}
