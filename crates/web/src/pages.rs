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
use crate::common::error::WebError;
use crate::common::refusal::Refusal;

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
    Refusal::PageNotFound.into_response()
}

/// Unknown, rotated and switched-off URLs all get this one page, so that a
/// visitor learns nothing about which institutions exist.
pub(crate) fn unavailable_url() -> Response {
    Refusal::UrlUnavailable.into_response()
}

/// The JWK set of the key that signs returns to online-care partners.
pub async fn return_keys(State(state): State<AppState>) -> Response {
    (
        [
            (header::CACHE_CONTROL, "public, max-age=3600"),
            // Public by nature; a partner's page may fetch it from a browser.
            (header::ACCESS_CONTROL_ALLOW_ORIGIN, "*"),
        ],
        Json(state.signer.jwks()),
    )
        .into_response()
}

/// The same key as PEM, for `openssl pkeyutl -verify`.
pub async fn return_key_pem(State(state): State<AppState>) -> Response {
    (
        [
            (header::CONTENT_TYPE, "application/x-pem-file"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
            (header::ACCESS_CONTROL_ALLOW_ORIGIN, "*"),
        ],
        state.signer.public_pem(),
    )
        .into_response()
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

struct FaqGroup {
    title: &'static str,
    faqs: &'static [Faq],
}

/// Questions a patient or a visiting nurse asks, answered from the seeds:
/// the web-service manual (000), the staff-app guide (001), the fallbacks
/// (002), the online-care guide (003) and the counter poster (004). The
/// source of each answer is noted beside it.
const FAQ_GROUPS: &[FaqGroup] = &[
    FaqGroup {
        title: "ご利用の前に",
        faqs: &[
            // 000 「事前に準備するもの」(1)(2)
            Faq {
                question: "何を準備すればよいですか。",
                answer: "マイナンバーカード（またはマイナンバーカード機能を搭載したスマートフォン）と、利用者証明用電子証明書の数字4桁の暗証番号をご用意ください。あわせて、マイナンバーカードの健康保険証利用の登録が済んでいる必要があります。スマートフォンのマイナンバーカードで認証する場合、カードの暗証番号は必要ありません。",
            },
            // 000 (2), 001 保険証未登録 E-C-04-02-A-6002, 004 初回登録
            Faq {
                question: "健康保険証利用の登録がまだです。「保険証未登録」と表示されました。",
                answer: "マイナンバーカードの健康保険証利用の登録が必要です。マイナポータル（アプリまたはサイト）で登録してください。医療機関・薬局の顔認証付きカードリーダーでも、「続ける」→ 利用規約の「同意して進む」の順に進めると登録できます。登録が終わったら、最初の画面からもう一度同意登録をしてください（エラーコード E-C-04-02-A-6002）。",
            },
            // 000 (3)(4) と 参考「各OSにおける画面表示形式について」
            Faq {
                question: "どの端末で使えますか。",
                answer: "スマートフォン、タブレット、パソコンで使えます。スマートフォンではマイナポータルアプリで認証します。タブレット・パソコンでは、スマートフォンで二次元コードを読み取って認証するか、ICカードリーダーで認証します。ICカードリーダーはWindowsまたはmacOSのパソコンでのみ使えます（Androidタブレット・iPadでは使えません）。",
            },
            // 000 (3) ブラウザ設定
            Faq {
                question: "スマートフォンで画面が正しく表示されません。",
                answer: "Androidではブラウザのメニューの「PC版サイト」のチェックを外してください。iPhoneではモバイル用Webサイト（Safari）／モバイルサイト（Chrome）で表示してください。OSとブラウザは最新の状態にしてください。",
            },
        ],
    },
    FaqGroup {
        title: "本人認証（暗証番号）",
        faqs: &[
            // 000 本人認証 STEP② ※1, ※2
            Faq {
                question: "どの暗証番号を入力しますか。職員が入力してもよいですか。",
                answer: "実物のマイナンバーカードでは、市区町村の窓口でカードを受け取ったときに設定した利用者証明用電子証明書の数字4桁の暗証番号です。Androidのスマートフォンのマイナンバーカードでは、スマートフォンに登録したときに設定した数字4桁の暗証番号です。iPhoneでは生体認証（Face ID・Touch ID）を使います。暗証番号は、必ず患者さんご自身で入力してください。",
            },
            // 000 ※1, ※2; brief: 3 tries, counter resets only on success
            Faq {
                question: "暗証番号を忘れました。ロックがかかりました。",
                answer: "暗証番号は3回連続して間違えるとロックがかかります。ロックの解除と暗証番号の再設定は、住民票がある市区町村の窓口で行ってください。ロックがかかっている間は、このサービスで同意登録はできません。",
            },
            // 000 本人認証 STEP③, 003 ⑥
            Faq {
                question: "認証が終わってもこの画面に戻りません。",
                answer: "認証に成功すると自動で戻ります。戻らない場合は、ブラウザに切り替えてマイナ在宅受付Webの画面に移動してください。マイナポータルアプリでの認証だけでは、同意登録・照会・更新・取消は完了していません。必ずこの画面に戻って完了してください。",
            },
            // brief (JPKI): renewal from 3 months before, grace of 3 months
            Faq {
                question: "電子証明書の有効期限が近い、または切れていると表示されました。",
                answer: "電子証明書は有効期限の3か月前から更新できます。期限が切れた後の3か月間（猶予期間）は資格情報の確認はできますが、薬剤情報などの医療情報は医療機関等に提供されません。それを過ぎると利用できません。住民票がある市区町村の窓口で更新してください。",
            },
        ],
    },
    FaqGroup {
        title: "同意の内容",
        faqs: &[
            // 004 「同意すると、どうなるの？」
            Faq {
                question: "同意すると、どうなりますか。",
                answer: "医師・歯科医師・薬剤師等が、過去の診療情報やお薬の情報、特定健診等の情報を確認できるようになり、データに基づくより良い医療を受けられます。同意するかどうかは、項目ごとに選べます。",
            },
            // 004 「診療/薬剤情報って？」「特定健診情報って？」
            Faq {
                question: "診療情報・薬剤情報・特定健診等情報とは何ですか。",
                answer: "診療情報は医療機関を受診したときの受診歴や診療行為などの情報、薬剤情報は薬局等で受け取ったお薬（注射・点滴等を含む）の情報です。特定健診情報は、40歳から74歳までの方を対象にメタボリックシンドロームに着目して行われる健診結果で、75歳以上の方は後期高齢者健診の情報です。",
            },
            // 004 「限度額適用認定証って？」, 003 限度額情報の提供
            Faq {
                question: "限度額情報の提供に同意すると、何が変わりますか。",
                answer: "事前に限度額適用認定証を準備しなくても、窓口での支払いが所得に応じた上限額までになります（高額療養費制度）。",
            },
            // 000 A②「同意する項目は医療機関等側の設定により異なります」
            Faq {
                question: "表示される同意の項目が、ほかの医療機関等と違います。",
                answer: "同意する項目は、医療機関等ごとの設定により異なります。",
            },
            // 000 はじめに, A② STEP 2
            Faq {
                question: "処方箋の発行方法は何を選べばよいですか。",
                answer: "電子処方箋に対応している病院・診療所の場合のみ、「電子処方箋を希望」か「紙の処方箋を希望」を選びます（必須）。薬局・訪問看護ステーションでは表示されません。",
            },
            // 000 B, C; 「右上のメニューボタンから」
            Faq {
                question: "登録した同意内容を確認・変更・取り消したいです。",
                answer: "最初の画面の右上の「メニュー」から「同意照会・更新」または「すべての同意を取消す」を選んでください。いずれも、マイナンバーカードで本人認証をしてから表示・変更されます。すべての同意を取り消すと、処方箋の発行方法の情報も取り下げられます。",
            },
        ],
    },
    FaqGroup {
        title: "オンライン診療の方へ",
        faqs: &[
            // 003 ⑦ ※
            Faq {
                question: "同意はいつまで有効ですか。",
                answer: "オンライン診療等の同意は、診察日（受診予定日）の当日まで有効です。",
            },
            // 003 ⑦
            Faq {
                question: "登録が終わったら、どうすればよいですか。",
                answer: "必ず「手続きを終了する」を押して、オンライン診療のサービスに戻ってください。押さずに終了すると、同意登録が完了したことがオンライン診療のサービスに伝わらず、医療機関から保険証画像のアップロードなどを依頼されることがあります。",
            },
            // 003 ⑦ ※
            Faq {
                question: "同意した情報は、オンライン診療のサービスにも見られますか。",
                answer: "見られません。同意した情報は医療機関のみが確認できます。オンライン診療のサービスには、手続きが完了したかどうかだけが伝わります。",
            },
            // 003 注意事項
            Faq {
                question: "マイナ保険証を使わない場合や、手続きができない場合はどうなりますか。",
                answer: "「同意登録をせずに戻る」を押してオンライン診療のサービスに戻り、その案内に従って保険証画像のアップロードなどをしてください。",
            },
        ],
    },
    FaqGroup {
        title: "職員の方へ",
        faqs: &[
            // 000 参考: PC/tablet authentication choice
            Faq {
                question: "パソコン・タブレットではどう認証しますか。",
                answer: "登録内容の確認画面で「スマートフォンで認証する（二次元コード）」を押して患者さんのスマートフォンで二次元コードを読み取るか、ICカードリーダーにマイナンバーカードをセットして「ICカードリーダーで認証する」を押します。",
            },
            // 002 目視確認: own device via QR
            Faq {
                question: "患者さんのスマートフォンで二次元コードを読み取って認証しました。",
                answer: "患者さんご自身の端末で認証した場合は、顔写真付きの本人確認書類などで本人確認を行ってください。再訪問などで本人であることが明らかな場合を除きます。",
            },
            // 000 はじめに C ※
            Faq {
                question: "同意の取消は誰が行いますか。",
                answer: "基本的には医療機関等が資格確認端末で取消を行いますが、患者さんがこのサービスで取り消すこともできます。",
            },
            // 000 困ったときには
            Faq {
                question: "ここで解決しない場合は。",
                answer: "医療機関等向け総合ポータルサイトをご活用ください。画面の下に表示される画面番号とエラーコードをお伝えいただくと、確認が早くなります。",
            },
        ],
    },
];

#[derive(Template)]
#[template(path = "faq.html")]
struct FaqPage<'a> {
    institution_name: &'a str,
    subtitle: &'static str,
    token: &'a str,
    groups: &'a [FaqGroup],
}

pub async fn faq(
    State(state): State<AppState>,
    Path(token): Path<String>,
    headers: axum::http::HeaderMap,
) -> Result<Response, WebError> {
    let Some(inst) = open_institution(&state, &token).await? else {
        return Ok(unavailable_url());
    };
    let page = FaqPage {
        institution_name: &inst.institution.name,
        subtitle: crate::patient::visit_subtitle(&state, &headers, inst.id).await?,
        token: &token,
        groups: FAQ_GROUPS,
    };
    Ok(Html(page.render()?).into_response())
}
