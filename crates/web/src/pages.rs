//! The pages of the web service that need no patient session: the start page
//! the FAQ, the health endpoint and the error pages.

use askama::Template;
use axum::Json;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use serde::Serialize;
use zaitaku_storage::StoredInstitution;

use crate::AppState;
use crate::error::{WebError, error_page};

const STYLESHEET: &str = include_str!("../static/app.css");
const KEYPAD_JS: &str = include_str!("../static/keypad.js");
const ADMIN_STYLESHEET: &str = include_str!("../static/admin.css");
const ADMIN_JS: &str = include_str!("../static/admin.js");

pub async fn admin_stylesheet() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        ADMIN_STYLESHEET,
    )
}

pub async fn admin_script() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        ADMIN_JS,
    )
}

pub async fn keypad_script() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        KEYPAD_JS,
    )
}

pub async fn stylesheet() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        STYLESHEET,
    )
}

#[derive(Serialize)]
pub struct Health {
    status: &'static str,
    database: &'static str,
    backend: &'static str,
}

/// 200 when the database answers, 503 otherwise: for load balancers and probes.
pub async fn health(State(state): State<AppState>) -> Response {
    let backend = state.store.backend().name();
    match state.store.ping().await {
        Ok(()) => Json(Health {
            status: "ok",
            database: "ok",
            backend,
        })
        .into_response(),
        Err(e) => {
            tracing::warn!(error = %e, "health check: database unavailable");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                Json(Health {
                    status: "unavailable",
                    database: "unavailable",
                    backend,
                }),
            )
                .into_response()
        }
    }
}

#[derive(Template)]
#[template(path = "home.html")]
struct HomePage;

pub async fn home() -> Result<Html<String>, WebError> {
    Ok(Html(HomePage.render()?))
}

pub async fn not_found() -> Response {
    error_page(
        StatusCode::NOT_FOUND,
        "ページが見つかりません",
        "お探しのページは見つかりませんでした。医療機関等から案内されたURLまたは二次元コードから、もう一度アクセスしてください。",
        "Z-W-0404",
    )
}

/// Unknown, rotated and switched-off URLs all get this one page, so that a
/// visitor learns nothing about which institutions exist.
pub(crate) fn unavailable_url() -> Response {
    error_page(
        StatusCode::NOT_FOUND,
        "このURLではご利用いただけません",
        "URLが正しくないか、有効期限が切れています。お手数ですが、医療機関等の職員に最新のURLまたは二次元コードをご確認ください。",
        "Z-W-0410",
    )
}

/// The institution behind a URL token, if its web service is switched on.
pub(crate) async fn open_institution(
    state: &AppState,
    token: &str,
) -> Result<Option<StoredInstitution>, WebError> {
    // Tokens are 64 hex digits; anything else cannot match and skips the query.
    if token.len() != 64 || !token.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Ok(None);
    }
    Ok(state
        .store
        .institution_by_token(token)
        .await?
        .filter(|i| i.institution.remote_function_enabled))
}

struct Faq {
    question: &'static str,
    answer: &'static str,
}

/// Questions drawn from the operation manuals (seeds 000, 001, 003).
const FAQS: &[Faq] = &[
    Faq {
        question: "何を準備すればよいですか。",
        answer: "マイナンバーカード（またはマイナンバーカード機能を搭載したスマートフォン）と、利用者証明用電子証明書の数字4桁の暗証番号をご用意ください。スマートフォンのマイナンバーカードで認証する場合、この暗証番号は必要ありません。",
    },
    Faq {
        question: "「保険証未登録」と表示されました。",
        answer: "マイナンバーカードを健康保険証として利用する登録がお済みでありません。患者さんご自身のスマートフォンでマイナポータルにアクセスし、健康保険証利用の登録を行ってから、もう一度お試しください（エラーコード E-C-04-02-A-6002）。",
    },
    Faq {
        question: "暗証番号を忘れました。ロックがかかりました。",
        answer: "利用者証明用電子証明書の暗証番号は、3回連続して間違えるとロックがかかります。ロックの解除と暗証番号の再設定は、住民票がある市区町村の窓口で行ってください。暗証番号は職員ではなく、患者さんご自身で入力してください。",
    },
    Faq {
        question: "認証が終わってもこの画面に戻りません。",
        answer: "認証に成功すると自動で戻ります。戻らない場合は、ブラウザに切り替えてマイナ在宅受付Webの画面に移動してください。マイナポータルアプリでの認証だけでは同意登録は完了していません。必ずこの画面に戻って登録を完了してください。",
    },
    Faq {
        question: "電子証明書の有効期限が近い、または切れていると表示されました。",
        answer: "有効期限の3か月前から更新できます。期限が切れた後も3か月間は猶予期間として資格情報の確認ができますが、薬剤情報などの医療情報は提供されません。お早めに住民票がある市区町村の窓口にお問い合わせください。",
    },
    Faq {
        question: "パソコンやタブレットで使えますか。",
        answer: "使えます。パソコン・タブレットでは、スマートフォンで二次元コードを読み取って認証する方法と、ICカードリーダーで認証する方法（Windows・macOSのみ）から選べます。",
    },
    Faq {
        question: "スマートフォンで正しく表示されません。",
        answer: "Androidではブラウザのメニューの「PC版サイト」のチェックを外してください。iPhoneではモバイル用Webサイトで表示してください。OSとブラウザは最新の状態にしてください。",
    },
    Faq {
        question: "登録した同意内容を確認・変更・取り消したいです。",
        answer: "右上のメニューから「同意照会・更新」または「すべての同意を取消す」を選んでください。いずれも、マイナンバーカードでの本人認証のあとに表示・変更されます。",
    },
    Faq {
        question: "オンライン診療の同意はいつまで有効ですか。",
        answer: "オンライン診療等の同意は、診察日当日まで有効です。登録が終わったら「手続きを終了する」を押して、オンライン診療のサービスに戻ってください。",
    },
];

#[derive(Template)]
#[template(path = "faq.html")]
struct FaqPage<'a> {
    institution_name: &'a str,
    token: &'a str,
    faqs: &'a [Faq],
}

pub async fn faq(
    State(state): State<AppState>,
    Path(token): Path<String>,
) -> Result<Response, WebError> {
    let Some(inst) = open_institution(&state, &token).await? else {
        return Ok(unavailable_url());
    };
    let page = FaqPage {
        institution_name: &inst.institution.name,
        token: &token,
        faqs: FAQS,
    };
    Ok(Html(page.render()?).into_response())
}
