//! 医療機関等別URL取得・変更 (seed 002 事前準備②): the institution's URL with a
//! copy button, its QR code as PNG and SVG, a printable A4 poster, and
//! 「変更」, which issues a new URL and stops the old one at once.

use askama::Template;
use axum::Form;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use chrono::Utc;
use qrcode::render::svg;
use qrcode::{Color, EcLevel, QrCode};
use zaitaku_domain::account::Permission;
use zaitaku_storage::StoredInstitution;

use crate::AppState;
use crate::common::error::WebError;
use crate::common::nav::Nav;
use crate::common::staff::{CsrfForm, Staff, gate};
use zaitaku_service::staff::Realm;

/// Quiet zone and module size of the PNG: 8 px modules print sharply on A4
/// and scan from a phone held at arm's length.
const PNG_MODULE_PX: usize = 8;

fn qr(url: &str) -> Result<QrCode, WebError> {
    // Level M survives a crease or a smudge on a printed poster.
    QrCode::with_error_correction_level(url.as_bytes(), EcLevel::M)
        .map_err(|e| WebError::Internal(e.to_string()))
}

fn svg_of(url: &str, min_px: u32) -> Result<String, WebError> {
    Ok(qr(url)?
        .render::<svg::Color>()
        .min_dimensions(min_px, min_px)
        .quiet_zone(true)
        .build())
}

/// A grey-scale PNG of the QR code with a 4-module quiet zone.
fn png_of(url: &str) -> Result<Vec<u8>, WebError> {
    let code = qr(url)?;
    let modules = code.width();
    let colors = code.to_colors();
    let quiet = 4;
    let side = (modules + 2 * quiet) * PNG_MODULE_PX;
    let mut pixels = vec![255u8; side * side];
    for (i, c) in colors.iter().enumerate() {
        if *c != Color::Dark {
            continue;
        }
        let (mx, my) = (i % modules + quiet, i / modules + quiet);
        for y in my * PNG_MODULE_PX..(my + 1) * PNG_MODULE_PX {
            let row = y * side;
            pixels[row + mx * PNG_MODULE_PX..row + (mx + 1) * PNG_MODULE_PX].fill(0);
        }
    }
    let side = u32::try_from(side).map_err(|e| WebError::Internal(e.to_string()))?;
    let mut out = Vec::new();
    let mut encoder = png::Encoder::new(&mut out, side, side);
    encoder.set_color(png::ColorType::Grayscale);
    encoder.set_depth(png::BitDepth::Eight);
    let mut writer = encoder
        .write_header()
        .map_err(|e| WebError::Internal(e.to_string()))?;
    writer
        .write_image_data(&pixels)
        .map_err(|e| WebError::Internal(e.to_string()))?;
    writer
        .finish()
        .map_err(|e| WebError::Internal(e.to_string()))?;
    Ok(out)
}

/// `attachment; filename="zaitaku-qr-1311234569.png"`
fn download(inst: &StoredInstitution, ext: &str) -> Result<HeaderValue, WebError> {
    HeaderValue::from_str(&format!(
        "attachment; filename=\"zaitaku-qr-{}.{ext}\"",
        inst.institution.code.as_str()
    ))
    .map_err(|e| WebError::Internal(e.to_string()))
}

#[derive(Template)]
#[template(path = "admin/url.html")]
struct UrlPage<'a> {
    nav: Nav<'a>,
    url: String,
    qr_svg: String,
    function_enabled: bool,
    may_rotate: bool,
    rotated: bool,
}

#[derive(serde::Deserialize)]
pub struct UrlQuery {
    rotated: Option<String>,
}

pub async fn page(
    State(state): State<AppState>,
    staff: Staff<gate::ViewUrl>,
    _headers: HeaderMap,
    axum::extract::Query(q): axum::extract::Query<UrlQuery>,
) -> Result<Response, WebError> {
    let inst = staff.institution()?;
    let url = state.institution_url(&inst.url_token);
    let page = UrlPage {
        qr_svg: svg_of(&url, 240)?,
        url,
        function_enabled: inst.institution.remote_function_enabled,
        may_rotate: staff.may(Permission::RotateUrl),
        rotated: q.rotated.is_some(),
        nav: Nav::new(&staff, Realm::Institution, "/admin/url"),
    };
    Ok(Html(page.render()?).into_response())
}

pub async fn qr_png(
    State(state): State<AppState>,
    staff: Staff<gate::ViewUrl>,
) -> Result<Response, WebError> {
    let inst = staff.institution()?;
    let body = png_of(&state.institution_url(&inst.url_token))?;
    Ok((
        [
            (header::CONTENT_TYPE, HeaderValue::from_static("image/png")),
            (header::CONTENT_DISPOSITION, download(inst, "png")?),
        ],
        body,
    )
        .into_response())
}

pub async fn qr_svg(
    State(state): State<AppState>,
    staff: Staff<gate::ViewUrl>,
) -> Result<Response, WebError> {
    let inst = staff.institution()?;
    let body = svg_of(&state.institution_url(&inst.url_token), 480)?;
    Ok((
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("image/svg+xml"),
            ),
            (header::CONTENT_DISPOSITION, download(inst, "svg")?),
        ],
        body,
    )
        .into_response())
}

#[derive(Template)]
#[template(path = "admin/poster.html")]
struct Poster<'a> {
    institution_name: &'a str,
    url: String,
    qr_svg: String,
}

/// A printable A4 page for the waiting room or the visit bag.
pub async fn poster(
    State(state): State<AppState>,
    staff: Staff<gate::ViewUrl>,
) -> Result<Response, WebError> {
    let inst = staff.institution()?;
    let url = state.institution_url(&inst.url_token);
    let page = Poster {
        institution_name: &inst.institution.name,
        qr_svg: svg_of(&url, 400)?,
        url,
    };
    Ok(Html(page.render()?).into_response())
}

#[derive(Template)]
#[template(path = "admin/url_rotate.html")]
struct RotatePage<'a> {
    nav: Nav<'a>,
}

pub async fn rotate_page(
    State(_state): State<AppState>,
    staff: Staff<gate::RotateUrl>,
) -> Result<Response, WebError> {
    let page = RotatePage {
        nav: Nav::new(&staff, Realm::Institution, "/admin/url"),
    };
    Ok(Html(page.render()?).into_response())
}

pub async fn rotate(
    State(state): State<AppState>,
    staff: Staff<gate::RotateUrl>,
    Form(form): Form<CsrfForm>,
) -> Result<Response, WebError> {
    if let Some(r) = staff.csrf_refusal(form.csrf.as_deref()) {
        return Ok(r);
    }
    zaitaku_service::institution::rotate_url(&state.store, &staff, Utc::now()).await?;
    // See Other: reloading the result page does not rotate again.
    Ok(Redirect::to("/admin/url?rotated=1").into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn png_is_a_png_of_the_right_size() {
        let bytes = png_of("https://zaitaku.example.jp/w/0123456789abcdef").unwrap();
        assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n");
        let decoder = png::Decoder::new(std::io::Cursor::new(bytes));
        let reader = decoder.read_info().unwrap();
        let info = reader.info();
        assert_eq!(info.width, info.height);
        assert_eq!(info.width as usize % PNG_MODULE_PX, 0);
    }
}
