//! マイナ在宅受付Web: flows A (register), B (inquire/update) and C (cancel
//! all), for every kind of institution, on a phone or a PC.
//!
//! Every step is a server-rendered page; the visit's state lives in the
//! database (`zaitaku_service::visit`; the cookie in [`session`]). The patient authenticates in the
//! authenticator and comes back to `/w/{token}/callback`; only then is stored
//! consent shown or anything written.

pub(crate) mod eligibility_view;
mod pages;
mod session;

pub(crate) use pages::visit_subtitle;
pub use pages::{
    auth, callback, choose_page, choose_submit, confirm_page, done_page, flow_start, leave, start,
};
