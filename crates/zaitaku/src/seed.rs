//! `zaitaku seed`: the synthetic population into any database, with progress.
//!
//! Generation runs on its own thread and hands batches to the loader through a
//! small bounded channel, so generating and writing overlap.

use std::time::Instant;

use anyhow::{Context, Result, bail};
use chrono::NaiveDate;
use indicatif::{ProgressBar, ProgressStyle};
use zaitaku_storage::{PersonRecords, Store};
use zaitaku_synth::{Population, SyntheticRecord};

pub struct SeedReport {
    pub persons: u64,
    pub seconds: f64,
}

pub fn records(batch: &[SyntheticRecord]) -> Vec<PersonRecords<'_>> {
    batch
        .iter()
        .map(|r| PersonRecords {
            eligibility: &r.eligibility,
            drugs: &r.drugs,
            clinical: &r.clinical,
            checkups: &r.checkups,
        })
        .collect()
}

/// Loads `persons` synthetic persons into an empty registry.
pub async fn seed(
    store: &Store,
    persons: u64,
    seed: u64,
    today: NaiveDate,
    batch: u64,
    show_progress: bool,
) -> Result<SeedReport> {
    let existing = store.count_persons().await?;
    if existing > 0 {
        bail!(
            "このデータベースにはすでに {existing} 人が登録されています。合成データは空のデータベースにのみ作成できます（別の --database-url を指定してください）"
        );
    }
    let started = Instant::now();
    let progress = if show_progress {
        let bar = ProgressBar::new(persons);
        bar.set_style(
            ProgressStyle::with_template("{spinner} [{elapsed_precise}] {wide_bar} {human_pos}/{human_len} 人 ({per_sec}, 残り {eta})")
                .unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
        bar
    } else {
        ProgressBar::hidden()
    };

    let batch_size = usize::try_from(batch).unwrap_or(5000);
    let (tx, mut rx) = tokio::sync::mpsc::channel::<Vec<SyntheticRecord>>(4);
    let generator = std::thread::spawn(move || {
        let population = Population::new(seed, today);
        let mut it = population
            .persons()
            .take(usize::try_from(persons).unwrap_or(usize::MAX));
        loop {
            let chunk: Vec<SyntheticRecord> = it.by_ref().take(batch_size).collect();
            if chunk.is_empty() || tx.blocking_send(chunk).is_err() {
                break;
            }
        }
    });

    let mut loader = store.bulk_loader().await?;
    let mut written = 0u64;
    while let Some(chunk) = rx.recv().await {
        loader
            .insert(&records(&chunk))
            .await
            .context("合成データを書き込めませんでした")?;
        written += chunk.len() as u64;
        progress.set_position(written);
    }
    loader.finish().await?;
    if generator.join().is_err() {
        bail!("合成データの生成が異常終了しました");
    }
    progress.finish_and_clear();
    Ok(SeedReport {
        persons: written,
        seconds: started.elapsed().as_secs_f64(),
    })
}
