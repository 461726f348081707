//! Reading receipt-computer files, single thread: a 一括照会 upload of
//! 100,000 persons (about 43 MB, the largest file the interface takes in
//! practice) from bytes to checked search information, one person at a
//! time as the server reads it, in both encodings. The goal is ≥ 50 MB/s.

// Benches are not compiled as tests, so allow-expect-in-tests does not reach
// them: a setup step that fails leaves nothing to measure.
#![allow(clippy::expect_used)]

use std::hint::black_box;

use chrono::NaiveDate;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use zaitaku_domain::institution::{InstitutionCode, InstitutionKind};
use zaitaku_domain::insurer::{BranchNumber, InsurerNumber};
use zaitaku_domain::prefecture::Prefecture;
use zaitaku_proto::oqs::CharacterCode;
use zaitaku_proto::oqs::batch::BatchUpload;
use zaitaku_proto::oqs::individual::RequestHeader;
use zaitaku_proto::oqs::qualification::SearchInfo;

fn upload(persons: usize) -> BatchUpload {
    let tokyo = Prefecture::from_digits("13").expect("prefecture");
    BatchUpload {
        header: RequestHeader {
            medical_institution_code: InstitutionCode::build(
                tokyo,
                InstitutionKind::Medical,
                1,
                1001,
            )
            .expect("code"),
            qualification_confirmation_date: NaiveDate::from_ymd_opt(2026, 12, 7),
            arbitrary_file_identifier: Some("bench".into()),
        },
        persons: (0..persons)
            .map(|i| SearchInfo {
                insurer_number: InsurerNumber::build(
                    if i % 3 == 0 { None } else { Some(6) },
                    tokyo,
                    (i % 1000) as u16,
                )
                .expect("insurer"),
                symbol: if i % 2 == 0 {
                    format!("記号{}", i % 97)
                } else {
                    String::new()
                },
                number: format!("{:08}", i),
                branch: BranchNumber::new((i % 3) as u8),
                birthdate: NaiveDate::from_ymd_opt(
                    1940 + (i % 80) as i32,
                    1 + (i % 12) as u32,
                    1 + (i % 28) as u32,
                )
                .expect("date"),
                limit_consent: i % 2 == 0,
                arbitrary_identifier: Some(format!("カルテ-{i}")),
            })
            .collect(),
    }
}

fn bench(c: &mut Criterion) {
    let batch = upload(100_000);
    let mut group = c.benchmark_group("oqs_read");
    group.sample_size(10);
    for encoding in [CharacterCode::Utf8, CharacterCode::ShiftJis] {
        let bytes = batch.write(encoding);
        group.throughput(Throughput::Bytes(bytes.len() as u64));
        group.bench_function(
            format!("batch_upload_100k_{}", encoding.declared_name()),
            |b| {
                b.iter(|| {
                    let mut good = 0usize;
                    BatchUpload::read_each(black_box(&bytes), &mut |_, search| {
                        good += usize::from(search.is_ok());
                        Ok(())
                    })
                    .expect("upload");
                    black_box(good)
                });
            },
        );
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
