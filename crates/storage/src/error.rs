//! Storage failures: one clear Japanese line for people, a stable code for machines.

use zaitaku_domain::ValidationError;

#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    #[error(
        "対応していないデータベースURLです: {0}（sqlite: または postgres:// で始めてください）"
    )]
    UnsupportedUrl(String),
    #[error("データベースに接続できません（{url}）: {source}")]
    Connect {
        url: String,
        #[source]
        source: sqlx::Error,
    },
    #[error("データベースの構造を更新（マイグレーション）できません: {0}")]
    Migrate(#[source] sqlx::migrate::MigrateError),
    #[error(
        "データベースの構造を更新（マイグレーション）した結果、{table} に {parent} のない行があります。更新前のバックアップから戻してください。"
    )]
    DanglingForeignKey { table: String, parent: String },
    #[error("データベースの操作に失敗しました: {0}")]
    Query(#[from] sqlx::Error),
    /// SQLite through rusqlite (the hot path, see `lite`).
    #[error("データベースの操作に失敗しました: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("データベースに保存された値が正しくありません（{table}.{column}）: {detail}")]
    Corrupt {
        table: &'static str,
        column: &'static str,
        detail: String,
    },
    #[error("{0}")]
    Invalid(#[from] ValidationError),
    #[error("同じ{0}がすでに登録されています。")]
    Duplicate(&'static str),
    /// The group-commit writer could not perform or commit a batch.
    #[error("データベースへの書き込みができませんでした: {0}")]
    Writer(String),
}

impl StorageError {
    pub fn code(&self) -> &'static str {
        match self {
            Self::UnsupportedUrl(_) => "Z-S-0001",
            Self::Connect { .. } => "Z-S-0002",
            Self::Migrate(_) | Self::DanglingForeignKey { .. } => "Z-S-0003",
            Self::Query(_) | Self::Sqlite(_) => "Z-S-0004",
            Self::Corrupt { .. } => "Z-S-0005",
            Self::Invalid(e) => e.code(),
            Self::Duplicate(_) => "Z-S-0006",
            Self::Writer(_) => "Z-S-0007",
        }
    }

    pub(crate) fn corrupt(
        table: &'static str,
        column: &'static str,
        detail: impl ToString,
    ) -> Self {
        Self::Corrupt {
            table,
            column,
            detail: detail.to_string(),
        }
    }

    /// This error as [`StorageError::Duplicate`] if a unique constraint
    /// refused the write.
    pub(crate) fn unique_as(self, what: &'static str) -> Self {
        let unique = match &self {
            Self::Query(sqlx::Error::Database(db)) => db.is_unique_violation(),
            Self::Sqlite(rusqlite::Error::SqliteFailure(e, _)) => matches!(
                e.extended_code,
                rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE
                    | rusqlite::ffi::SQLITE_CONSTRAINT_PRIMARYKEY
            ),
            _ => false,
        };
        if unique { Self::Duplicate(what) } else { self }
    }
}
