//! The staff app's passkeys (`app_passkeys`): one per device, kept as the
//! WebAuthn library's JSON.

use chrono::{DateTime, Utc};

use crate::sql::{Arg, micros};
use crate::writer::{Statement, Value, Write};
use crate::{Result, Store};

impl Store {
    /// The device's passkey (JSON), if one is enrolled.
    pub async fn app_passkey(&self, device_id: i64) -> Result<Option<String>> {
        self.fetch_optional(
            "SELECT passkey FROM app_passkeys WHERE device_id = $1",
            &[Arg::Int(device_id)],
            |r| r.col::<String>("passkey"),
        )
        .await
    }

    /// Enrols (or replaces) the device's passkey. `Duplicate` when the
    /// credential is another device's.
    pub async fn put_app_passkey(
        &self,
        device_id: i64,
        credential_id: &str,
        passkey: &str,
        now: DateTime<Utc>,
    ) -> Result<()> {
        let replace = vec![
            Write::step(Statement::new(
                "DELETE FROM app_passkeys WHERE device_id = $1",
                vec![Value::Int(device_id)],
            )),
            Write::step(
                Statement::new(
                    "INSERT INTO app_passkeys (device_id, credential_id, passkey, created_at) \
                     VALUES ($1, $2, $3, $4)",
                    vec![
                        Value::Int(device_id),
                        Value::Text(credential_id.to_owned()),
                        Value::Text(passkey.to_owned()),
                        Value::Int(micros(now)),
                    ],
                )
                .unique_as("パスキー"),
            ),
        ];
        self.write(replace)
            .await?
            .map_err(|r| crate::StorageError::Writer(format!("{r:?}")))?;
        Ok(())
    }

    /// After a login with it: the credential's new counter, and when.
    pub async fn touch_app_passkey(
        &self,
        device_id: i64,
        passkey: &str,
        now: DateTime<Utc>,
    ) -> Result<()> {
        self.write_step(Statement::new(
            "UPDATE app_passkeys SET passkey = $1, last_used_at = $2 WHERE device_id = $3",
            vec![
                Value::Text(passkey.to_owned()),
                Value::Int(micros(now)),
                Value::Int(device_id),
            ],
        ))
        .await?;
        Ok(())
    }
}
