//! zaitaku's domain: the rules the whole system agrees on, with no I/O.
//!
//! - [`check_digit`], [`prefecture`], [`institution`], [`insurer`]: numbers and their checks.
//! - [`codes`]: the national code lists.
//! - [`person`], [`eligibility`]: the eligibility registry's model.
//! - [`consent`]: consent items, choices, validity and gating.
//! - [`display_form`]: which form of the screens a device gets (seed 000 参考).
//! - [`medical`]: the medical information consent releases.
//! - [`partner_origin`]: the online-care partners' origins an institution
//!   registers, and the `return=` URLs they allow.
//! - [`photo_id`]: when staff must check a photo ID after a registration, and why.
//! - [`staff_app`]: マイナ資格確認アプリ — activation codes, who may activate a
//!   device, the login passcode and its wrong tries.
//! - [`error`]: every refusal with its stable code and Japanese message.

pub mod access;
pub mod account;
pub mod check_digit;
pub mod check_result;
pub mod codes;
pub mod consent;
pub mod display_form;
pub mod eligibility;
pub mod error;
pub mod institution;
pub mod insurer;
pub mod medical;
pub mod notice;
pub mod partner_origin;
pub mod person;
pub mod photo_id;
pub mod prefecture;
pub mod staff_app;

pub use error::{Result, ValidationError};
