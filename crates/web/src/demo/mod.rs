//! The demo's own pages: 本人確認のテスト (`/demo/identity`), a card tried end
//! to end without any consent. Routed by `zaitaku demo`, and by `zaitaku
//! serve` only with `--stand-in-authenticator`.

pub mod identity_check;
