//! 医療機関等の端末: an administrator makes a browser one of the
//! institution's own devices (端末登録) and revokes one (登録解除); the web
//! service asks whether a visit runs on one and notes its use. A device is
//! known by a secret token its browser keeps (only the token's hash is
//! stored). A registration made on such a device, with the card read on it,
//! was made in front of staff and needs no photo-ID check afterwards
//! (`zaitaku_domain::photo_id`).

pub mod activation;
pub mod app;
pub mod passkey;

use chrono::{DateTime, Duration, Utc};
use serde_json::json;
use zaitaku_domain::account::validate_display_name;
use zaitaku_domain::error::ValidationError;
use zaitaku_storage::{DeviceKind, DeviceSighting, Store, StoredDevice};

use crate::ServiceError;
use crate::staff::Session;

/// `last_seen_at` is written at most this often per device, so a busy
/// device costs one write per interval, not one per registration.
const SEEN_INTERVAL_MINUTES: i64 = 10;

/// The device that keeps `token`, if any (one read by the token's unique
/// index, none without a token).
pub async fn sighting(
    store: &Store,
    token: Option<&str>,
) -> Result<Option<DeviceSighting>, ServiceError> {
    match token {
        Some(token) if !token.is_empty() => Ok(store.device_by_token(token).await?),
        _ => Ok(None),
    }
}

/// Whether the browser keeping `token` is a registered, unrevoked device of
/// the institution; notes the use on the device when it is one.
pub async fn seen_at(
    store: &Store,
    token: Option<&str>,
    institution_id: i64,
    now: DateTime<Utc>,
) -> Result<bool, ServiceError> {
    let Some(device) = sighting(store, token).await? else {
        return Ok(false);
    };
    let ours = device.active && device.institution_id == institution_id;
    if ours
        && device
            .last_seen_at
            .is_none_or(|t| now - t >= Duration::minutes(SEEN_INTERVAL_MINUTES))
    {
        store.touch_device(device.id, now).await?;
    }
    Ok(ours)
}

/// The browser keeping `token`, if it is an active device of the staff's
/// institution.
pub async fn this_browser(
    store: &Store,
    staff: &Session,
    token: Option<&str>,
) -> Result<Option<DeviceSighting>, ServiceError> {
    let inst = staff.staff_institution()?;
    Ok(sighting(store, token)
        .await?
        .filter(|d| d.active && d.institution_id == inst.id))
}

/// The institution's devices, newest first, revoked ones included.
pub async fn list(store: &Store, staff: &Session) -> Result<Vec<StoredDevice>, ServiceError> {
    let inst = staff.staff_institution()?;
    Ok(store.devices_of(inst.id).await?)
}

/// Why a browser was not registered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeviceRefusal {
    /// This browser is an active device of the institution already.
    AlreadyRegistered,
    /// 端末識別メモ is empty or too long.
    Memo(ValidationError),
}

impl DeviceRefusal {
    pub fn code(&self) -> &'static str {
        match self {
            Self::AlreadyRegistered => "Z-W-0660",
            Self::Memo(e) => e.code(),
        }
    }

    pub fn message(&self) -> String {
        match self {
            Self::AlreadyRegistered => {
                "この端末は既に医療機関等の端末として登録されています。".into()
            }
            Self::Memo(e) => e.to_string(),
        }
    }
}

/// A registered device and the token its browser is to keep.
#[derive(Debug)]
pub struct Registered {
    pub device: StoredDevice,
    pub token: String,
}

/// Registers a browser as a device of the administrator's institution.
/// `kept` is the token the browser keeps now, if any; `token` is its new
/// secret ([`crate::random_token`]), drawn by the caller as the current time
/// is, and stored only as a hash.
pub async fn register(
    store: &Store,
    admin: &Session,
    kept: Option<&str>,
    memo: &str,
    token: String,
    now: DateTime<Utc>,
) -> Result<Result<Registered, DeviceRefusal>, ServiceError> {
    if this_browser(store, admin, kept).await?.is_some() {
        return Ok(Err(DeviceRefusal::AlreadyRegistered));
    }
    let memo = match validate_display_name("端末識別メモ", memo) {
        Ok(m) => m,
        Err(e) => return Ok(Err(DeviceRefusal::Memo(e))),
    };
    let inst = admin.staff_institution()?;
    let device = store
        .register_device(
            inst.id,
            DeviceKind::Browser,
            &token,
            &memo,
            admin.account.id,
            now,
        )
        .await?;
    store
        .audit(
            &admin.actor().event(
                "device.register",
                "ok",
                None,
                json!({"device": device.id, "kind": device.kind.as_str(), "memo": device.memo}),
            ),
            now,
        )
        .await?;
    Ok(Ok(Registered { device, token }))
}

/// A revoked device.
#[derive(Debug)]
pub struct Revoked {
    pub device: StoredDevice,
    /// The browser keeping `token` was this device: it is to forget its
    /// token.
    pub this_browser: bool,
}

/// 登録解除 of the institution's device `id`; revoking one already revoked
/// changes nothing and is audited as such. `None` when the institution has
/// no such device (the attempt is audited).
pub async fn revoke(
    store: &Store,
    admin: &Session,
    id: i64,
    token: Option<&str>,
    now: DateTime<Utc>,
) -> Result<Option<Revoked>, ServiceError> {
    let inst = admin.staff_institution()?;
    let Some(device) = store.device_of(inst.id, id).await? else {
        store
            .audit(
                &admin.actor().event(
                    "access.denied",
                    "not_found",
                    None,
                    json!({"requested_device": id, "attempted": "device_revoke"}),
                ),
                now,
            )
            .await?;
        return Ok(None);
    };
    let changed = store
        .revoke_device(inst.id, device.id, admin.account.id, now)
        .await?;
    store
        .audit(
            &admin.actor().event(
                "device.revoke",
                if changed { "ok" } else { "already_revoked" },
                None,
                json!({"device": device.id, "memo": device.memo}),
            ),
            now,
        )
        .await?;
    let this_browser = sighting(store, token)
        .await?
        .is_some_and(|d| d.id == device.id);
    Ok(Some(Revoked {
        device,
        this_browser,
    }))
}
