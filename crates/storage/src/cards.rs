//! Certificate authorities and virtual cards of the JPKI stand-in.

use chrono::{DateTime, Utc};
use sqlx::Row;
use sqlx::any::AnyRow;
use zaitaku_domain::person::PersonId;

use crate::sql::{Arg, flag, from_micros, micros};
use crate::{Result, StorageError, Store};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredAuthority {
    pub id: i64,
    pub name: String,
    pub cert_der: Vec<u8>,
    /// `None` for an anchor whose key this installation does not hold.
    pub key_pkcs8: Option<Vec<u8>>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredCard {
    pub id: i64,
    pub person_id: PersonId,
    /// `physical`, `iphone` or `android`.
    pub kind: String,
    pub authority_id: i64,
    pub serial_hex: String,
    pub cert_der: Vec<u8>,
    pub key_pkcs8: Vec<u8>,
    pub pin_hash: Option<String>,
    pub tries_left: u8,
    pub locked: bool,
    pub revoked_at: Option<DateTime<Utc>>,
    pub in_demo_wallet: bool,
    /// The case the card shows in the demo wallet, when it was named.
    pub wallet_label: Option<String>,
    pub issued_at: DateTime<Utc>,
    pub not_after: DateTime<Utc>,
}

/// What verifying a login needs to know about a card and its holder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CardHolder {
    pub card_id: i64,
    pub person_id: PersonId,
    /// `physical`, `iphone` or `android`.
    pub kind: String,
    pub revoked: bool,
    /// `None` when the holder is not in the registry.
    pub insurance_use_registered: Option<bool>,
}

/// A card to store.
#[derive(Debug, Clone)]
pub struct NewCard<'a> {
    pub person_id: PersonId,
    pub kind: &'a str,
    pub authority_id: i64,
    pub serial_hex: &'a str,
    pub cert_der: &'a [u8],
    pub key_pkcs8: &'a [u8],
    pub pin_hash: Option<&'a str>,
    pub in_demo_wallet: bool,
    pub issued_at: DateTime<Utc>,
    pub not_after: DateTime<Utc>,
}

const CARD_COLUMNS: &str = "id, person_id, kind, authority_id, serial_hex, cert_der, key_pkcs8, pin_hash, tries_left, \
     locked, revoked_at, in_demo_wallet, wallet_label, issued_at, not_after";

fn card_from_row(row: &AnyRow) -> Result<StoredCard> {
    let t = "cards";
    let tries: i64 = row.try_get("tries_left")?;
    Ok(StoredCard {
        id: row.try_get("id")?,
        person_id: row.try_get("person_id")?,
        kind: row.try_get("kind")?,
        authority_id: row.try_get("authority_id")?,
        serial_hex: row.try_get("serial_hex")?,
        cert_der: row.try_get("cert_der")?,
        key_pkcs8: row.try_get("key_pkcs8")?,
        pin_hash: row.try_get("pin_hash")?,
        tries_left: u8::try_from(tries).map_err(|e| StorageError::corrupt(t, "tries_left", e))?,
        locked: row.try_get::<i64, _>("locked")? != 0,
        revoked_at: row
            .try_get::<Option<i64>, _>("revoked_at")?
            .map(|v| from_micros(t, "revoked_at", v))
            .transpose()?,
        in_demo_wallet: row.try_get::<i64, _>("in_demo_wallet")? != 0,
        wallet_label: row.try_get("wallet_label")?,
        issued_at: from_micros(t, "issued_at", row.try_get("issued_at")?)?,
        not_after: from_micros(t, "not_after", row.try_get("not_after")?)?,
    })
}

fn authority_from_row(row: &AnyRow) -> Result<StoredAuthority> {
    Ok(StoredAuthority {
        id: row.try_get("id")?,
        name: row.try_get("name")?,
        cert_der: row.try_get("cert_der")?,
        key_pkcs8: row.try_get("key_pkcs8")?,
    })
}

impl Store {
    pub async fn insert_authority(
        &self,
        name: &str,
        cert_der: &[u8],
        key_pkcs8: Option<&[u8]>,
        now: DateTime<Utc>,
    ) -> Result<StoredAuthority> {
        let row = sqlx::query(
            "INSERT INTO card_authorities (name, cert_der, key_pkcs8, created_at) VALUES ($1, $2, $3, $4) \
             RETURNING id, name, cert_der, key_pkcs8",
        )
        .bind(name)
        .bind(cert_der.to_vec())
        .bind(key_pkcs8.map(<[u8]>::to_vec))
        .bind(micros(now))
        .fetch_one(&self.pool)
        .await
        .map_err(|e| StorageError::from_unique(e, "認証局"))?;
        authority_from_row(&row)
    }

    /// All anchors, oldest first.
    pub async fn authorities(&self) -> Result<Vec<StoredAuthority>> {
        sqlx::query("SELECT id, name, cert_der, key_pkcs8 FROM card_authorities ORDER BY id")
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(authority_from_row)
            .collect()
    }

    pub async fn insert_card(&self, c: &NewCard<'_>) -> Result<StoredCard> {
        let sql = format!(
            "INSERT INTO cards (person_id, kind, authority_id, serial_hex, cert_der, key_pkcs8, pin_hash, in_demo_wallet, issued_at, not_after) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING {CARD_COLUMNS}"
        );
        let row = sqlx::query(&sql)
            .bind(c.person_id)
            .bind(c.kind)
            .bind(c.authority_id)
            .bind(c.serial_hex)
            .bind(c.cert_der.to_vec())
            .bind(c.key_pkcs8.to_vec())
            .bind(c.pin_hash)
            .bind(flag(c.in_demo_wallet))
            .bind(micros(c.issued_at))
            .bind(micros(c.not_after))
            .fetch_one(&self.pool)
            .await
            .map_err(|e| StorageError::from_unique(e, "カードのシリアル番号"))?;
        card_from_row(&row)
    }

    pub async fn card(&self, id: i64) -> Result<Option<StoredCard>> {
        let sql = format!("SELECT {CARD_COLUMNS} FROM cards WHERE id = $1");
        let row = sqlx::query(&sql)
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(card_from_row).transpose()
    }

    pub async fn card_by_serial(&self, serial_hex: &str) -> Result<Option<StoredCard>> {
        let sql = format!("SELECT {CARD_COLUMNS} FROM cards WHERE serial_hex = $1");
        let row = sqlx::query(&sql)
            .bind(serial_hex)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(card_from_row).transpose()
    }

    /// The card with this serial and its holder's registration for insurance
    /// use, in one query (every login asks this).
    pub async fn card_holder(&self, serial_hex: &str) -> Result<Option<CardHolder>> {
        self.fetch_optional(
            "SELECT c.id, c.person_id, c.kind, c.revoked_at, p.insurance_use_registered FROM cards c \
             LEFT JOIN persons p ON p.id = c.person_id WHERE c.serial_hex = $1",
            &[Arg::Text(serial_hex)],
            |row| {
                Ok(CardHolder {
                    card_id: row.col("id")?,
                    person_id: row.col("person_id")?,
                    kind: row.col("kind")?,
                    revoked: row.col::<Option<i64>>("revoked_at")?.is_some(),
                    insurance_use_registered: row
                        .col::<Option<i64>>("insurance_use_registered")?
                        .map(|v| v != 0),
                })
            },
        )
        .await
    }

    /// Cards of one person, or (with `None`) the demo wallet.
    pub async fn cards(&self, person_id: Option<PersonId>) -> Result<Vec<StoredCard>> {
        let rows = match person_id {
            Some(p) => {
                let sql =
                    format!("SELECT {CARD_COLUMNS} FROM cards WHERE person_id = $1 ORDER BY id");
                sqlx::query(&sql).bind(p).fetch_all(&self.pool).await?
            }
            None => {
                let sql = format!(
                    "SELECT {CARD_COLUMNS} FROM cards WHERE in_demo_wallet = 1 ORDER BY id"
                );
                sqlx::query(&sql).fetch_all(&self.pool).await?
            }
        };
        rows.iter().map(card_from_row).collect()
    }

    /// Names a card in the demo wallet by the case it shows.
    pub async fn set_wallet_label(&self, id: i64, label: &str) -> Result<()> {
        sqlx::query("UPDATE cards SET wallet_label = $1 WHERE id = $2")
            .bind(label)
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Compare-and-set of the PIN counter: writes only if the counter is still
    /// what the caller read, so two concurrent attempts can never both spend
    /// the same try. Returns whether the write happened.
    pub async fn update_pin_counter(
        &self,
        id: i64,
        expected: (u8, bool),
        new: (u8, bool),
    ) -> Result<bool> {
        let done = sqlx::query(
            "UPDATE cards SET tries_left = $1, locked = $2 WHERE id = $3 AND tries_left = $4 AND locked = $5",
        )
        .bind(i64::from(new.0))
        .bind(flag(new.1))
        .bind(id)
        .bind(i64::from(expected.0))
        .bind(flag(expected.1))
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// The municipality's action: a new PIN, counter reset, lock lifted.
    pub async fn reset_card_pin(&self, id: i64, pin_hash: &str) -> Result<bool> {
        let done =
            sqlx::query("UPDATE cards SET pin_hash = $1, tries_left = 3, locked = 0 WHERE id = $2")
                .bind(pin_hash)
                .bind(id)
                .execute(&self.pool)
                .await?;
        Ok(done.rows_affected() == 1)
    }

    pub async fn revoke_card(&self, id: i64, now: DateTime<Utc>) -> Result<bool> {
        let done =
            sqlx::query("UPDATE cards SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL")
                .bind(micros(now))
                .bind(id)
                .execute(&self.pool)
                .await?;
        Ok(done.rows_affected() == 1)
    }

    /// (issuing authority's name, serial) of revoked cards, for the local
    /// revocation list.
    pub async fn revoked_serials(&self) -> Result<Vec<(String, String)>> {
        sqlx::query(
            "SELECT a.name, c.serial_hex FROM cards c JOIN card_authorities a ON a.id = c.authority_id \
             WHERE c.revoked_at IS NOT NULL ORDER BY c.id",
        )
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(|r| Ok((r.try_get("name")?, r.try_get("serial_hex")?)))
        .collect()
    }

    /// Marks a person's card as registered (or not) for insurance use.
    pub async fn set_insurance_use_registered(
        &self,
        person_id: PersonId,
        registered: bool,
    ) -> Result<()> {
        sqlx::query("UPDATE persons SET insurance_use_registered = $1 WHERE id = $2")
            .bind(flag(registered))
            .bind(person_id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }
}
