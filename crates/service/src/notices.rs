//! お知らせ: the platform operator posts them; the staff app lists the
//! unread ones at start (seed 001 「アプリを起動する」 04) and all those in
//! force from the menu.

use chrono::{DateTime, Duration, Utc};
use serde_json::json;
use zaitaku_domain::notice::NoticeDraft;
use zaitaku_storage::{NewNotice, Store, StoredNotice};

use crate::ServiceError;
use crate::device::app::AppSession;
use crate::patients::jst_start;
use crate::staff::Session;

/// How many notices the operator's list shows.
const LISTED: i64 = 200;

/// Where a notice stands at a moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NoticeState {
    Scheduled,
    Shown,
    Ended,
}

impl NoticeState {
    pub fn of(n: &StoredNotice, now: DateTime<Utc>) -> Self {
        if now < n.published_from {
            Self::Scheduled
        } else if n.published_until.is_some_and(|u| u <= now) {
            Self::Ended
        } else {
            Self::Shown
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::Scheduled => "掲載前",
            Self::Shown => "掲載中",
            Self::Ended => "掲載終了",
        }
    }
}

/// Posts a notice, shown from the start of its first day to the end of its
/// last (JST).
pub async fn post(
    store: &Store,
    operator: &Session,
    draft: &NoticeDraft,
    now: DateTime<Utc>,
) -> Result<(), ServiceError> {
    store
        .post_notice(
            &NewNotice {
                title: &draft.title,
                body: &draft.body,
                link: draft.link.as_deref(),
                published_from: jst_start(draft.from),
                published_until: draft.until.map(|u| jst_start(u + Duration::days(1))),
                created_by: operator.account.id,
            },
            now,
        )
        .await?;
    store
        .audit(
            &operator.actor().event(
                "notice.post",
                "ok",
                None,
                json!({"title": draft.title, "from": draft.from.to_string(),
                    "until": draft.until.map(|u| u.to_string())}),
            ),
            now,
        )
        .await?;
    Ok(())
}

/// Every notice, newest first, with where it stands.
pub async fn list(
    store: &Store,
    now: DateTime<Utc>,
) -> Result<Vec<(StoredNotice, NoticeState)>, ServiceError> {
    Ok(store
        .notices(LISTED)
        .await?
        .into_iter()
        .map(|n| {
            let state = NoticeState::of(&n, now);
            (n, state)
        })
        .collect())
}

/// The notices in force that this device has not read.
pub async fn unread(
    store: &Store,
    session: &AppSession,
    now: DateTime<Utc>,
) -> Result<Vec<StoredNotice>, ServiceError> {
    Ok(store.shown_notices(now, Some(session.device.id)).await?)
}

/// Every notice in force, newest first (the menu's お知らせ).
pub async fn shown(store: &Store, now: DateTime<Utc>) -> Result<Vec<StoredNotice>, ServiceError> {
    Ok(store.shown_notices(now, None).await?)
}

/// 閉じる on the list: these notices count as read on this device.
pub async fn mark_read(
    store: &Store,
    session: &AppSession,
    notices: &[StoredNotice],
    now: DateTime<Utc>,
) -> Result<(), ServiceError> {
    for n in notices {
        store.mark_notice_read(session.device.id, n.id, now).await?;
    }
    Ok(())
}
