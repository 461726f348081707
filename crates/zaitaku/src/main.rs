//! The `zaitaku` command: demo, serve, seed, migrate, card, audit, oqs-link.

mod card;
mod cli;
mod demo;
mod demo_cards;
mod demo_oqs;
mod logging;
mod seed;
mod serve;

use std::io::IsTerminal;
use std::process::ExitCode;

use anyhow::{Context, Result};
use chrono::Utc;
use clap::Parser;
use zaitaku_domain::consent::jst;
use zaitaku_domain::staff_app::CodeTerms;
use zaitaku_storage::{ConnectOptions, Store};

use crate::cli::{Cli, Command};

// A request allocates and frees many small buffers on two worker threads and
// the writer; glibc's allocator spent about a tenth of the server's CPU on
// them under load (see docs/benchmarks/log/2026-12.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let cli = Cli::parse();
    logging::init(&cli.log);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("エラー: 非同期ランタイムを起動できません: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli.command)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("エラー: {}", one_line(&e));
            ExitCode::FAILURE
        }
    }
}

/// The error and its causes on one line, skipping causes whose text the line
/// already carries (our messages quote their source; sqlx repeats itself).
fn one_line(e: &anyhow::Error) -> String {
    let mut line = String::new();
    for cause in e.chain() {
        let text = cause.to_string();
        if line.contains(&text) {
            continue;
        }
        if !line.is_empty() {
            line.push_str(": ");
        }
        line.push_str(&text);
    }
    line
}

/// `zaitaku oqs-link`: the folder agent, until Ctrl-C (or SIGTERM), or one
/// round with `--once` (exit 1 when files were left unsent).
async fn oqs_link(args: cli::OqsLinkArgs) -> Result<()> {
    use zaitaku_oqs_link::{Blocked, Config};
    let mut config = Config::new(&args.server, args.folder, args.credential)?;
    config.interval = std::time::Duration::from_millis(args.interval);
    if !args.once {
        zaitaku_oqs_link::run(config, serve::shutdown_signal()).await?;
        return Ok(());
    }
    let report = zaitaku_oqs_link::run_once(config).await?;
    println!(
        "結果 {} 件、エラー {} 件、顔認証の結果 {} 件を書きました / wrote {} result(s), {} rejection(s), {} check-in result(s)",
        report.answered,
        report.rejected,
        report.faces,
        report.answered,
        report.rejected,
        report.faces
    );
    match report.blocked {
        Some(Blocked::Unauthorized) => anyhow::bail!(
            "サーバが連携の認証情報を拒否しました（401）。{} 件を req/ に残しました / the server refused the link credential; {} file(s) left in req/",
            report.waiting,
            report.waiting
        ),
        Some(Blocked::Unavailable) => anyhow::bail!(
            "サーバに送れませんでした。{} 件を req/ に残しました / could not reach the server; {} file(s) left in req/",
            report.waiting,
            report.waiting
        ),
        None => {
            if report.waiting > 0 {
                println!(
                    "書き込み中のファイル {} 件は次回送ります / {} file(s) still being written are left for the next run",
                    report.waiting, report.waiting
                );
            }
            Ok(())
        }
    }
}

fn today_in_japan() -> chrono::NaiveDate {
    Utc::now().with_timezone(&jst()).date_naive()
}

async fn run(command: Command) -> Result<()> {
    match command {
        Command::Demo(args) => {
            std::fs::create_dir_all(&args.data_dir).with_context(|| {
                format!("フォルダ {} を作成できません", args.data_dir.display())
            })?;
            if args.reset {
                demo::reset(&args.data_dir)?;
            }
            let url = demo::database_url(&args.data_dir);
            let store = Store::open(&url).await?;
            let institutions = demo::institutions(&store).await.with_context(|| {
                format!(
                    "{} のデモデータを読めません（--reset で作り直せます）",
                    args.data_dir.display()
                )
            })?;
            demo::ensure_admins(&store, &institutions).await?;
            let today = today_in_japan();
            if store.count_persons().await? == 0 && args.persons > 0 {
                eprintln!("合成患者 {} 人を作成しています…", args.persons);
                seed::seed(
                    &store,
                    args.persons,
                    demo::DEMO_SEED,
                    today,
                    1000,
                    std::io::stderr().is_terminal(),
                )
                .await?;
            }
            let patients = demo::patients(&store, today, 5000).await?;
            let identity = zaitaku_identity::Identity::new(store.clone()).await?;
            let cards = demo_cards::ensure(&identity, &store, &patients, today, Utc::now()).await?;
            let listener = serve::bind(args.listen).await?;
            let base_url = format!("http://{}", listener.local_addr().unwrap_or(args.listen));
            let signer = serve::signer(Some(&args.data_dir.join("return-signing-key.pem")))?;
            let links = match institutions.first() {
                Some(clinic) => {
                    demo_oqs::links(&store, clinic, &patients, &args.data_dir, today).await?
                }
                None => Vec::new(),
            };
            demo::print_banner(&base_url, &institutions, &patients, &cards, &url, &links);
            // The demo's codes open at once: the tester issues one and types it.
            let terms = CodeTerms {
                usable_after: chrono::Duration::zero(),
                ..CodeTerms::standard()
            };
            // A registration in the app comes into force after ten seconds.
            let delay = chrono::Duration::seconds(10);
            let options = serve::Options {
                public_url: base_url,
                signer,
                stand_in_authenticator: true,
                code_terms: terms,
                registration_delay: delay,
                pdf_font: None,
            };
            serve::run(listener, store, options).await
        }
        Command::Serve(args) => {
            let options = ConnectOptions {
                max_connections: args.db_max_connections,
                ..ConnectOptions::default()
            };
            let store = Store::connect(&args.database.database_url, &options).await?;
            store.migrate().await?;
            let listener = serve::bind(args.listen).await?;
            let public_url = args.public_url.unwrap_or_else(|| {
                format!("http://{}", listener.local_addr().unwrap_or(args.listen))
            });
            let signer = serve::signer(args.signing_key.as_deref())?;
            let options = serve::Options {
                public_url,
                signer,
                stand_in_authenticator: args.stand_in_authenticator,
                code_terms: CodeTerms {
                    usable_after: chrono::Duration::minutes(i64::from(
                        args.activation_wait_minutes,
                    )),
                    ..CodeTerms::standard()
                },
                registration_delay: chrono::Duration::seconds(i64::from(
                    args.insurance_registration_delay_seconds,
                )),
                pdf_font: args.pdf_font,
            };
            serve::run(listener, store, options).await
        }
        Command::Seed(args) => {
            let store = Store::open(&args.database.database_url).await?;
            let today = args.today.unwrap_or_else(today_in_japan);
            let report = seed::seed(
                &store,
                args.persons,
                args.seed,
                today,
                args.batch,
                std::io::stderr().is_terminal(),
            )
            .await?;
            store.close().await;
            println!(
                "{} 人を登録しました（{:.1} 秒、{:.0} 人/秒、seed={}、基準日={}）",
                report.persons,
                report.seconds,
                report.persons as f64 / report.seconds.max(1e-9),
                args.seed,
                today
            );
            Ok(())
        }
        Command::Card(args) => card::run(args, today_in_japan()).await,
        Command::OqsLink(args) => oqs_link(args).await,
        Command::Audit(args) => match args.command {
            cli::AuditCommand::Verify(db) => {
                let store = Store::open(&db.database_url).await?;
                let broken = store.verify_audit_chain().await?;
                let count = store.audit_count().await?;
                store.close().await;
                match broken {
                    None => {
                        println!("監査ログは正常です（{count} 件、編集・削除なし）。");
                        Ok(())
                    }
                    Some(seq) => anyhow::bail!(
                        "監査ログの連鎖が番号 {seq} で途切れています。この記録以降が編集・削除・並べ替えされた可能性があります（全 {count} 件）。"
                    ),
                }
            }
        },
        Command::Migrate(args) => {
            let store = Store::open(&args.database_url).await?;
            println!(
                "データベースの構造を最新にしました（{}）",
                store.backend().name()
            );
            store.close().await;
            Ok(())
        }
    }
}
