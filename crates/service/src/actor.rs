//! Who does something, as the audit log names them: a member of an
//! institution's staff (管理者, 一般利用者, 医療情報閲覧) or the platform
//! operator. The account is re-read on every request by the surface, so a
//! disabled account or a changed role takes effect at once.

use serde_json::json;
use zaitaku_domain::account::Role;
use zaitaku_storage::{AuditEvent, StoredAccount};

#[derive(Debug, Clone, Copy)]
pub struct Actor<'a> {
    pub account: &'a StoredAccount,
    /// `None` for the operator.
    pub institution_id: Option<i64>,
}

impl<'a> Actor<'a> {
    pub fn new(account: &'a StoredAccount, institution_id: Option<i64>) -> Self {
        Self {
            account,
            institution_id,
        }
    }

    /// An audit record made by this account: the account, its user ID and
    /// role are added to `detail`.
    pub fn event<'e>(
        &self,
        action: &'e str,
        outcome: &'e str,
        person_id: Option<i64>,
        detail: serde_json::Value,
    ) -> AuditEvent<'e> {
        let mut detail = detail;
        if let Some(map) = detail.as_object_mut() {
            map.insert("account".into(), json!(self.account.id));
            map.insert("user_id".into(), json!(self.account.user_id));
            map.insert("role".into(), json!(self.account.role.as_str()));
        }
        AuditEvent {
            actor: if self.account.role == Role::Operator {
                "operator"
            } else {
                "staff"
            },
            action,
            outcome,
            institution_id: self.institution_id,
            person_id,
            detail,
        }
    }
}

/// An audit record of what a patient did at an institution's web service.
pub(crate) fn patient_event<'e>(
    action: &'e str,
    outcome: &'e str,
    institution_id: i64,
    person_id: Option<i64>,
    detail: serde_json::Value,
) -> AuditEvent<'e> {
    AuditEvent {
        actor: "patient",
        action,
        outcome,
        institution_id: Some(institution_id),
        person_id,
        detail,
    }
}
