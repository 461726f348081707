//! The national receipt-computer interface (オンライン資格確認の XML files a
//! レセコン exchanges through the 連携アプリ's `req`/`res`/`face` folders):
//! what is publicly known of it is in `../shared/reference/oqs-interface.md`,
//! what zaitaku chose where the record is silent in docs/reference/oqs.md.
//!
//! * [`reader`] — a file's bytes decoded by its declared encoding (UTF-8 or
//!   Shift_JIS) and parsed strictly into elements, order-independent.

pub mod reader;

pub use reader::{CharacterCode, Document, Duplicated, Element, ReadError, read};
