//! The server's periodic upkeep: what has outlived its use is removed —
//! spent or expired nonces and card hand-offs, and the staff app's kept
//! results after their retention period
//! ([`zaitaku_domain::staff_app::RESULT_RETENTION_DAYS`]), and the receipt
//! computers' uploads and results after [`OQS_JOB_RETENTION_DAYS`].

use chrono::{DateTime, Duration, Utc};
use zaitaku_domain::staff_app::RESULT_RETENTION_DAYS;
use zaitaku_storage::Store;

use crate::ServiceError;

/// How long an upload (一括照会, 同意済, 照会番号一括登録) and its result
/// are kept for their download: a receipt computer asks again within
/// minutes, and a week covers a clinic closed over a long weekend.
pub const OQS_JOB_RETENTION_DAYS: i64 = 7;

/// One round of upkeep at `now`; returns the nonces and hand-offs removed.
pub async fn purge(store: &Store, now: DateTime<Utc>) -> Result<u64, ServiceError> {
    let auth = store.purge_expired_auth(now).await?;
    let before = now - Duration::days(RESULT_RETENTION_DAYS);
    store
        .purge_app_checks(before, crate::jst_day(before))
        .await?;
    store
        .purge_oqs_jobs(now - Duration::days(OQS_JOB_RETENTION_DAYS))
        .await?;
    Ok(auth)
}
