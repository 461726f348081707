//! 医療機関等: the platform operator registers an institution with its first
//! administrator (管理者); the institution's administrator keeps its
//! 環境設定情報 (seed 002 事前準備①: the 「オンライン診療等・外来診療等
//! （通常とは異なる動線）機能」 switch with the acknowledgement of the terms,
//! e-prescription, the consent items, the online-care partners' origins) and
//! changes its 医療機関等別URL (事前準備②), which stops the old one at once.
//! Every change is audited.

use chrono::{DateTime, Utc};
use serde_json::json;
use zaitaku_domain::account::{Role, validate_display_name, validate_kana_name, validate_user_id};
use zaitaku_domain::consent::ConsentItem;
use zaitaku_domain::error::ValidationError;
use zaitaku_domain::institution::{Institution, InstitutionCode};
use zaitaku_domain::partner_origin::{self, ListError, PartnerOrigin};
use zaitaku_storage::{NewAccount, StorageError, Store, StoredAccount, StoredInstitution};

use crate::staff::{Session, hash_password_off_thread, temporary_password};
use crate::{ServiceError, jst_day};

/// An institution with its administrators, as the operator's list shows it.
#[derive(Debug)]
pub struct WithAdministrators {
    pub institution: StoredInstitution,
    pub administrators: Vec<StoredAccount>,
}

/// Every institution of the platform with its administrators.
pub async fn list(store: &Store) -> Result<Vec<WithAdministrators>, ServiceError> {
    let (institutions, admins) =
        tokio::try_join!(store.list_institutions(), store.institution_admins())?;
    Ok(institutions
        .into_iter()
        .map(|institution| WithAdministrators {
            administrators: admins
                .iter()
                .filter(|a| a.institution_id == Some(institution.id))
                .cloned()
                .collect(),
            institution,
        })
        .collect())
}

/// Why an institution was not registered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RegistrationRefusal {
    /// 医療機関等コード, 名称 or the administrator's fields break a rule.
    Field(ValidationError),
    /// The 医療機関等コード is registered already.
    CodeTaken,
}

impl RegistrationRefusal {
    pub fn code(&self) -> &'static str {
        match self {
            Self::Field(e) => e.code(),
            Self::CodeTaken => "Z-W-0650",
        }
    }

    pub fn message(&self) -> String {
        match self {
            Self::Field(e) => e.to_string(),
            Self::CodeTaken => "この医療機関等コードは既に登録されています。".into(),
        }
    }
}

/// The operator's registration form as typed.
#[derive(Debug, Clone, Copy, Default)]
pub struct RegistrationForm<'a> {
    /// 医療機関等コード (10 digits with the check digit).
    pub code: &'a str,
    pub name: &'a str,
    pub eprescription: bool,
    pub admin_user_id: &'a str,
    pub admin_name: &'a str,
    pub admin_kana: &'a str,
}

/// A registered institution and its first administrator's temporary
/// password, to be shown once.
#[derive(Debug)]
pub struct Registered {
    pub institution: StoredInstitution,
    pub administrator: StoredAccount,
    pub password: String,
}

/// Registers an institution (its function switched off until its
/// administrator acknowledges the terms) and its first administrator, who
/// may log in from today with a temporary password.
pub async fn register(
    store: &Store,
    operator: &Session,
    form: &RegistrationForm<'_>,
    now: DateTime<Utc>,
) -> Result<Result<Registered, RegistrationRefusal>, ServiceError> {
    let checked = (|| {
        let code = InstitutionCode::parse(form.code.trim())?;
        let institution = Institution::new(code, form.name, form.eprescription)?;
        let user_id = validate_user_id(form.admin_user_id)?;
        let name = validate_display_name("ユーザ名", form.admin_name)?;
        let kana = validate_kana_name(form.admin_kana)?;
        Ok::<_, ValidationError>((institution, user_id, name, kana))
    })();
    let (institution, user_id, name, kana) = match checked {
        Ok(v) => v,
        Err(e) => return Ok(Err(RegistrationRefusal::Field(e))),
    };
    let stored = match store
        .insert_institution(&institution, &zaitaku_storage::new_url_token()?, now)
        .await
    {
        Ok(s) => s,
        Err(StorageError::Duplicate(_)) => return Ok(Err(RegistrationRefusal::CodeTaken)),
        Err(e) => return Err(e.into()),
    };
    let password = temporary_password()?;
    let hash = hash_password_off_thread(&password).await?;
    let administrator = store
        .insert_account(
            &NewAccount {
                institution_id: Some(stored.id),
                user_id: &user_id,
                role: Role::Admin,
                name: &name,
                name_kana: &kana,
                start_date: jst_day(now),
                password_hash: &hash,
                must_change_password: true,
            },
            now,
        )
        .await?;
    let mut event = operator.actor().event(
        "institution.create",
        "ok",
        None,
        json!({"code": stored.institution.code.as_str(), "admin": administrator.id, "admin_user_id": administrator.user_id}),
    );
    event.institution_id = Some(stored.id);
    store.audit(&event, now).await?;
    Ok(Ok(Registered {
        institution: stored,
        administrator,
        password,
    }))
}

/// When the terms were acknowledged, and by whom (the account's name).
pub async fn terms_acceptance(
    store: &Store,
    admin: &Session,
) -> Result<Option<(DateTime<Utc>, String)>, ServiceError> {
    let inst = admin.staff_institution()?;
    Ok(store.terms_acceptance(inst.id).await?)
}

/// The 環境設定情報 the administrator submitted.
#[derive(Debug, Clone, Default)]
pub struct Settings {
    /// 「オンライン診療等・外来診療等（通常とは異なる動線）機能」.
    pub function: bool,
    /// 「利用規約を確認しました」 is ticked.
    pub terms_acknowledged: bool,
    pub eprescription: bool,
    /// The consent items the web service offers.
    pub items: Vec<ConsentItem>,
    /// The partners' origins, one per line; `None` leaves the registered
    /// ones as they are (a client that does not know the field).
    pub partner_origins: Option<String>,
}

/// What is wrong with the settings submitted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SettingsRefusal {
    /// The function is switched on without acknowledging the terms.
    TermsNotAcknowledged,
    NoConsentItems,
    /// e-prescription for an institution that issues no prescriptions.
    Rule(ValidationError),
}

impl SettingsRefusal {
    pub fn code(&self) -> &'static str {
        match self {
            Self::TermsNotAcknowledged => "Z-W-0610",
            Self::NoConsentItems => "Z-W-0611",
            Self::Rule(e) => e.code(),
        }
    }

    pub fn message(&self) -> String {
        match self {
            Self::TermsNotAcknowledged => "「オンライン資格確認等システム利用規約」を確認し、「利用規約を確認しました」にチェックを入れてください。".into(),
            Self::NoConsentItems => {
                "マイナ在宅受付Webで表示する同意項目を1つ以上選択してください。".into()
            }
            Self::Rule(e) => e.to_string(),
        }
    }
}

/// Settings that were not saved: the refusal of the form, if any, and each
/// refused line of the partners' origins, shown beside their field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SettingsRefused {
    pub refusal: Option<SettingsRefusal>,
    pub origin_errors: Vec<ListError>,
}

impl SettingsRefused {
    /// The refused lines of the partner origins, worded for the field: the
    /// line number first, so that a long list can be corrected line by line.
    pub fn origin_messages(&self) -> Vec<(String, &'static str)> {
        self.origin_errors
            .iter()
            .map(|e| match e.line {
                Some(n) => (format!("{n}行目：{}", e.error), e.error.code()),
                None => (e.error.to_string(), e.error.code()),
            })
            .collect()
    }
}

/// Saves the administrator's institution's settings. Switching the function
/// on records the acknowledgement of the terms (who, when). Returns the
/// settings as saved.
pub async fn save_settings(
    store: &Store,
    admin: &Session,
    form: &Settings,
    now: DateTime<Utc>,
) -> Result<Result<Institution, SettingsRefused>, ServiceError> {
    let inst = admin.staff_institution()?;
    let before = &inst.institution;
    let mut after = before.clone();
    after.remote_function_enabled = form.function;
    after.eprescription = form.eprescription;
    after.set_consent_items(&form.items);
    let mut origin_errors = Vec::new();
    if let Some(text) = &form.partner_origins {
        match partner_origin::parse_list(text) {
            Ok(origins) => after.partner_origins = origins,
            Err(errors) => origin_errors = errors,
        }
    }
    let switching_on = after.remote_function_enabled && !before.remote_function_enabled;
    let refusal = if switching_on && !form.terms_acknowledged {
        Some(SettingsRefusal::TermsNotAcknowledged)
    } else if after.consent_items.is_empty() {
        Some(SettingsRefusal::NoConsentItems)
    } else if after.eprescription && !after.kind.issues_prescriptions() {
        Some(SettingsRefusal::Rule(
            ValidationError::EprescriptionNotApplicable,
        ))
    } else {
        None
    };
    if refusal.is_some() || !origin_errors.is_empty() {
        return Ok(Err(SettingsRefused {
            refusal,
            origin_errors,
        }));
    }
    store
        .update_institution_settings(inst.id, &after, now)
        .await?;
    if switching_on {
        store
            .record_terms_acceptance(inst.id, admin.account.id, now)
            .await?;
    }
    let origins = |i: &Institution| {
        i.partner_origins
            .iter()
            .map(PartnerOrigin::as_str)
            .map(str::to_owned)
            .collect::<Vec<_>>()
    };
    store
        .audit(
            &admin.actor().event(
                "institution.settings",
                "ok",
                None,
                json!({
                    "function": after.remote_function_enabled,
                    "function_before": before.remote_function_enabled,
                    "terms_acknowledged": switching_on,
                    "eprescription": after.eprescription,
                    "items": after.consent_items.iter().map(|i| i.as_str()).collect::<Vec<_>>(),
                    "partner_origins": origins(&after),
                    "partner_origins_before": origins(before),
                }),
            ),
            now,
        )
        .await?;
    Ok(Ok(after))
}

/// 医療機関等別URLの変更: a new URL; the old one stops at once. Returns the
/// new URL token.
pub async fn rotate_url(
    store: &Store,
    admin: &Session,
    now: DateTime<Utc>,
) -> Result<String, ServiceError> {
    let inst = admin.staff_institution()?;
    let token = store.rotate_url_token(inst.id, now).await?;
    store
        .audit(
            &admin
                .actor()
                .event("institution.url_rotate", "ok", None, json!({})),
            now,
        )
        .await?;
    Ok(token)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refused_origin_lines_are_numbered() {
        let Err(errors) = partner_origin::parse_list("https://ok.example.jp\nnot a url") else {
            panic!("the second line is not an origin");
        };
        let refused = SettingsRefused {
            refusal: None,
            origin_errors: errors,
        };
        let messages = refused.origin_messages();
        assert_eq!(messages.len(), 1);
        assert!(messages[0].0.starts_with("2行目："), "{messages:?}");
    }

    #[test]
    fn settings_refusals_keep_their_codes() {
        assert_eq!(SettingsRefusal::TermsNotAcknowledged.code(), "Z-W-0610");
        assert_eq!(SettingsRefusal::NoConsentItems.code(), "Z-W-0611");
        assert_eq!(RegistrationRefusal::CodeTaken.code(), "Z-W-0650");
    }
}
