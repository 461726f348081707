//! The national receipt-computer interface (オンライン資格確認の XML files a
//! レセコン exchanges through the 連携アプリ's `req`/`res`/`face` folders):
//! what is publicly known of it is in `../shared/reference/oqs-interface.md`,
//! what zaitaku chose where the record is silent in docs/reference/oqs.md.
//!
//! * [`reader`] — a file's bytes decoded by its declared encoding (UTF-8 or
//!   Shift_JIS) and parsed strictly into elements, order-independent.
//! * [`fields`] — values read by the layout's rules, refusals by path.
//! * [`writer`] — a result written in the institution's encoding.
//! * [`rejection`] — why a file or a person was refused: code, message.
//! * [`file_name`] — request and result names, `.err`.
//! * [`qualification`] — the header, search information and one person's
//!   qualification that every qualification message shares.
//! * [`individual`] — the individual inquiry (`OQSsiquc01`).
//! * [`batch`] — uploads answered with a 受付番号 and results downloaded by
//!   it: 一括照会 (`OQSmuquc`), 同意済資格情報 (`OQSmuhvq`, `OQSmuonq`).
//! * [`medical`] — 薬剤情報 (`YZKsiquc01`) and 特定健診情報 (`TKKsiquc01`)
//!   as XML; [`pdf`] — the same as PDF, in a Japanese font.
//! * [`reference`] — 照会番号登録, single (`OQSsiimm01`) and bulk
//!   (`OQSmuimm01/02`).

pub mod batch;
pub mod fields;
pub mod file_name;
pub mod individual;
pub mod medical;
pub mod pdf;
pub mod qualification;
pub mod reader;
pub mod reference;
pub mod rejection;
pub mod writer;

pub use file_name::{RequestKind, RequestName};
pub use reader::{CharacterCode, Document, Duplicated, Element, ReadError, read};
pub use rejection::{Rejection, RejectionKind};

/// A file read as one message: the reader's refusal or the message's.
pub fn read_as<T>(
    bytes: &[u8],
    message: impl FnOnce(&Document) -> Result<T, Rejection>,
) -> Result<T, Rejection> {
    message(&read(bytes)?)
}

#[cfg(test)]
mod tests;
