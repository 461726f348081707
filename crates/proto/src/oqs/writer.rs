//! Writing a result file in the encoding the institution chose: elements in
//! the layout's order, text escaped, and characters that Shift_JIS (code
//! page 932) cannot hold written as XML character references (`&#12316;`
//! for 〜), so every XML reader gets the character back and nothing is lost
//! or replaced by a question mark.

use chrono::{Datelike, NaiveDate, NaiveDateTime, Timelike};

use super::fields::{DATE, DATE_TIME};
use super::reader::CharacterCode;

/// A file being written: the text before encoding.
pub struct XmlWriter {
    text: String,
}

impl XmlWriter {
    /// Starts a file with the root `XmlMsg`.
    pub fn new(capacity: usize) -> Self {
        let mut w = Self {
            text: String::with_capacity(capacity),
        };
        w.open("XmlMsg");
        w
    }

    /// A part of a file written in parts (no root, no declaration).
    pub fn fragment(capacity: usize) -> Self {
        Self {
            text: String::with_capacity(capacity),
        }
    }

    /// The part's bytes in `encoding`.
    pub fn encode(self, encoding: CharacterCode) -> Vec<u8> {
        match encoding {
            CharacterCode::Utf8 => self.text.into_bytes(),
            CharacterCode::ShiftJis => shift_jis(&self.text),
        }
    }

    /// The declaration and what is written so far, `XmlMsg` left open for
    /// the parts that follow.
    pub fn finish_open(self, encoding: CharacterCode) -> Vec<u8> {
        let mut out = declaration(encoding).into_bytes();
        out.extend_from_slice(&self.encode(encoding));
        out
    }

    pub fn open(&mut self, name: &str) {
        self.text.push('<');
        self.text.push_str(name);
        self.text.push('>');
    }

    pub fn close(&mut self, name: &str) {
        self.text.push_str("</");
        self.text.push_str(name);
        self.text.push('>');
    }

    /// `<name>value</name>`, written even when `value` is empty.
    pub fn leaf(&mut self, name: &str, value: &str) {
        self.open(name);
        escape_into(&mut self.text, value);
        self.close(name);
    }

    /// A leaf only when there is a value: the layout's optional elements
    /// are left out rather than written empty.
    pub fn optional(&mut self, name: &str, value: Option<&str>) {
        if let Some(v) = value {
            self.leaf(name, v);
        }
    }

    pub fn date(&mut self, name: &str, value: NaiveDate) {
        // Digits placed by hand rather than through chrono's format parser:
        // a result writes a dozen dates.
        let mut buf = [0u8; 8];
        match u32::try_from(value.year()) {
            Ok(year) if year <= 9999 => {
                put_digits(&mut buf[..4], year);
                put_digits(&mut buf[4..6], value.month());
                put_digits(&mut buf[6..], value.day());
                self.leaf(name, std::str::from_utf8(&buf).unwrap_or_default());
            }
            _ => self.leaf(name, &value.format(DATE).to_string()),
        }
    }

    pub fn optional_date(&mut self, name: &str, value: Option<NaiveDate>) {
        if let Some(v) = value {
            self.date(name, v);
        }
    }

    pub fn date_time(&mut self, name: &str, value: NaiveDateTime) {
        let mut buf = [0u8; 14];
        match u32::try_from(value.year()) {
            Ok(year) if year <= 9999 => {
                put_digits(&mut buf[..4], year);
                put_digits(&mut buf[4..6], value.month());
                put_digits(&mut buf[6..8], value.day());
                put_digits(&mut buf[8..10], value.hour());
                put_digits(&mut buf[10..12], value.minute());
                put_digits(&mut buf[12..], value.second());
                self.leaf(name, std::str::from_utf8(&buf).unwrap_or_default());
            }
            _ => self.leaf(name, &value.format(DATE_TIME).to_string()),
        }
    }

    pub fn optional_date_time(&mut self, name: &str, value: Option<NaiveDateTime>) {
        if let Some(v) = value {
            self.date_time(name, v);
        }
    }

    /// Closes `XmlMsg` and encodes the file with its declaration.
    pub fn finish(mut self, encoding: CharacterCode) -> Vec<u8> {
        self.close("XmlMsg");
        self.finish_open(encoding)
    }
}

fn declaration(encoding: CharacterCode) -> String {
    format!(
        "<?xml version=\"1.0\" encoding=\"{}\" standalone=\"no\"?>\n",
        encoding.declared_name()
    )
}

/// The text in CP932 such that decoding gives it back exactly. encoding_rs
/// writes what CP932 lacks as a decimal character reference (the text is
/// already escaped, so the reference stands in the file as XML); a few
/// characters it does encode come back as another (U+2212 − is written as
/// the byte pair that reads as U+FF0D －, ¥ as the byte of \\), and those
/// are written as references too.
pub(crate) fn shift_jis(text: &str) -> Vec<u8> {
    let encoding = encoding_rs::SHIFT_JIS;
    let (bytes, _, _) = encoding.encode(text);
    if encoding.decode_without_bom_handling(&bytes).0 == text {
        return bytes.into_owned();
    }
    let mut safe = String::with_capacity(text.len() + 64);
    let mut one = [0u8; 4];
    for c in text.chars() {
        if c.is_ascii() {
            safe.push(c);
            continue;
        }
        let alone: &str = c.encode_utf8(&mut one);
        let (b, _, unmappable) = encoding.encode(alone);
        if unmappable || encoding.decode_without_bom_handling(&b).0 != alone {
            safe.push_str(&format!("&#{};", c as u32));
        } else {
            safe.push(c);
        }
    }
    encoding.encode(&safe).0.into_owned()
}

/// XML-escapes `value`. Characters XML 1.0 cannot carry at all (control
/// characters other than tab, line feed and carriage return) are left out:
/// no value the interface carries holds one, and a file with one would be
/// refused by every reader.
fn escape_into(out: &mut String, value: &str) {
    for c in value.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '\r' => out.push_str("&#13;"),
            '\t' | '\n' => out.push(c),
            c if (c as u32) < 0x20 || c == '\u{FFFE}' || c == '\u{FFFF}' => {}
            c => out.push(c),
        }
    }
}

/// `value`'s last `out.len()` decimal digits, zero-padded.
fn put_digits(out: &mut [u8], mut value: u32) {
    for b in out.iter_mut().rev() {
        *b = b'0' + (value % 10) as u8;
        value /= 10;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::oqs::reader::read;

    fn written(value: &str, encoding: CharacterCode) -> Vec<u8> {
        let mut w = XmlWriter::new(64);
        w.leaf("Name", value);
        w.finish(encoding)
    }

    #[test]
    fn shift_jis_writes_cp932_bytes_and_references_for_the_rest() {
        let bytes = written("髙橋①〜😀 <&>−¥", CharacterCode::ShiftJis);
        assert!(bytes.starts_with(b"<?xml version=\"1.0\" encoding=\"Shift_JIS\""));
        let text = String::from_utf8_lossy(&bytes);
        assert!(text.contains("&#12316;"), "{text}");
        assert!(text.contains("&#128512;"), "{text}");
        let doc = read(&bytes).unwrap();
        assert_eq!(doc.encoding, CharacterCode::ShiftJis);
        assert_eq!(doc.root.text_of("Name").unwrap(), Some("髙橋①〜😀 <&>−¥"));
    }

    #[test]
    fn dates_are_written_in_fixed_width_as_chrono_would() {
        for (y, m, d, h, mi, sec) in [
            (2026, 12, 7, 9, 5, 3),
            (1, 1, 1, 0, 0, 0),
            (9999, 12, 31, 23, 59, 59),
            (12026, 1, 2, 3, 4, 5),
        ] {
            let t = NaiveDate::from_ymd_opt(y, m, d)
                .unwrap()
                .and_hms_opt(h, mi, sec)
                .unwrap();
            let mut w = XmlWriter::new(64);
            w.date("D", t.date());
            w.date_time("T", t);
            let text = String::from_utf8(w.finish(CharacterCode::Utf8)).unwrap();
            assert!(
                text.contains(&format!("<D>{}</D>", t.format(DATE))),
                "{text}"
            );
            assert!(
                text.contains(&format!("<T>{}</T>", t.format(DATE_TIME))),
                "{text}"
            );
        }
    }

    #[test]
    fn utf8_is_written_as_is_and_controls_are_left_out() {
        let bytes = written("ｼﾝﾘｮｳ ﾀﾛｳ\u{1}", CharacterCode::Utf8);
        let doc = read(&bytes).unwrap();
        assert_eq!(doc.root.text_of("Name").unwrap(), Some("ｼﾝﾘｮｳ ﾀﾛｳ"));
    }
}
