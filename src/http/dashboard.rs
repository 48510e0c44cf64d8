//! The dashboard page at `/`: static HTML, CSS and JavaScript embedded in the binary, with the
//! uPlot charting library vendored under `dashboard/vendor/` (see its README there). The page
//! holds no data: it asks for the admin token and reads the bearer-protected JSON endpoints
//! under `/admin/`.
//!
//! Every file is served with a Content-Security-Policy that allows scripts, styles and
//! requests from this origin only, no inline script or style, no framing, and no form
//! submission, so a value from a delivery that reached the page as markup could still not run.

use actix_web::http::header;
use actix_web::{web, HttpResponse};

/// The policy of every dashboard file.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; \
     style-src 'self'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; \
     form-action 'none'; frame-ancestors 'none'";

/// An embedded file: its path, media type and bytes.
struct Asset {
    path: &'static str,
    media_type: &'static str,
    bytes: &'static [u8],
}

const ASSETS: &[Asset] = &[
    Asset {
        path: "/",
        media_type: "text/html; charset=utf-8",
        bytes: include_bytes!("dashboard/index.html"),
    },
    Asset {
        path: "/assets/dashboard.js",
        media_type: "text/javascript; charset=utf-8",
        bytes: include_bytes!("dashboard/dashboard.js"),
    },
    Asset {
        path: "/assets/dashboard.css",
        media_type: "text/css; charset=utf-8",
        bytes: include_bytes!("dashboard/dashboard.css"),
    },
    Asset {
        path: "/assets/uPlot.iife.min.js",
        media_type: "text/javascript; charset=utf-8",
        bytes: include_bytes!("dashboard/vendor/uPlot.iife.min.js"),
    },
    Asset {
        path: "/assets/uPlot.min.css",
        media_type: "text/css; charset=utf-8",
        bytes: include_bytes!("dashboard/vendor/uPlot.min.css"),
    },
];

/// Registers a GET route per embedded file.
pub fn routes(cfg: &mut web::ServiceConfig) {
    for asset in ASSETS {
        let (media_type, bytes) = (asset.media_type, asset.bytes);
        cfg.route(
            asset.path,
            web::get().to(move || async move { serve(media_type, bytes) }),
        );
    }
}

fn serve(media_type: &'static str, bytes: &'static [u8]) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, media_type))
        .insert_header((header::CONTENT_SECURITY_POLICY, CONTENT_SECURITY_POLICY))
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .insert_header((header::REFERRER_POLICY, "no-referrer"))
        .insert_header((header::X_FRAME_OPTIONS, "DENY"))
        // The files change only with the binary; a restart after an upgrade must not leave an
        // old script next to a new page.
        .insert_header((header::CACHE_CONTROL, "no-cache"))
        .body(bytes)
}
