//! Command-line interface. Every option can also come from a `ZAITAKU_*`
//! environment variable, so a container or a unit file needs no arguments.

use std::net::SocketAddr;
use std::path::PathBuf;

use chrono::NaiveDate;
use clap::{Args, Parser, Subcommand, ValueEnum};

#[derive(Parser, Debug)]
#[command(
    name = "zaitaku",
    version,
    about = "マイナ在宅受付Web と資格確認のサーバ（訪問診療・オンライン診療・外来の同意と資格確認）",
    long_about = "zaitaku serves the consent and eligibility workflow for home visits, online \
consultations and outpatient care off the usual route. Start with `zaitaku demo`."
)]
pub struct Cli {
    #[command(flatten)]
    pub log: LogArgs,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Args, Debug)]
pub struct LogArgs {
    /// Log format: `pretty` for people, `json` for log collectors.
    #[arg(long, env = "ZAITAKU_LOG_FORMAT", value_enum, default_value_t = LogFormat::Pretty, global = true)]
    pub log_format: LogFormat,
    /// Log filter in tracing's syntax, e.g. `info` or `zaitaku_web=debug,info`.
    #[arg(long, env = "ZAITAKU_LOG", default_value = "info", global = true)]
    pub log: String,
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogFormat {
    Pretty,
    Json,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Runs the server on 127.0.0.1 with an embedded SQLite database and
    /// synthetic demo institutions and patients; prints the URLs to open.
    Demo(DemoArgs),
    /// Runs the server for a real deployment.
    Serve(ServeArgs),
    /// Fills a database with a deterministic synthetic population.
    Seed(SeedArgs),
    /// Creates or updates the database schema, then exits.
    Migrate(DatabaseArgs),
    /// The JPKI stand-in: issue, list, sign with, verify, reset and revoke cards.
    Card(crate::card::CardArgs),
    /// The audit log: verify that no record was edited or deleted.
    Audit(AuditArgs),
    /// The folder agent on a clinic's terminal (連携アプリ stand-in): sends
    /// the request files the receipt computer writes into req/ to the server,
    /// writes the answers into res/ and new check-in results into face/.
    OqsLink(OqsLinkArgs),
}

#[derive(Args, Debug)]
pub struct OqsLinkArgs {
    /// The zaitaku server's base URL, e.g. `https://zaitaku.example.jp`.
    #[arg(long, env = "ZAITAKU_OQS_SERVER")]
    pub server: String,
    /// The exchange folder holding req/, res/ and face/ (created if missing).
    #[arg(long, env = "ZAITAKU_OQS_FOLDER")]
    pub folder: PathBuf,
    /// The link credential (zoqs_…) issued under 《レセコン連携》 in the
    /// administration. Prefer the environment variable: a command line can
    /// be seen by other users of the computer.
    #[arg(long, env = "ZAITAKU_OQS_CREDENTIAL", hide_env_values = true)]
    pub credential: String,
    /// Milliseconds between looks at req/ and asks for new check-in results.
    #[arg(long, env = "ZAITAKU_OQS_INTERVAL", default_value_t = 500, value_parser = clap::value_parser!(u64).range(50..=600_000))]
    pub interval: u64,
    /// Send what is in req/, fetch new check-in results, then exit (for tests and cron).
    #[arg(long)]
    pub once: bool,
}

#[derive(Args, Debug)]
pub struct AuditArgs {
    #[command(subcommand)]
    pub command: AuditCommand,
}

#[derive(Subcommand, Debug)]
pub enum AuditCommand {
    /// Walks the whole hash chain. Exits 0 when intact, 1 when a record was
    /// edited, deleted or re-ordered (naming the first broken sequence number).
    Verify(DatabaseArgs),
}

#[derive(Args, Debug)]
pub struct DatabaseArgs {
    /// Database URL: `sqlite:PATH` (the file is created if missing) or
    /// `postgres://USER:PASSWORD@HOST:PORT/DB`.
    #[arg(
        long,
        env = "ZAITAKU_DATABASE_URL",
        default_value = "sqlite:zaitaku.sqlite3"
    )]
    pub database_url: String,
}

#[derive(Args, Debug)]
pub struct DemoArgs {
    /// Folder for the demo database (reused on the next run).
    #[arg(long, env = "ZAITAKU_DEMO_DIR", default_value = "zaitaku-demo")]
    pub data_dir: PathBuf,
    /// Address to listen on. The demo is meant for this machine only.
    #[arg(long, env = "ZAITAKU_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,
    /// Start from a new demo database instead of reusing the existing one.
    #[arg(long)]
    pub reset: bool,
    /// How many synthetic patients to add besides the named demo cases.
    #[arg(long, default_value_t = 2000, value_parser = clap::value_parser!(u64).range(0..=1_000_000))]
    pub persons: u64,
}

#[derive(Args, Debug)]
pub struct ServeArgs {
    #[command(flatten)]
    pub database: DatabaseArgs,
    /// Address to listen on, e.g. `0.0.0.0:8080` behind a TLS-terminating proxy.
    #[arg(long, env = "ZAITAKU_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,
    /// The public base URL patients and staff use (for institution URLs and QR
    /// codes). Defaults to `http://<listen>`.
    #[arg(long, env = "ZAITAKU_PUBLIC_URL")]
    pub public_url: Option<String>,
    /// The Ed25519 key (PKCS#8 PEM, as `openssl genpkey -algorithm ed25519`
    /// writes it) that signs the return to online-care partners; created if
    /// the file does not exist. Every node behind a load balancer needs the
    /// same file. Without it, each start makes a new key, and a return signed
    /// before a restart no longer verifies.
    #[arg(long, env = "ZAITAKU_SIGNING_KEY")]
    pub signing_key: Option<PathBuf>,
    /// Largest number of database connections in the pool.
    #[arg(long, env = "ZAITAKU_DB_MAX_CONNECTIONS", default_value_t = 16, value_parser = clap::value_parser!(u32).range(1..=1000))]
    pub db_max_connections: u32,
    /// Also serve the stand-in authenticator (the マイナポータルアプリ
    /// stand-in with its wallet of virtual cards, under `/auth`) and the card
    /// check at `/demo/identity`. For demonstrations and load tests only:
    /// anyone who reaches the server can then sign in with a virtual card.
    #[arg(long, env = "ZAITAKU_STAND_IN_AUTHENTICATOR")]
    pub stand_in_authenticator: bool,
    /// Minutes after issue before a staff app's activation code opens
    /// (seed 002: about ten).
    #[arg(long, env = "ZAITAKU_ACTIVATION_WAIT_MINUTES", default_value_t = 10, value_parser = clap::value_parser!(u32).range(0..=1440))]
    pub activation_wait_minutes: u32,
    /// Seconds before a 健康保険証利用登録 made in the staff app comes into
    /// force (a check before then says it is being processed).
    #[arg(long, env = "ZAITAKU_INSURANCE_REGISTRATION_DELAY_SECONDS", default_value_t = 60, value_parser = clap::value_parser!(u32).range(0..=86400))]
    pub insurance_registration_delay_seconds: u32,
    /// The Japanese font (`.ttf`, `.otf`, `.ttc`) that 薬剤情報・特定健診情報
    /// are written in when a receipt computer asks for PDF. Without it, the
    /// first installed of Noto Sans CJK JP, IPAexGothic and the like is
    /// used; with none, PDFs are refused (Z-Q-0009) and XML still works.
    #[arg(long, env = "ZAITAKU_PDF_FONT")]
    pub pdf_font: Option<PathBuf>,
}

#[derive(Args, Debug)]
pub struct SeedArgs {
    #[command(flatten)]
    pub database: DatabaseArgs,
    /// Number of persons to create (1 to 100,000,000).
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..=100_000_000))]
    pub persons: u64,
    /// Random seed: the same seed and date give the same population.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// The date the population is generated for (ages, validity). Default: today in Japan.
    #[arg(long, value_parser = parse_date)]
    pub today: Option<NaiveDate>,
    /// Persons per transaction.
    #[arg(long, default_value_t = 5000, value_parser = clap::value_parser!(u64).range(1..=100_000))]
    pub batch: u64,
}

fn parse_date(s: &str) -> Result<NaiveDate, String> {
    zaitaku_domain::person::parse_date("--today", s).map_err(|e| e.to_string())
}
