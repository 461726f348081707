//! `zaitaku card …`: the JPKI stand-in from the command line, for scripts and
//! API clients (issue, list, status, sign, verify, reset-pin, revoke).

use std::io::Read;

use anyhow::{Context, Result, bail};
use chrono::{NaiveDate, Utc};
use clap::{Args, Subcommand};
use zaitaku_identity::{CardKind, CardSecret, Identity, IssueCard, WalletCard};
use zaitaku_storage::Store;

use crate::cli::DatabaseArgs;

#[derive(Args, Debug)]
pub struct CardArgs {
    #[command(flatten)]
    pub database: DatabaseArgs,
    #[command(subcommand)]
    pub command: CardCommand,
}

#[derive(Subcommand, Debug)]
pub enum CardCommand {
    /// Issues a card (key, certificate valid to the holder's 5th birthday after
    /// issue, PIN) to a person of the registry.
    Issue {
        /// Person ID in the eligibility registry.
        #[arg(long)]
        person: i64,
        /// `physical` (マイナンバーカード), `iphone` or `android`.
        #[arg(long, value_parser = parse_kind)]
        kind: CardKind,
        /// Four-digit PIN (physical and Android only). Also read from ZAITAKU_CARD_PIN.
        #[arg(long, env = "ZAITAKU_CARD_PIN", hide_env_values = true)]
        pin: Option<String>,
        /// Issue date (YYYY-MM-DD); default today in Japan.
        #[arg(long, value_parser = parse_date)]
        issued_on: Option<NaiveDate>,
        /// Show the card in the authenticator's demo wallet.
        #[arg(long)]
        demo_wallet: bool,
    },
    /// Lists cards, of one person or all in the demo wallet.
    List {
        #[arg(long)]
        person: Option<i64>,
    },
    /// Shows one card: kind, holder, tries left, lock, revocation, expiry.
    Status {
        #[arg(long)]
        card: i64,
    },
    /// Unlocks the card and signs SHA-256(origin) ‖ SHA-256(nonce); prints the
    /// authentication token (JSON) on standard output. Each wrong PIN spends a try.
    Sign {
        #[arg(long)]
        card: i64,
        /// The relying party's origin, e.g. `http://127.0.0.1:8080`.
        #[arg(long)]
        origin: String,
        /// The nonce as issued: 32 bytes, base64.
        #[arg(long)]
        nonce: String,
        /// The PIN (physical and Android); iPhone cards use the biometric stand-in.
        #[arg(long, env = "ZAITAKU_CARD_PIN", hide_env_values = true)]
        pin: Option<String>,
    },
    /// Verifies a token (a file, or `-` for standard input) against an origin and
    /// a nonce, without spending the nonce; prints the certificate status or the
    /// error code. For checking tokens built outside zaitaku.
    Verify {
        #[arg(long)]
        token: String,
        #[arg(long)]
        origin: String,
        #[arg(long)]
        nonce: String,
    },
    /// The municipality's PIN reset: sets a new PIN, lifts the lock. Audited.
    ResetPin {
        #[arg(long)]
        card: i64,
        #[arg(long, env = "ZAITAKU_CARD_NEW_PIN", hide_env_values = true)]
        new_pin: String,
        /// Who did it (the municipality's staff identifier), for the audit log.
        #[arg(long, default_value = "cli")]
        by: String,
    },
    /// Revokes the card's certificate.
    Revoke {
        #[arg(long)]
        card: i64,
    },
    /// Writes the virtual card's private key and certificate, and the anchor
    /// certificates, as PEM files, so tokens can be built with openssl alone
    /// (see docs/token-format.md). Stand-in only: a real card never exports its key.
    Export {
        #[arg(long)]
        card: i64,
        /// Folder to write `card-<id>.key.pem`, `card-<id>.cert.pem` and `anchor-<n>.pem` into.
        #[arg(long)]
        out_dir: std::path::PathBuf,
    },
}

fn pem(label: &str, der: &[u8]) -> String {
    use base64::Engine;
    let b64 = base64::engine::general_purpose::STANDARD.encode(der);
    let mut out = format!("-----BEGIN {label}-----\n");
    for chunk in b64.as_bytes().chunks(64) {
        out.push_str(&String::from_utf8_lossy(chunk));
        out.push('\n');
    }
    out.push_str(&format!("-----END {label}-----\n"));
    out
}

fn parse_kind(s: &str) -> Result<CardKind, String> {
    s.parse::<CardKind>().map_err(|e| e.to_string())
}

fn parse_date(s: &str) -> Result<NaiveDate, String> {
    zaitaku_domain::person::parse_date("日付", s).map_err(|e| e.to_string())
}

pub fn describe(c: &WalletCard) -> String {
    let state = if c.revoked {
        "失効".to_owned()
    } else if c.locked {
        "ロック中".to_owned()
    } else if c.kind == CardKind::IPhone {
        "生体認証".to_owned()
    } else {
        format!("残り{}回", c.tries_left)
    };
    format!(
        "{:>5}  患者{:>7}  {}  {}  {}  有効期限 {}",
        c.id,
        c.person_id,
        c.kind.label_ja(),
        c.holder,
        state,
        c.not_after
            .with_timezone(&zaitaku_domain::consent::jst())
            .format("%Y-%m-%d")
    )
}

pub async fn run(args: CardArgs, today: NaiveDate) -> Result<()> {
    let store = Store::open(&args.database.database_url).await?;
    let identity = Identity::new(store.clone()).await?;
    let now = Utc::now();
    match args.command {
        CardCommand::Issue {
            person,
            kind,
            pin,
            issued_on,
            demo_wallet,
        } => {
            identity.ensure_authorities(now).await?;
            let card = identity
                .issue_card(
                    &IssueCard {
                        person_id: person,
                        kind,
                        pin,
                        issued_on: issued_on.unwrap_or(today),
                        authority_id: None,
                        in_demo_wallet: demo_wallet,
                    },
                    now,
                )
                .await?;
            println!("{}", describe(&identity.card_status(card.id).await?));
        }
        CardCommand::List { person } => {
            let cards = match person {
                Some(p) => store.cards(Some(p)).await?,
                None => store.cards(None).await?,
            };
            for c in cards {
                println!("{}", describe(&identity.card_status(c.id).await?));
            }
        }
        CardCommand::Status { card } => {
            println!("{}", describe(&identity.card_status(card).await?))
        }
        CardCommand::Sign {
            card,
            origin,
            nonce,
            pin,
        } => {
            let status = identity.card_status(card).await?;
            let secret = match (status.kind, pin) {
                (CardKind::IPhone, _) => CardSecret::Biometric,
                (_, Some(pin)) => CardSecret::Pin(pin),
                (_, None) => bail!("暗証番号を --pin または ZAITAKU_CARD_PIN で指定してください"),
            };
            let token = identity
                .sign_in_card(card, &secret, &origin, &nonce, now)
                .await
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            println!("{token}");
        }
        CardCommand::Verify {
            token,
            origin,
            nonce,
        } => {
            let bytes = if token == "-" {
                let mut b = Vec::new();
                std::io::stdin()
                    .read_to_end(&mut b)
                    .context("標準入力を読めません")?;
                b
            } else {
                std::fs::read(&token).with_context(|| format!("{token} を読めません"))?
            };
            // The verifier takes text; bytes that are not UTF-8 are its
            // format refusal, with its code, not a reading error.
            let Ok(text) = String::from_utf8(bytes) else {
                let e = zaitaku_card::TokenError::NotJson;
                bail!("{}（{}）", e, e.code());
            };
            match identity
                .check_token(text.trim(), &origin, &nonce, now)
                .await
            {
                Ok(v) => println!(
                    "OK serial={} status={}",
                    v.serial,
                    serde_json::to_string(&v.status)?
                ),
                Err(e) => bail!("{}（{}）", e, e.code()),
            }
        }
        CardCommand::ResetPin { card, new_pin, by } => {
            identity.reset_pin(card, &new_pin, &by, now).await?;
            println!("{}", describe(&identity.card_status(card).await?));
        }
        CardCommand::Revoke { card } => {
            identity.revoke(card, now).await?;
            println!("{}", describe(&identity.card_status(card).await?));
        }
        CardCommand::Export { card, out_dir } => {
            let c = store
                .card(card)
                .await?
                .with_context(|| format!("カード {card} は登録されていません"))?;
            std::fs::create_dir_all(&out_dir)
                .with_context(|| format!("{} を作成できません", out_dir.display()))?;
            let write = |name: String, text: String| {
                let path = out_dir.join(name);
                std::fs::write(&path, text)
                    .with_context(|| format!("{} を書き込めません", path.display()))?;
                println!("{}", path.display());
                anyhow::Ok(())
            };
            write(
                format!("card-{card}.key.pem"),
                pem("PRIVATE KEY", &c.key_pkcs8),
            )?;
            write(
                format!("card-{card}.cert.pem"),
                pem("CERTIFICATE", &c.cert_der),
            )?;
            for (i, a) in store.authorities().await?.iter().enumerate() {
                write(
                    format!("anchor-{}.pem", i + 1),
                    pem("CERTIFICATE", &a.cert_der),
                )?;
            }
        }
    }
    store.close().await;
    Ok(())
}
