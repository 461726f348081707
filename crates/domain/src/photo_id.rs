//! Whether staff must check a photo ID after a registration (seed 002:
//! 「自宅等の遠隔で同意登録・本人認証を行った場合は、原則本人確認が必要」), and
//! why (写真付き身分証による本人確認の理由).
//!
//! Only a registration on one of the institution's own devices, with the
//! card read on that same device, took place in front of staff. Everything
//! else may have been done anywhere: on the patient's own phone (from the
//! poster, the institution's web page or a booking e-mail), on a PC whose
//! QR code the patient read with their phone, or in online care, where the
//! patient is never in front of staff.

use serde::{Deserialize, Serialize};

use crate::consent::CareKind;
use crate::error::{Result, ValidationError};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PhotoIdReason {
    /// The visit did not run on a registered device of the institution.
    OwnDevice,
    /// The card was read on the patient's phone through the QR code shown
    /// on another screen.
    CrossDevice,
    /// オンライン診療等: always remote.
    Online,
}

impl PhotoIdReason {
    pub const ALL: [Self; 3] = [Self::OwnDevice, Self::CrossDevice, Self::Online];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::OwnDevice => "own_device",
            Self::CrossDevice => "cross_device",
            Self::Online => "online",
        }
    }

    /// Where the registration was made, as staff read it in the patient list.
    pub fn label(self) -> &'static str {
        match self {
            Self::OwnDevice => "患者ご自身の端末",
            Self::CrossDevice => "二次元コードで患者のスマートフォン",
            Self::Online => "オンライン診療等",
        }
    }

    pub fn parse(s: &str) -> Result<Self> {
        Self::ALL
            .into_iter()
            .find(|r| r.as_str() == s)
            .ok_or_else(|| ValidationError::UnknownCode {
                field: "本人確認の理由",
                value: s.to_owned(),
            })
    }
}

/// The rule. `on_institution_device`: the visit ran in a browser registered
/// (and not revoked) as a device of the institution the consent is for.
/// `cross_device`: the card was read on another device through the QR code.
pub fn photo_id_check(
    care_kind: CareKind,
    cross_device: bool,
    on_institution_device: bool,
) -> Option<PhotoIdReason> {
    if care_kind == CareKind::Online {
        Some(PhotoIdReason::Online)
    } else if cross_device {
        Some(PhotoIdReason::CrossDevice)
    } else if !on_institution_device {
        Some(PhotoIdReason::OwnDevice)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_institutions_own_device_in_person_needs_no_check() {
        use CareKind::{HomeVisit, Online, Outpatient};
        use PhotoIdReason as R;
        for care in [HomeVisit, Outpatient] {
            assert_eq!(photo_id_check(care, false, true), None);
            assert_eq!(photo_id_check(care, false, false), Some(R::OwnDevice));
            assert_eq!(photo_id_check(care, true, true), Some(R::CrossDevice));
            assert_eq!(photo_id_check(care, true, false), Some(R::CrossDevice));
        }
        for (cross, device) in [(false, false), (false, true), (true, false), (true, true)] {
            assert_eq!(photo_id_check(Online, cross, device), Some(R::Online));
        }
    }

    #[test]
    fn codes_round_trip() {
        for r in PhotoIdReason::ALL {
            assert_eq!(PhotoIdReason::parse(r.as_str()).unwrap(), r);
        }
        assert!(PhotoIdReason::parse("phone").is_err());
    }
}
