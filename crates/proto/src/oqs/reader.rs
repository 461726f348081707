//! Reading a receipt computer's file: its bytes decoded by the encoding its
//! XML declaration names, and parsed into a tree of elements that refuses
//! what no OQS file carries (a DTD, entities of its own, a second root,
//! elements nested deeper than any layout) and never depends on the order
//! of sibling elements (real files do not keep the layout's order,
//! docs/reference/oqs.md).

use std::borrow::Cow;

use encoding_rs::{Encoding, SHIFT_JIS, UTF_8};
use quick_xml::events::Event;

/// The largest file read: a batch of 100,000 persons is about 43 MB.
pub const MAX_FILE_BYTES: usize = 64 * 1024 * 1024;

/// No OQS layout nests deeper (XmlMsg / MessageBody / ResultList /
/// ResultOfQualificationConfirmation / …Info / one value).
pub const MAX_DEPTH: usize = 12;

/// The two encodings of the interface: `CharacterCodeIdentifier` 0 and 1.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CharacterCode {
    Utf8,
    /// Shift_JIS as receipt computers write it: code page 932
    /// (encoding_rs's `Shift_JIS` is the WHATWG one, which is CP932).
    ShiftJis,
}

impl CharacterCode {
    /// The value of `CharacterCodeIdentifier`.
    pub fn identifier(self) -> &'static str {
        match self {
            Self::Utf8 => "0",
            Self::ShiftJis => "1",
        }
    }

    pub fn from_identifier(s: &str) -> Option<Self> {
        match s.trim() {
            "0" => Some(Self::Utf8),
            "1" => Some(Self::ShiftJis),
            _ => None,
        }
    }

    /// The name written in the XML declaration.
    pub fn declared_name(self) -> &'static str {
        match self {
            Self::Utf8 => "UTF-8",
            Self::ShiftJis => "Shift_JIS",
        }
    }

    fn encoding(self) -> &'static Encoding {
        match self {
            Self::Utf8 => UTF_8,
            Self::ShiftJis => SHIFT_JIS,
        }
    }

    /// The encoding a declaration names. Shift_JIS is also written under
    /// the names of its Windows variant, which is what every reader uses.
    fn of_declared(name: &str) -> Option<Self> {
        match name.to_ascii_lowercase().as_str() {
            "utf-8" | "utf8" => Some(Self::Utf8),
            "shift_jis" | "shift-jis" | "sjis" | "x-sjis" | "windows-31j" | "cp932" | "ms932" => {
                Some(Self::ShiftJis)
            }
            _ => None,
        }
    }
}

/// Why a file could not be read. Each has a stable code (docs/error-codes.md)
/// for the `.err` a receipt computer receives.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReadError {
    #[error("the file is larger than {MAX_FILE_BYTES} bytes")]
    TooLarge,
    #[error("the file is empty")]
    Empty,
    #[error("the XML declaration names an encoding other than UTF-8 or Shift_JIS: {0}")]
    UnknownEncoding(String),
    #[error("the bytes are not valid {0}")]
    NotInDeclaredEncoding(&'static str),
    #[error("the file carries a document type declaration")]
    DocType,
    #[error("the file refers to an entity other than XML's own: &{0};")]
    Entity(String),
    #[error("elements are nested deeper than {MAX_DEPTH}")]
    TooDeep,
    #[error("the file has no root element, or more than one")]
    Root,
    #[error("the XML is malformed: {0}")]
    Malformed(String),
}

impl ReadError {
    pub fn code(&self) -> &'static str {
        match self {
            Self::TooLarge => "Z-Q-0001",
            Self::Empty | Self::Root | Self::Malformed(_) | Self::TooDeep => "Z-Q-0002",
            Self::UnknownEncoding(_) | Self::NotInDeclaredEncoding(_) => "Z-Q-0003",
            Self::DocType | Self::Entity(_) => "Z-Q-0004",
        }
    }

    /// What the `.err` says, for the person at the receipt computer.
    pub fn message(&self) -> &'static str {
        match self {
            Self::TooLarge => "ファイルが大きすぎます。",
            Self::Empty | Self::Root | Self::Malformed(_) | Self::TooDeep => {
                "XMLの形式が正しくありません。"
            }
            Self::UnknownEncoding(_) | Self::NotInDeclaredEncoding(_) => {
                "文字コードが正しくありません。UTF-8またはShift_JISで作成し、XML宣言の文字コードと一致させてください。"
            }
            Self::DocType | Self::Entity(_) => {
                "このファイルでは使用できない記述（DTD・実体参照）が含まれています。"
            }
        }
    }
}

/// One element: its name, its text (for a leaf) and its children in the
/// order of the file.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Element {
    pub name: String,
    pub text: String,
    pub children: Vec<Element>,
}

/// A child was present more than once where the layout allows one.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{parent}/{name} appears more than once")]
pub struct Duplicated {
    pub parent: String,
    pub name: String,
}

impl Element {
    /// The single child `name`, wherever it stands among its siblings.
    pub fn child(&self, name: &str) -> Result<Option<&Element>, Duplicated> {
        let mut found = self.children.iter().filter(|c| c.name == name);
        let first = found.next();
        if found.next().is_some() {
            return Err(Duplicated {
                parent: self.name.clone(),
                name: name.to_owned(),
            });
        }
        Ok(first)
    }

    /// Every child `name` (a repeated element, such as one per person).
    pub fn children_named<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a Element> {
        self.children.iter().filter(move |c| c.name == name)
    }

    /// The text of the single child `name`, as written (leading zeros and
    /// spaces kept); `None` when absent.
    pub fn text_of(&self, name: &str) -> Result<Option<&str>, Duplicated> {
        Ok(self.child(name)?.map(|c| c.text.as_str()))
    }
}

/// A file read: the encoding it was written in and its root element.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Document {
    pub encoding: CharacterCode,
    pub root: Element,
}

/// Reads a file: size, encoding by its declaration (UTF-8 without one),
/// strict decoding, then the element tree.
pub fn read(bytes: &[u8]) -> Result<Document, ReadError> {
    read_split(bytes, &[], &mut |_| Ok(()))
}

/// Reads a file like [`read`], but hands each element at the path `split`
/// (e.g. `XmlMsg/MessageBody/QualificationConfirmSearchInfo`) to `each` as
/// soon as it is closed instead of keeping it in the tree: a file of
/// 100,000 persons is read with one person's elements in memory at a time.
pub fn read_split<E: From<ReadError>>(
    bytes: &[u8],
    split: &[&str],
    each: &mut dyn FnMut(Element) -> Result<(), E>,
) -> Result<Document, E> {
    if bytes.len() > MAX_FILE_BYTES {
        return Err(ReadError::TooLarge.into());
    }
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(ReadError::Empty.into());
    }
    let encoding = match declared_encoding(bytes) {
        Some(name) => CharacterCode::of_declared(&name).ok_or(ReadError::UnknownEncoding(name))?,
        None => CharacterCode::Utf8,
    };
    let text = encoding
        .encoding()
        .decode_without_bom_handling_and_without_replacement(bytes)
        .ok_or(ReadError::NotInDeclaredEncoding(encoding.declared_name()))?;
    let root = parse(&text, split, each)?;
    Ok(Document { encoding, root })
}

/// The `encoding` pseudo-attribute of the XML declaration, which is ASCII
/// in both encodings.
fn declared_encoding(bytes: &[u8]) -> Option<String> {
    let decl = bytes.strip_prefix(b"<?xml")?;
    let end = decl.windows(2).position(|w| w == b"?>")?;
    let decl = std::str::from_utf8(&decl[..end]).ok()?;
    let at = decl.find("encoding")?;
    let rest = decl[at + "encoding".len()..]
        .trim_start()
        .strip_prefix('=')?;
    let rest = rest.trim_start();
    let quote = rest.chars().next().filter(|q| *q == '"' || *q == '\'')?;
    let value = &rest[1..];
    Some(value[..value.find(quote)?].to_owned())
}

fn malformed(e: impl std::fmt::Display) -> ReadError {
    ReadError::Malformed(e.to_string())
}

fn parse<E: From<ReadError>>(
    text: &str,
    split: &[&str],
    each: &mut dyn FnMut(Element) -> Result<(), E>,
) -> Result<Element, E> {
    let mut reader = quick_xml::Reader::from_str(text);
    reader.config_mut().check_end_names = true;
    let mut open: Vec<Element> = Vec::new();
    let mut root: Option<Element> = None;
    loop {
        match reader.read_event().map_err(malformed)? {
            Event::Start(e) => {
                if root.is_some() {
                    return Err(ReadError::Root.into());
                }
                if open.len() >= MAX_DEPTH {
                    return Err(ReadError::TooDeep.into());
                }
                open.push(Element {
                    name: e.local_name().as_ref().to_owned(),
                    ..Element::default()
                });
            }
            Event::Empty(e) => {
                let element = Element {
                    name: e.local_name().as_ref().to_owned(),
                    ..Element::default()
                };
                if is_split(&open, &element, split) {
                    each(element)?;
                } else {
                    close(&mut open, &mut root, element)?;
                }
            }
            Event::End(_) => {
                let element = open.pop().ok_or(ReadError::Root)?;
                if is_split(&open, &element, split) {
                    each(element)?;
                } else {
                    close(&mut open, &mut root, element)?;
                }
            }
            Event::Text(t) => append(&mut open, &t.xml10_content())?,
            Event::CData(c) => append(&mut open, &c.xml10_content())?,
            Event::GeneralRef(r) => {
                let resolved = match r.resolve_char_ref().map_err(malformed)? {
                    Some(c) => Cow::Owned(c.to_string()),
                    None => Cow::Borrowed(match &*r {
                        "amp" => "&",
                        "lt" => "<",
                        "gt" => ">",
                        "apos" => "'",
                        "quot" => "\"",
                        other => return Err(ReadError::Entity(other.to_owned()).into()),
                    }),
                };
                append(&mut open, &resolved)?;
            }
            Event::DocType(_) => return Err(ReadError::DocType.into()),
            Event::Decl(_) | Event::PI(_) | Event::Comment(_) => {}
            Event::Eof => break,
        }
    }
    if !open.is_empty() {
        return Err(malformed("an element is not closed").into());
    }
    Ok(root.ok_or(ReadError::Root)?)
}

/// Whether `element`, closed under `open`, stands at the path `split`.
fn is_split(open: &[Element], element: &Element, split: &[&str]) -> bool {
    split.len() == open.len() + 1
        && split.last().is_some_and(|last| element.name == *last)
        && open.iter().zip(split).all(|(o, name)| o.name == *name)
}

/// Text inside an element; outside the root only whitespace may stand.
fn append(open: &mut [Element], text: &str) -> Result<(), ReadError> {
    match open.last_mut() {
        Some(e) => e.text.push_str(text),
        None if text.trim().is_empty() => {}
        None => return Err(malformed("text outside the root element")),
    }
    Ok(())
}

fn close(
    open: &mut [Element],
    root: &mut Option<Element>,
    element: Element,
) -> Result<(), ReadError> {
    match open.last_mut() {
        Some(parent) => parent.children.push(element),
        None if root.is_none() => *root = Some(element),
        None => return Err(ReadError::Root),
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const FACE: &str = "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"no\"?>\n<XmlMsg>\n  <MessageHeader>\n    <ProcessExecutionTime>20261207101500</ProcessExecutionTime>\n    <CharacterCodeIdentifier>0</CharacterCodeIdentifier>\n    <MedicalInstitutionCode>1310110018</MedicalInstitutionCode>\n  </MessageHeader>\n  <MessageBody>\n    <ResultList>\n      <ResultOfQualificationConfirmation><InsurerNumber>  123456</InsurerNumber><InsuredCardSymbol>０１２</InsuredCardSymbol><InsuredBranchNumber>00</InsuredBranchNumber><Name>藤原 真一</Name></ResultOfQualificationConfirmation>\n    </ResultList>\n    <ProcessingResultStatus>1</ProcessingResultStatus>\n  </MessageBody>\n</XmlMsg>\n";

    fn result_of(doc: &Document) -> &Element {
        doc.root
            .child("MessageBody")
            .unwrap()
            .unwrap()
            .child("ResultList")
            .unwrap()
            .unwrap()
            .child("ResultOfQualificationConfirmation")
            .unwrap()
            .unwrap()
    }

    #[test]
    fn utf8_is_read_with_values_as_written_in_any_order() {
        let doc = read(FACE.as_bytes()).unwrap();
        assert_eq!(doc.encoding, CharacterCode::Utf8);
        assert_eq!(doc.root.name, "XmlMsg");
        let r = result_of(&doc);
        assert_eq!(r.text_of("InsurerNumber").unwrap(), Some("  123456"));
        assert_eq!(r.text_of("InsuredBranchNumber").unwrap(), Some("00"));
        assert_eq!(r.text_of("Name").unwrap(), Some("藤原 真一"));
        // ProcessingResultStatus stands after ResultList, as in real files.
        let body = doc.root.child("MessageBody").unwrap().unwrap();
        assert_eq!(body.text_of("ProcessingResultStatus").unwrap(), Some("1"));
        assert_eq!(r.text_of("Sex1").unwrap(), None);
    }

    #[test]
    fn shift_jis_is_read_by_its_declaration_and_cp932_characters_survive() {
        let text = FACE
            .replace("UTF-8", "Shift_JIS")
            .replace("藤原 真一", "髙橋 ①");
        let (bytes, _, unmappable) = SHIFT_JIS.encode(&text);
        assert!(!unmappable);
        let doc = read(&bytes).unwrap();
        assert_eq!(doc.encoding, CharacterCode::ShiftJis);
        assert_eq!(result_of(&doc).text_of("Name").unwrap(), Some("髙橋 ①"));
        // Shift_JIS bytes declared as UTF-8 are refused, not mangled.
        let declared_utf8 = text.replace("Shift_JIS", "UTF-8");
        let (lying, _, _) = SHIFT_JIS.encode(&declared_utf8);
        assert_eq!(
            read(&lying).unwrap_err(),
            ReadError::NotInDeclaredEncoding("UTF-8")
        );
    }

    #[test]
    fn a_missing_declaration_means_utf8_and_a_bom_is_skipped() {
        let bare = FACE.split_once("?>\n").unwrap().1;
        assert_eq!(read(bare.as_bytes()).unwrap().encoding, CharacterCode::Utf8);
        let bom = [b"\xEF\xBB\xBF".as_slice(), FACE.as_bytes()].concat();
        assert_eq!(read(&bom).unwrap().encoding, CharacterCode::Utf8);
    }

    #[test]
    fn what_no_oqs_file_carries_is_refused() {
        let cases: [(String, ReadError); 7] = [
            (
                FACE.replace("UTF-8", "EUC-JP"),
                ReadError::UnknownEncoding("EUC-JP".into()),
            ),
            (
                FACE.replace("<XmlMsg>", "<!DOCTYPE XmlMsg [<!ENTITY x \"y\">]><XmlMsg>"),
                ReadError::DocType,
            ),
            (
                FACE.replace("藤原 真一", "&x;"),
                ReadError::Entity("x".into()),
            ),
            (format!("{FACE}<XmlMsg/>"), ReadError::Root),
            (String::from("   \n"), ReadError::Empty),
            (
                format!(
                    "<a>{}x{}</a>",
                    "<b>".repeat(MAX_DEPTH),
                    "</b>".repeat(MAX_DEPTH)
                ),
                ReadError::TooDeep,
            ),
            (
                FACE.replace("</XmlMsg>", ""),
                ReadError::Malformed("an element is not closed".into()),
            ),
        ];
        for (text, expected) in cases {
            assert_eq!(read(text.as_bytes()).unwrap_err(), expected, "{text}");
        }
        assert!(matches!(
            read(FACE.replace("</Name>", "</Nome>").as_bytes()),
            Err(ReadError::Malformed(_))
        ));
        let huge = vec![b' '; MAX_FILE_BYTES + 1];
        assert_eq!(read(&huge).unwrap_err(), ReadError::TooLarge);
    }

    #[test]
    fn xml_s_own_entities_and_character_references_are_text() {
        let doc = read(
            FACE.replace("藤原 真一", "A&amp;B &#x9AD9;&#39;")
                .as_bytes(),
        )
        .unwrap();
        assert_eq!(result_of(&doc).text_of("Name").unwrap(), Some("A&B 髙'"));
    }

    #[test]
    fn a_single_valued_element_given_twice_is_named() {
        let doc = read(
            FACE.replace(
                "<Name>藤原 真一</Name>",
                "<Name>藤原 真一</Name><Name>別人</Name>",
            )
            .as_bytes(),
        )
        .unwrap();
        let err = result_of(&doc).text_of("Name").unwrap_err();
        assert_eq!(err.parent, "ResultOfQualificationConfirmation");
        assert_eq!(err.name, "Name");
        assert_eq!(result_of(&doc).children_named("Name").count(), 2);
    }

    #[test]
    fn every_refusal_has_a_code_and_a_japanese_message() {
        for e in [
            ReadError::TooLarge,
            ReadError::Empty,
            ReadError::UnknownEncoding("x".into()),
            ReadError::NotInDeclaredEncoding("UTF-8"),
            ReadError::DocType,
            ReadError::Entity("x".into()),
            ReadError::TooDeep,
            ReadError::Root,
            ReadError::Malformed("x".into()),
        ] {
            assert!(e.code().starts_with("Z-Q-"));
            assert!(e.message().ends_with('。'));
        }
    }
}
