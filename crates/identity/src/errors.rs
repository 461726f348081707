//! What can go wrong, with stable codes and the Japanese people read.

use zaitaku_card::{CardError, VerifyError};
use zaitaku_storage::{NonceRejection, StorageError};

#[derive(Debug, thiserror::Error)]
pub enum IdentityError {
    #[error(transparent)]
    Storage(#[from] StorageError),
    #[error(transparent)]
    Card(#[from] CardError),
    #[error("乱数を取得できません: {0}")]
    Random(String),
    #[error("カード {0} は登録されていません。")]
    NoSuchCard(i64),
    #[error("患者 {0} は登録されていません。")]
    NoSuchPerson(i64),
    #[error("暗証番号は数字4桁で入力してください。")]
    PinFormat,
    #[error("iPhoneのカードには暗証番号がありません（生体認証で使います）。")]
    NoPinOnIphone,
    #[error("認証局がありません。先に認証局を作成してください。")]
    NoAuthority,
    #[error("カードの種類「{0}」が登録データにあり得ない値です。")]
    UnknownCardKind(String),
}

/// The card's answer to one unlock attempt.
#[derive(Debug, thiserror::Error)]
pub enum AttemptError {
    #[error("暗証番号は数字4桁で入力してください。")]
    PinFormat,
    #[error("暗証番号が違います（残り{tries_left}回）。")]
    WrongPin { tries_left: u8 },
    #[error("暗証番号を3回連続して間違えたため、ロックされました。")]
    LockedNow,
    #[error("暗証番号がロックされています。")]
    Locked,
    #[error("このカードの電子証明書は失効しています。")]
    Revoked,
    #[error("カードが見つかりません。")]
    NoSuchCard,
    #[error("{0}")]
    Internal(String),
}

/// Why a returned token does not log anyone in.
#[derive(Debug, thiserror::Error)]
pub enum LoginError {
    #[error("{}", nonce_message(*.0))]
    Nonce(NonceRejection),
    #[error("{0}")]
    Token(#[from] VerifyError),
    #[error("このカードは登録されていません。")]
    UnknownCard,
    #[error(
        "このカードの電子証明書は失効しています。住民票がある市区町村の窓口にお問い合わせください。"
    )]
    CardRevoked,
    #[error(
        "マイナンバーカードを保険証として利用するための登録が必要です。患者ご自身のスマートフォンでマイナポータルへアクセスし、手続きをお願いします。"
    )]
    NotRegistered,
    /// 健康保険証利用登録 was made and is still being processed.
    #[error("健康保険証利用登録の処理中です。少し時間を置いてから再度資格確認を行ってください。")]
    RegistrationPending,
    #[error("ただいま認証できません。しばらくしてからもう一度お試しください。")]
    Internal(#[from] IdentityError),
}

fn nonce_message(r: NonceRejection) -> &'static str {
    match r {
        NonceRejection::Unknown | NonceRejection::OtherSession => {
            "認証が正しく行われませんでした。最初からやり直してください。"
        }
        NonceRejection::Expired => {
            "認証の有効期限（5分）が切れました。最初からやり直してください。"
        }
        NonceRejection::AlreadyUsed => {
            "この認証はすでに使われています。最初からやり直してください。"
        }
    }
}

impl LoginError {
    /// Stable code; 保険証未登録 keeps the national code of seed 001.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Nonce(NonceRejection::Unknown) => "Z-C-0101",
            Self::Nonce(NonceRejection::OtherSession) => "Z-C-0102",
            Self::Nonce(NonceRejection::Expired) => "Z-C-0103",
            Self::Nonce(NonceRejection::AlreadyUsed) => "Z-C-0104",
            Self::Token(e) => e.code(),
            Self::UnknownCard => "Z-C-0105",
            Self::CardRevoked => "Z-C-0106",
            Self::NotRegistered => "E-C-04-02-A-6002",
            Self::RegistrationPending => "Z-C-0107",
            Self::Internal(_) => "Z-C-0199",
        }
    }

    /// Headline for the error screen.
    pub fn title(&self) -> &'static str {
        match self {
            Self::NotRegistered => "保険証未登録",
            Self::RegistrationPending => "健康保険証利用登録の処理中",
            Self::Nonce(NonceRejection::Expired) => "有効期限切れ",
            Self::Token(VerifyError::Expired { .. }) => "電子証明書の有効期限切れ",
            Self::Token(VerifyError::Revoked) | Self::CardRevoked => "電子証明書の失効",
            _ => "認証できませんでした",
        }
    }
}
