//! Reading the values of a parsed file: elements found by name wherever
//! they stand, each value checked by the layout's rule (digits, dates,
//! code lists), every refusal naming the element by its path.

use chrono::{NaiveDate, NaiveDateTime};
use zaitaku_domain::error::ValidationError;

use super::reader::Element;
use super::rejection::{Rejection, RejectionKind};

/// `yyyyMMdd`.
pub const DATE: &str = "%Y%m%d";
/// `yyyyMMddHHmmss`.
pub const DATE_TIME: &str = "%Y%m%d%H%M%S";

/// An element and the path that names it in refusals.
#[derive(Clone)]
pub struct Node<'a> {
    pub element: &'a Element,
    path: String,
}

impl<'a> Node<'a> {
    pub fn root(element: &'a Element) -> Self {
        Self {
            element,
            path: element.name.clone(),
        }
    }

    /// An element handed over alone (a person read from a stream), named
    /// by the path it stood at.
    pub fn at(element: &'a Element, path: &[&str]) -> Self {
        Self {
            element,
            path: path.join("/"),
        }
    }

    pub fn path(&self) -> &str {
        &self.path
    }

    fn child_path(&self, name: &str) -> String {
        format!("{}/{name}", self.path)
    }

    /// The single child `name`, or `None`.
    pub fn child(&self, name: &str) -> Result<Option<Node<'a>>, Rejection> {
        Ok(self.element.child(name)?.map(|element| Node {
            element,
            path: self.child_path(name),
        }))
    }

    /// The single child `name`, which must be there.
    pub fn required_child(&self, name: &str) -> Result<Node<'a>, Rejection> {
        self.child(name)?
            .ok_or_else(|| Rejection::new(RejectionKind::Missing, self.child_path(name)))
    }

    /// Every child `name` (a repeated element).
    pub fn each(&self, name: &'a str) -> impl Iterator<Item = Node<'a>> + use<'a, '_> {
        self.element.children_named(name).map(move |element| Node {
            element,
            path: self.child_path(name),
        })
    }

    /// The text of the single child `name`, `None` when absent or empty.
    pub fn optional(&self, name: &str) -> Result<Option<&'a str>, Rejection> {
        Ok(self
            .element
            .child(name)?
            .map(|c| c.text.as_str())
            .filter(|t| !t.trim().is_empty()))
    }

    pub fn required(&self, name: &str) -> Result<&'a str, Rejection> {
        self.optional(name)?
            .ok_or_else(|| Rejection::new(RejectionKind::Missing, self.child_path(name)))
    }

    /// An optional value read by a domain rule.
    pub fn optional_by<T>(
        &self,
        name: &str,
        parse: impl FnOnce(&str) -> Result<T, ValidationError>,
    ) -> Result<Option<T>, Rejection> {
        match self.optional(name)? {
            None => Ok(None),
            Some(text) => parse(text)
                .map(Some)
                .map_err(|e| Rejection::of_value(&self.child_path(name), &e)),
        }
    }

    pub fn required_by<T>(
        &self,
        name: &str,
        parse: impl FnOnce(&str) -> Result<T, ValidationError>,
    ) -> Result<T, Rejection> {
        self.optional_by(name, parse)?
            .ok_or_else(|| Rejection::new(RejectionKind::Missing, self.child_path(name)))
    }

    pub fn optional_date(&self, name: &str) -> Result<Option<NaiveDate>, Rejection> {
        match self.optional(name)? {
            None => Ok(None),
            Some(t) => parse_date(t).map(Some).ok_or_else(|| {
                Rejection::new(
                    RejectionKind::Format,
                    format!(
                        "{}: 「{}」は yyyyMMdd の日付ではありません",
                        self.child_path(name),
                        t.trim()
                    ),
                )
            }),
        }
    }

    pub fn required_date(&self, name: &str) -> Result<NaiveDate, Rejection> {
        self.optional_date(name)?
            .ok_or_else(|| Rejection::new(RejectionKind::Missing, self.child_path(name)))
    }

    pub fn optional_date_time(&self, name: &str) -> Result<Option<NaiveDateTime>, Rejection> {
        match self.optional(name)? {
            None => Ok(None),
            Some(t) => parse_date_time(t).map(Some).ok_or_else(|| {
                Rejection::new(
                    RejectionKind::Format,
                    format!(
                        "{}: 「{}」は yyyyMMddHHmmss の日時ではありません",
                        self.child_path(name),
                        t.trim()
                    ),
                )
            }),
        }
    }
}

/// A date written `yyyyMMdd` (exactly eight digits, a day that exists).
pub fn parse_date(s: &str) -> Option<NaiveDate> {
    let t = s.trim();
    if t.len() != 8 || !t.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    NaiveDate::parse_from_str(t, DATE).ok()
}

/// A date-time written `yyyyMMddHHmmss` (exactly fourteen digits).
pub fn parse_date_time(s: &str) -> Option<NaiveDateTime> {
    let t = s.trim();
    if t.len() != 14 || !t.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    NaiveDateTime::parse_from_str(t, DATE_TIME).ok()
}

/// Text of at most `max` characters, without control characters.
pub fn parse_text(max: usize) -> impl Fn(&str) -> Result<String, ValidationError> {
    move |s| {
        if s.chars().count() > max {
            return Err(ValidationError::TooLong {
                field: "文字列",
                max,
            });
        }
        if s.chars().any(char::is_control) {
            return Err(ValidationError::Characters {
                field: "文字列",
                allowed: "改行やタブは使用できません。",
            });
        }
        Ok(s.to_owned())
    }
}
