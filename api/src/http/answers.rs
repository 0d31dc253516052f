//! `/inspections/{id}/answers`: the idempotent sync of answers from offline phones, the current
//! answers and their audit trail.

use super::body::ApiJson;
use crate::auth::AnyUser;
use crate::error::{ApiError, Problem};
use crate::inspections::answers::{
    self as model, Answer, AnswerChange, MAX_BATCH, SyncBatch, SyncReport,
};
use crate::inspections::{self, Access, Need, facts};
use crate::state::AppState;
use actix_web::http::StatusCode;
use actix_web::{HttpResponse, get, post, web};

/// Applies a batch of answers. Each answer is applied, recognised as a duplicate (same
/// `client_uuid`: nothing written), refused with its reason (unknown item, wrong type, bad time) or
/// found stale (`base_version` behind: `current` shows the answer as it is). Valid answers are kept
/// whatever happens to the others. 200 with one result per answer; 409 `answer_conflict` when some
/// were stale (the report is in `current`, the stale ones in `errors`).
#[utoipa::path(tag = "inspections", request_body = SyncBatch, responses((status = 200, body = SyncReport), (status = 409, body = Problem), (status = 404, body = Problem)), security(("bearer" = [])))]
#[post("/inspections/{id}/answers")]
pub async fn sync(
    state: web::Data<AppState>,
    user: AnyUser,
    id: web::Path<String>,
    body: ApiJson<SyncBatch>,
) -> Result<HttpResponse, ApiError> {
    let batch = body.0.answers;
    if batch.len() > MAX_BATCH {
        return Err(ApiError::validation(
            "answers",
            format!("at most {MAX_BATCH} answers per batch"),
        ));
    }
    let id = id.into_inner();
    let st = state.clone();
    let report = state
        .db(move |c| {
            let (row, _) = inspections::require(c, &user.0, &id, Need::TeamWritable)?;
            let pinned = facts::pinned(&st.compiled, c, &row)?.map_err(ApiError::internal)?;
            model::sync(c, &row, &pinned, &batch, &user.0.id)?.map_err(|_| inspections::submitted())
        })
        .await?;
    if report.conflicts == 0 {
        return Ok(HttpResponse::Ok().json(report));
    }
    let stale: Vec<_> = report
        .results
        .iter()
        .filter(|r| r.status == model::SyncStatus::Conflict)
        .cloned()
        .collect();
    let mut e = ApiError::new(
        StatusCode::CONFLICT,
        "answer_conflict",
        "Stale answers",
        format!(
            "{} answer(s) were based on a stale version and not applied; {} applied",
            report.conflicts, report.applied
        ),
    );
    e.extra = Some(Box::new(crate::error::Extra {
        current: serde_json::to_value(&report).ok(),
        errors: serde_json::to_value(&stale).ok(),
    }));
    Err(e)
}

/// The current answers of an inspection.
#[utoipa::path(tag = "inspections", responses((status = 200, body = Vec<Answer>), (status = 404, body = Problem)), security(("bearer" = [])))]
#[get("/inspections/{id}/answers")]
pub async fn list(
    state: web::Data<AppState>,
    user: AnyUser,
    id: web::Path<String>,
) -> Result<web::Json<Vec<Answer>>, ApiError> {
    let id = id.into_inner();
    state
        .db(move |c| {
            inspections::require(c, &user.0, &id, Need::Read)?;
            Ok(model::list(c, &id)?)
        })
        .await
        .map(web::Json)
}

/// Every change of every answer (who, when, old → new), oldest first: the team and the bureau.
#[utoipa::path(tag = "inspections", responses((status = 200, body = Vec<AnswerChange>), (status = 403, body = Problem), (status = 404, body = Problem)), security(("bearer" = [])))]
#[get("/inspections/{id}/answers/history")]
pub async fn history(
    state: web::Data<AppState>,
    user: AnyUser,
    id: web::Path<String>,
) -> Result<web::Json<Vec<AnswerChange>>, ApiError> {
    let id = id.into_inner();
    state
        .db(move |c| {
            let (_, how) = inspections::require(c, &user.0, &id, Need::Read)?;
            if how == Access::Institution {
                return Err(ApiError::forbidden(
                    "the audit trail is for the team and the bureau",
                ));
            }
            Ok(model::history(c, &id)?)
        })
        .await
        .map(web::Json)
}
