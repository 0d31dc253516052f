//! A bare actix-web server with one JSON handler and nothing else: the baseline that
//! `GET /api/v1/me` is compared against in docs/performance.md (same machine, same run).
//!
//! `cargo run --release -p caregrade --example bare_server -- 127.0.0.1:18081`

use actix_web::{App, HttpResponse, HttpServer, get};

#[get("/bare")]
async fn bare() -> HttpResponse {
    HttpResponse::Ok().json(serde_json::json!({ "ok": true }))
}

fn main() -> std::io::Result<()> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:18081".into());
    actix_web::rt::System::new().block_on(async move {
        HttpServer::new(|| App::new().service(bare))
            .bind(addr)?
            .run()
            .await
    })
}
