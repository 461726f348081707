//! アカウント管理 (seed 002 事前準備③): an institution's administrator
//! registers accounts (権限区分, ユーザID, ユーザ名, ユーザ名（カナ）,
//! 利用開始年月日), disables and enables them, resets a password and unlocks
//! a locked account; the platform's operator unlocks an institution's
//! administrator. A new or reset account gets a temporary password, returned
//! once and never stored, which must be changed at the next login.
//!
//! Every change is audited with the account it was made to; an account that
//! is not the administrator's institution's reads as none at all.

use chrono::{DateTime, NaiveDate, Utc};
use serde_json::json;
use zaitaku_domain::account::{Role, validate_display_name, validate_kana_name, validate_user_id};
use zaitaku_domain::error::ValidationError;
use zaitaku_storage::{NewAccount, StorageError, Store, StoredAccount};

use crate::ServiceError;
use crate::staff::{Session, hash_password_off_thread, temporary_password};

/// Why an account was not registered or changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AccountRefusal {
    /// 権限区分 is not one of an institution's roles (a tampered form).
    Role,
    /// ユーザID, ユーザ名 or ユーザ名（カナ） breaks a rule.
    Field(ValidationError),
    /// 利用開始年月日 is not a date.
    StartDate,
    /// The user ID is taken (user IDs are unique across the platform).
    UserIdTaken(String),
    /// An administrator may not disable their own account or reset their own
    /// password: the institution could be left without an administrator.
    OwnAccount,
    /// No such account at the signed-in staff's institution (or, for the
    /// operator, no such administrator).
    NotFound,
}

impl AccountRefusal {
    pub fn code(&self) -> &'static str {
        match self {
            Self::Role => "Z-W-0620",
            Self::Field(e) => e.code(),
            Self::StartDate => "Z-W-0621",
            Self::UserIdTaken(_) => "Z-W-0622",
            Self::OwnAccount => "Z-W-0623",
            Self::NotFound => "Z-W-0605",
        }
    }

    /// The heading of a refusal shown on a page of its own.
    pub fn title(&self) -> &'static str {
        match self {
            Self::OwnAccount => "ご自身のアカウントは変更できません",
            Self::NotFound => "該当する情報がありません",
            Self::Role | Self::Field(_) | Self::StartDate | Self::UserIdTaken(_) => {
                "入力内容を確認してください"
            }
        }
    }

    pub fn message(&self) -> String {
        match self {
            Self::Role => "権限区分を選択してください。".into(),
            Self::Field(e) => e.to_string(),
            Self::StartDate => "利用開始年月日を正しく入力してください（例: 2026-04-01）。".into(),
            Self::UserIdTaken(user_id) => format!(
                "ユーザID「{user_id}」は既に登録されています。別のユーザIDを入力してください。"
            ),
            Self::OwnAccount => "ログイン中のアカウントを無効にすると、管理者がいなくなるおそれがあります。別の管理者アカウントから操作してください。".into(),
            Self::NotFound => {
                "指定された情報は見つかりませんでした。一覧から選び直してください。".into()
            }
        }
    }
}

/// The registration form as typed.
#[derive(Debug, Clone, Copy, Default)]
pub struct AccountForm<'a> {
    /// [`Role::as_str`] of one of [`Role::INSTITUTION`].
    pub role: &'a str,
    pub user_id: &'a str,
    pub name: &'a str,
    pub name_kana: &'a str,
    /// `YYYY-MM-DD`.
    pub start_date: &'a str,
}

/// An account with the temporary password it was just given, to be shown
/// once.
#[derive(Debug)]
pub struct WithTemporaryPassword {
    pub account: StoredAccount,
    pub password: String,
}

struct Checked {
    role: Role,
    user_id: String,
    name: String,
    name_kana: String,
    start_date: NaiveDate,
}

fn check(form: &AccountForm<'_>) -> Result<Checked, AccountRefusal> {
    let role = Role::parse(form.role)
        .ok()
        .filter(|r| Role::INSTITUTION.contains(r))
        .ok_or(AccountRefusal::Role)?;
    let user_id = validate_user_id(form.user_id).map_err(AccountRefusal::Field)?;
    let name = validate_display_name("ユーザ名", form.name).map_err(AccountRefusal::Field)?;
    let name_kana = validate_kana_name(form.name_kana).map_err(AccountRefusal::Field)?;
    let start_date = NaiveDate::parse_from_str(form.start_date.trim(), "%Y-%m-%d")
        .map_err(|_| AccountRefusal::StartDate)?;
    Ok(Checked {
        role,
        user_id,
        name,
        name_kana,
        start_date,
    })
}

/// The accounts of the administrator's institution.
pub async fn list(store: &Store, admin: &Session) -> Result<Vec<StoredAccount>, ServiceError> {
    let inst = admin.staff_institution()?;
    Ok(store.accounts_of(inst.id).await?)
}

/// Registers an account at the administrator's institution with a temporary
/// password.
pub async fn create(
    store: &Store,
    admin: &Session,
    form: &AccountForm<'_>,
    now: DateTime<Utc>,
) -> Result<Result<WithTemporaryPassword, AccountRefusal>, ServiceError> {
    let inst = admin.staff_institution()?;
    let c = match check(form) {
        Ok(c) => c,
        Err(why) => return Ok(Err(why)),
    };
    let password = temporary_password()?;
    let hash = hash_password_off_thread(&password).await?;
    let created = store
        .insert_account(
            &NewAccount {
                institution_id: Some(inst.id),
                user_id: &c.user_id,
                role: c.role,
                name: &c.name,
                name_kana: &c.name_kana,
                start_date: c.start_date,
                password_hash: &hash,
                must_change_password: true,
            },
            now,
        )
        .await;
    let account = match created {
        Ok(a) => a,
        Err(StorageError::Duplicate(_)) => return Ok(Err(AccountRefusal::UserIdTaken(c.user_id))),
        Err(e) => return Err(e.into()),
    };
    store
        .audit(
            &admin.actor().event(
                "account.create",
                "ok",
                None,
                json!({"target": account.id, "target_user_id": account.user_id, "target_role": c.role.as_str()}),
            ),
            now,
        )
        .await?;
    Ok(Ok(WithTemporaryPassword { account, password }))
}

/// The account `id` of the administrator's institution. Another
/// institution's account reads as none, and the attempt is audited.
async fn own_account(
    store: &Store,
    admin: &Session,
    id: i64,
    attempted: &str,
    now: DateTime<Utc>,
) -> Result<Option<StoredAccount>, ServiceError> {
    let inst = admin.staff_institution()?;
    let found = store.account_of(inst.id, id).await?;
    if found.is_none() {
        store
            .audit(
                &admin.actor().event(
                    "access.denied",
                    "not_found",
                    None,
                    json!({"requested_account": id, "attempted": attempted}),
                ),
                now,
            )
            .await?;
    }
    Ok(found)
}

/// The audit detail naming the account changed.
fn target(a: &StoredAccount) -> serde_json::Value {
    json!({"target": a.id, "target_user_id": a.user_id})
}

/// 無効: the account can no longer log in, and its open sessions end at
/// their next request.
pub async fn disable(
    store: &Store,
    admin: &Session,
    id: i64,
    now: DateTime<Utc>,
) -> Result<Result<StoredAccount, AccountRefusal>, ServiceError> {
    let Some(account) = own_account(store, admin, id, "disable", now).await? else {
        return Ok(Err(AccountRefusal::NotFound));
    };
    if account.id == admin.account.id {
        return Ok(Err(AccountRefusal::OwnAccount));
    }
    store.set_account_disabled(account.id, true).await?;
    store
        .audit(
            &admin
                .actor()
                .event("account.disable", "ok", None, target(&account)),
            now,
        )
        .await?;
    Ok(Ok(account))
}

/// 有効: a disabled account may log in again.
pub async fn enable(
    store: &Store,
    admin: &Session,
    id: i64,
    now: DateTime<Utc>,
) -> Result<Result<StoredAccount, AccountRefusal>, ServiceError> {
    let Some(account) = own_account(store, admin, id, "enable", now).await? else {
        return Ok(Err(AccountRefusal::NotFound));
    };
    store.set_account_disabled(account.id, false).await?;
    store
        .audit(
            &admin
                .actor()
                .event("account.enable", "ok", None, target(&account)),
            now,
        )
        .await?;
    Ok(Ok(account))
}

/// ロック解除: the failed-login count starts again.
pub async fn unlock(
    store: &Store,
    admin: &Session,
    id: i64,
    now: DateTime<Utc>,
) -> Result<Result<StoredAccount, AccountRefusal>, ServiceError> {
    let Some(account) = own_account(store, admin, id, "unlock", now).await? else {
        return Ok(Err(AccountRefusal::NotFound));
    };
    store.reset_login_failures(account.id).await?;
    store
        .audit(
            &admin
                .actor()
                .event("account.unlock", "ok", None, target(&account)),
            now,
        )
        .await?;
    Ok(Ok(account))
}

/// パスワード再設定: a new temporary password, to be changed at the next
/// login; the account's open sessions end (they are bound to the old
/// password).
pub async fn reset_password(
    store: &Store,
    admin: &Session,
    id: i64,
    now: DateTime<Utc>,
) -> Result<Result<WithTemporaryPassword, AccountRefusal>, ServiceError> {
    let Some(account) = own_account(store, admin, id, "reset_password", now).await? else {
        return Ok(Err(AccountRefusal::NotFound));
    };
    if account.id == admin.account.id {
        return Ok(Err(AccountRefusal::OwnAccount));
    }
    let password = temporary_password()?;
    let hash = hash_password_off_thread(&password).await?;
    store.set_password(account.id, &hash, true).await?;
    store
        .audit(
            &admin
                .actor()
                .event("account.password_reset", "ok", None, target(&account)),
            now,
        )
        .await?;
    Ok(Ok(WithTemporaryPassword { account, password }))
}

/// The operator unlocks an institution's administrator (the call-centre
/// case: the only administrator locked themselves out). Any other account
/// reads as none. Recorded against the institution too, so its own audit
/// viewer shows it.
pub async fn unlock_administrator(
    store: &Store,
    operator: &Session,
    id: i64,
    now: DateTime<Utc>,
) -> Result<Result<StoredAccount, AccountRefusal>, ServiceError> {
    let Some(account) = store.account(id).await?.filter(|a| a.role == Role::Admin) else {
        return Ok(Err(AccountRefusal::NotFound));
    };
    store.reset_login_failures(account.id).await?;
    let mut event = operator
        .actor()
        .event("account.unlock", "ok", None, target(&account));
    event.institution_id = account.institution_id;
    store.audit(&event, now).await?;
    Ok(Ok(account))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form<'a>(role: &'a str, user_id: &'a str, start: &'a str) -> AccountForm<'a> {
        AccountForm {
            role,
            user_id,
            name: "試験 太郎",
            name_kana: "シケン タロウ",
            start_date: start,
        }
    }

    #[test]
    fn the_form_is_checked_field_by_field_with_stable_codes() {
        assert!(check(&form("general", "gen01", "2026-04-01")).is_ok());
        let code = |f: AccountForm<'_>| check(&f).err().map(|e| e.code());
        assert_eq!(
            code(form("operator", "op02", "2026-04-01")),
            Some("Z-W-0620")
        );
        assert_eq!(code(form("root", "root01", "2026-04-01")), Some("Z-W-0620"));
        assert_eq!(code(form("general", "a", "2026-04-01")), Some("Z-V-0008"));
        assert_eq!(
            code(form("general", "gen03", "2026/04/01")),
            Some("Z-W-0621")
        );
    }

    #[test]
    fn refusals_name_what_to_do() {
        assert!(
            AccountRefusal::UserIdTaken("view02".into())
                .message()
                .contains("「view02」")
        );
        assert_eq!(AccountRefusal::OwnAccount.code(), "Z-W-0623");
        assert_eq!(
            AccountRefusal::OwnAccount.title(),
            "ご自身のアカウントは変更できません"
        );
    }
}
