//! The server's periodic upkeep: what has outlived its use is removed —
//! spent or expired nonces and card hand-offs, and the staff app's kept
//! results after their retention period
//! ([`zaitaku_domain::staff_app::RESULT_RETENTION_DAYS`]).

use chrono::{DateTime, Duration, Utc};
use zaitaku_domain::staff_app::RESULT_RETENTION_DAYS;
use zaitaku_storage::Store;

use crate::ServiceError;

/// One round of upkeep at `now`; returns the nonces and hand-offs removed.
pub async fn purge(store: &Store, now: DateTime<Utc>) -> Result<u64, ServiceError> {
    let auth = store.purge_expired_auth(now).await?;
    let before = now - Duration::days(RESULT_RETENTION_DAYS);
    store
        .purge_app_checks(before, crate::jst_day(before))
        .await?;
    Ok(auth)
}
