//! The HTTP surface: the actix-web application, its routes and the OpenAPI document.
//!
//! Every route is registered through `utoipa_actix_web` `service(...)` in [`routes`], so a handler
//! annotated with `#[utoipa::path]` lands in `/api/v1/openapi.json` by construction; the
//! integration test `openapi_lists_every_route` fails when a route is missing.

pub mod answers;
pub mod assignments;
pub mod auth_routes;
pub mod body;
pub mod credit;
pub mod grading;
pub mod health;
pub mod inspectors;
pub mod institutions;
pub mod lists;
pub mod metrics;
pub mod photos;
pub mod plans;
pub mod publication;
pub mod rectifications;
pub mod request_id;
pub mod rulesets;
pub mod self_assessment;
pub mod submission;
pub mod users;
pub mod webhooks;

use crate::state::AppState;
use actix_web::body::MessageBody;
use actix_web::dev::{ServiceFactory, ServiceRequest, ServiceResponse};
use actix_web::middleware::from_fn;
use actix_web::{App, HttpResponse, web};
use std::sync::OnceLock;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};
use utoipa_actix_web::service_config::ServiceConfig;
use utoipa_actix_web::{AppExt, scope};

/// The OpenAPI document's fixed parts; paths and schemas are collected from the routes.
#[derive(OpenApi)]
#[openapi(
    info(title = "caregrade", description = "Grading and inspection of elderly-care institutions (养老机构)."),
    modifiers(&BearerAuth),
    components(schemas(crate::error::Problem))
)]
struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, api: &mut utoipa::openapi::OpenApi) {
        let components = api.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .build(),
            ),
        );
    }
}

/// Every route of the server. Add new handlers here with `service(...)`.
pub fn routes(cfg: &mut ServiceConfig) {
    cfg.service(health::healthz)
        .service(health::readyz)
        .service(metrics::metrics)
        .service(
            scope::scope("/api/v1")
                .service(auth_routes::login)
                .service(auth_routes::refresh)
                .service(auth_routes::logout)
                .service(auth_routes::me)
                .service(institutions::import_csv)
                .service(institutions::list)
                .service(institutions::create)
                .service(institutions::get_one)
                .service(institutions::update)
                .service(institutions::remove)
                .service(inspectors::import_csv)
                .service(inspectors::list)
                .service(inspectors::create)
                .service(inspectors::get_one)
                .service(inspectors::update)
                .service(inspectors::remove)
                .service(users::list)
                .service(users::create)
                .service(users::remove)
                .service(rulesets::upload)
                .service(rulesets::list)
                .service(rulesets::in_force)
                .service(rulesets::get_one)
                .service(rulesets::compiled)
                .service(rulesets::activate)
                .service(rulesets::retire)
                .service(plans::create)
                .service(plans::list)
                .service(plans::get_one)
                .service(plans::draw)
                .service(plans::get_draw)
                .service(plans::replace)
                .service(assignments::list)
                .service(assignments::get_one)
                .service(assignments::start)
                .service(photos::upload)
                .service(photos::list)
                .service(photos::announce)
                .service(photos::chunk)
                .service(photos::status)
                .service(photos::cancel)
                .service(photos::complete)
                .service(photos::get_one)
                .service(photos::original)
                .service(photos::thumbnail)
                .service(answers::sync)
                .service(answers::list)
                .service(answers::history)
                .service(submission::acknowledge)
                .service(submission::submit)
                .service(submission::outcome)
                .service(submission::package)
                .service(submission::record)
                .service(lists::list_page)
                .service(lists::export)
                .service(rectifications::get_one)
                .service(rectifications::submit)
                .service(rectifications::verify)
                .service(rectifications::reject)
                .service(rectifications::extend)
                .service(rectifications::evidence)
                .service(rectifications::run_escalation)
                .service(credit::record)
                .service(credit::enter)
                .service(credit::repair)
                .service(publication::draft)
                .service(publication::get_batch)
                .service(publication::publish)
                .service(publication::withdraw)
                .service(publication::correct)
                .service(publication::late)
                .service(grading::apply)
                .service(grading::get_one)
                .service(grading::review)
                .service(grading::assessors)
                .service(grading::decide)
                .service(grading::grant)
                .service(grading::grades)
                .service(grading::change)
                .service(webhooks::create)
                .service(webhooks::list)
                .service(webhooks::deliveries)
                .service(webhooks::deliver)
                .service(self_assessment::create)
                .service(self_assessment::list)
                .service(self_assessment::run)
                .service(self_assessment::runs),
        )
        .service(
            scope::scope("/public/v1")
                .service(publication::public_list)
                .service(publication::public_get)
                .service(plans::public_draw),
        );
}

/// The OpenAPI document (built once).
pub fn openapi_json() -> &'static str {
    static DOC: OnceLock<String> = OnceLock::new();
    DOC.get_or_init(|| {
        let (_, doc) = App::new()
            .into_utoipa_app()
            .openapi(ApiDoc::openapi())
            .configure(routes)
            .split_for_parts();
        doc.to_json().unwrap_or_else(|_| "{}".into())
    })
}

async fn serve_openapi() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/json")
        .body(openapi_json())
}

async fn not_found() -> Result<HttpResponse, crate::error::ApiError> {
    Err(crate::error::ApiError::not_found("route"))
}

/// The application for one worker.
pub fn app(
    state: web::Data<AppState>,
) -> App<
    impl ServiceFactory<
        ServiceRequest,
        Config = (),
        Response = ServiceResponse<impl MessageBody>,
        Error = actix_web::Error,
        InitError = (),
    >,
> {
    // The document's own route comes first: the `/api/v1` scope would otherwise answer 404 for it.
    let (app, _) = App::new()
        .route("/api/v1/openapi.json", web::get().to(serve_openapi))
        .into_utoipa_app()
        .configure(routes)
        .split_for_parts();
    app.app_data(state)
        .app_data(web::PathConfig::default().error_handler(body::path_error))
        .default_service(web::to(not_found))
        .wrap(from_fn(request_id::request_id))
}
