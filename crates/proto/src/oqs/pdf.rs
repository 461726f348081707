//! 薬剤情報 and 特定健診情報 as PDF (`FileCategory` 1 and 3 of
//! `YZKsiquc01`, 1 of `TKKsiquc01`): the content of the XML result laid out
//! on A4 for a person to read at the desk, in a Japanese font embedded as a
//! subset (only the glyphs used travel, so a result stays a few kilobytes).
//!
//! The font comes in as bytes ([`PdfFont::new`]); finding one on the server
//! is the caller's business. Text is wrapped by the font's own advances,
//! at any character (Japanese breaks between any two), and a table that
//! runs over a page repeats its head on the next.

use std::sync::Arc;

use chrono::{Datelike, NaiveDate, NaiveDateTime, Timelike};
use krilla::Document;
use krilla::color::rgb;
use krilla::geom::{PathBuilder, Point, Rect};
use krilla::metadata::Metadata;
use krilla::num::NormalizedF32;
use krilla::page::PageSettings;
use krilla::paint::{Fill, Stroke};
use krilla::surface::Surface;
use krilla::text::{Font, GlyphId, KrillaGlyph};
use skrifa::instance::{LocationRef, Size};
use skrifa::raw::FileRef;
use skrifa::string::StringId;
use skrifa::{FontRef, MetadataProvider};

use super::medical::{CheckupResultFile, DrugResult, MedicalHeader, Patient};

/// A font that writes Japanese, with what is needed to measure its text.
#[derive(Clone)]
pub struct PdfFont {
    data: Arc<Vec<u8>>,
    index: u32,
    font: Font,
    family: String,
}

impl std::fmt::Debug for PdfFont {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PdfFont")
            .field("family", &self.family)
            .field("index", &self.index)
            .finish()
    }
}

/// Why bytes could not serve as the PDF font.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FontError {
    #[error("not a TrueType or OpenType font (or collection)")]
    NotAFont,
    #[error("no face of the font has kana and kanji")]
    NoJapanese,
}

/// Characters every face we write with must hold: kana (full and half
/// width, the latter for カナ氏名), kanji, digits and the units of results.
const JAPANESE_PROBE: &str = "あアｱ漢字薬剤0１mg";

impl PdfFont {
    /// The face of `bytes` to write with. In a collection (`.ttc`) it is the
    /// first face whose family names Japan (`… JP`, as Noto Sans CJK JP),
    /// else the first that holds kana and kanji.
    pub fn new(bytes: Vec<u8>) -> Result<Self, FontError> {
        let faces: Vec<(u32, String, bool)> = {
            let file = FileRef::new(&bytes).map_err(|_| FontError::NotAFont)?;
            file.fonts()
                .enumerate()
                .filter_map(|(i, f)| {
                    let f = f.ok()?;
                    let family = f
                        .localized_strings(StringId::FAMILY_NAME)
                        .english_or_first()
                        .map(|s| s.to_string())
                        .unwrap_or_default();
                    let japanese = JAPANESE_PROBE.chars().all(|c| f.charmap().map(c).is_some());
                    Some((u32::try_from(i).ok()?, family, japanese))
                })
                .collect()
        };
        if faces.is_empty() {
            return Err(FontError::NotAFont);
        }
        let chosen = faces
            .iter()
            .find(|(_, family, japanese)| *japanese && family.contains("JP"))
            .or_else(|| faces.iter().find(|(_, _, japanese)| *japanese))
            .ok_or(FontError::NoJapanese)?;
        Self::face(bytes, chosen.0, chosen.1.clone())
    }

    /// A given face of a collection.
    pub fn with_index(bytes: Vec<u8>, index: u32) -> Result<Self, FontError> {
        let family = {
            let face = FontRef::from_index(&bytes, index).map_err(|_| FontError::NotAFont)?;
            if !JAPANESE_PROBE
                .chars()
                .all(|c| face.charmap().map(c).is_some())
            {
                return Err(FontError::NoJapanese);
            }
            face.localized_strings(StringId::FAMILY_NAME)
                .english_or_first()
                .map(|s| s.to_string())
                .unwrap_or_default()
        };
        Self::face(bytes, index, family)
    }

    fn face(bytes: Vec<u8>, index: u32, family: String) -> Result<Self, FontError> {
        let data = Arc::new(bytes);
        let font = Font::new(data.clone().into(), index).ok_or(FontError::NotAFont)?;
        Ok(Self {
            data,
            index,
            font,
            family,
        })
    }

    /// The family name of the face, e.g. `Noto Sans CJK JP`.
    pub fn family(&self) -> &str {
        &self.family
    }

    /// Each character's glyph and advance (at 1 pt). Japanese needs no
    /// shaping beyond the character map — no ligatures, no joining — and a
    /// full shaper rebuilt a CJK font's layout tables for every line, most
    /// of a PDF's time. A character the face lacks is its `.notdef` box, a
    /// full em wide.
    fn glyphs(&self, text: &str) -> Vec<(GlyphId, f32)> {
        let Ok(face) = FontRef::from_index(&self.data, self.index) else {
            return text.chars().map(|_| (GlyphId::new(0), 1.0)).collect();
        };
        let charmap = face.charmap();
        let metrics = face.glyph_metrics(Size::new(1.0), LocationRef::default());
        text.chars()
            .map(|c| match charmap.map(c) {
                Some(g) => (
                    GlyphId::new(g.to_u32()),
                    metrics.advance_width(g).unwrap_or(1.0),
                ),
                None => (GlyphId::new(0), 1.0),
            })
            .collect()
    }

    /// The advance of `text` at `size` points.
    fn width(&self, text: &str, size: f32) -> f32 {
        self.glyphs(text).iter().map(|(_, a)| a * size).sum()
    }
}

/// Why a PDF could not be made.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the PDF could not be written: {0}")]
pub struct PdfError(String);

/// 薬剤情報 (and 診療情報 when `clinical`) of `period` as PDF.
pub fn drug_information(
    result: &DrugResult,
    period: (NaiveDate, NaiveDate),
    clinical: bool,
    font: &PdfFont,
) -> Result<Vec<u8>, PdfError> {
    drug_sheet(result, period, clinical, font).finish(&result.header)
}

fn drug_sheet<'f>(
    result: &DrugResult,
    period: (NaiveDate, NaiveDate),
    clinical: bool,
    font: &'f PdfFont,
) -> Sheet<'f> {
    let title = if clinical {
        "薬剤情報・診療情報"
    } else {
        "薬剤情報"
    };
    let mut sheet = Sheet::new(font, title);
    sheet.title(title);
    sheet.facts(&result.header, result.patient.as_ref());
    sheet.text(
        &format!(
            "対象期間　{}～{}",
            month_label(period.0),
            month_label(period.1)
        ),
        BODY,
    );
    sheet.gap(8.0);
    sheet.section(
        "調剤情報",
        "対象期間に調剤の記録はありません。",
        result.drugs.iter().map(|day| {
            let rows = day
                .drugs
                .iter()
                .map(|d| {
                    vec![
                        d.name.clone(),
                        d.ingredient.clone(),
                        format!("{} {}", d.quantity, d.unit),
                        d.usage.clone(),
                        d.times.to_string(),
                    ]
                })
                .collect();
            (date_label(day.date), &day.institution, rows)
        }),
        &DRUG_COLUMNS,
    );
    if clinical {
        sheet.gap(8.0);
        sheet.section(
            "診療情報",
            "対象期間に診療の記録はありません。",
            result.clinical.iter().map(|day| {
                let rows = day
                    .events
                    .iter()
                    .map(|(name, detail)| vec![name.clone(), detail.clone()])
                    .collect();
                (date_label(day.date), &day.institution, rows)
            }),
            &CLINICAL_COLUMNS,
        );
    }
    sheet
}

/// 特定健診情報 as PDF.
pub fn checkup_information(
    result: &CheckupResultFile,
    font: &PdfFont,
) -> Result<Vec<u8>, PdfError> {
    checkup_sheet(result, font).finish(&result.header)
}

fn checkup_sheet<'f>(result: &CheckupResultFile, font: &'f PdfFont) -> Sheet<'f> {
    let title = "特定健診情報";
    let mut sheet = Sheet::new(font, title);
    sheet.title(title);
    sheet.facts(&result.header, result.patient.as_ref());
    sheet.gap(8.0);
    if result.checkups.is_empty() {
        sheet.text("特定健診の記録はありません。", BODY);
    }
    for c in &result.checkups {
        sheet.subheading(&format!("実施日　{}", date_label(c.on)));
        sheet.table(
            &CHECKUP_COLUMNS,
            c.items
                .iter()
                .map(|i| vec![i.name.clone(), i.value.clone(), i.unit.clone()])
                .collect(),
        );
    }
    sheet
}

const DRUG_COLUMNS: [Column; 5] = [
    Column::new("薬剤名", 150.0),
    Column::new("成分名", 120.0),
    Column::new("数量", 70.0),
    Column::new("用法", 135.0),
    Column::new("回数", 40.0),
];
const CLINICAL_COLUMNS: [Column; 2] = [Column::new("診療内容", 200.0), Column::new("詳細", 315.0)];
const CHECKUP_COLUMNS: [Column; 3] = [
    Column::new("項目", 265.0),
    Column::new("結果", 140.0),
    Column::new("単位", 110.0),
];

fn date_label(d: NaiveDate) -> String {
    format!("{}年{}月{}日", d.year(), d.month(), d.day())
}

fn month_label(d: NaiveDate) -> String {
    format!("{}年{}月", d.year(), d.month())
}

fn time_label(t: NaiveDateTime) -> String {
    format!("{} {:02}:{:02}", date_label(t.date()), t.hour(), t.minute())
}

// A4 in points, with the margins the text keeps.
const PAGE_WIDTH: f32 = 595.0;
const PAGE_HEIGHT: f32 = 842.0;
const LEFT: f32 = 40.0;
const RIGHT: f32 = PAGE_WIDTH - 40.0;
const TOP: f32 = 48.0;
/// Where the body stops; the footer is below.
const BOTTOM: f32 = PAGE_HEIGHT - 56.0;
const TITLE: f32 = 18.0;
const HEADING: f32 = 13.0;
const BODY: f32 = 10.5;
const CELL: f32 = 9.5;
const CELL_PADDING: f32 = 4.0;
const LEADING: f32 = 1.45;

#[derive(Debug, Clone, Copy)]
struct Column {
    label: &'static str,
    width: f32,
}

impl Column {
    const fn new(label: &'static str, width: f32) -> Self {
        Self { label, width }
    }
}

/// One thing drawn on a page, in points from its top left.
#[derive(Debug, Clone, PartialEq)]
enum Mark {
    Text {
        x: f32,
        baseline: f32,
        size: f32,
        text: String,
    },
    /// A thin horizontal rule.
    Rule { x1: f32, x2: f32, y: f32 },
    /// The grey band behind a table's head.
    Band { x: f32, y: f32, w: f32, h: f32 },
}

/// The pages as laid out, before they are drawn (the footer needs their
/// count).
struct Sheet<'f> {
    font: &'f PdfFont,
    title: &'static str,
    pages: Vec<Vec<Mark>>,
    /// The top of the free space on the current page.
    y: f32,
}

impl<'f> Sheet<'f> {
    fn new(font: &'f PdfFont, title: &'static str) -> Self {
        Self {
            font,
            title,
            pages: vec![Vec::new()],
            y: TOP,
        }
    }

    fn marks(&mut self) -> &mut Vec<Mark> {
        if self.pages.is_empty() {
            self.pages.push(Vec::new());
        }
        let last = self.pages.len() - 1;
        &mut self.pages[last]
    }

    fn new_page(&mut self) {
        self.pages.push(Vec::new());
        self.y = TOP;
    }

    /// Starts a new page unless `height` still fits on this one.
    fn room_for(&mut self, height: f32) -> bool {
        if self.y + height > BOTTOM && self.y > TOP {
            self.new_page();
            return false;
        }
        true
    }

    fn line_height(size: f32) -> f32 {
        size * LEADING
    }

    fn put(&mut self, x: f32, size: f32, text: &str) {
        let baseline = self.y + size;
        self.marks().push(Mark::Text {
            x,
            baseline,
            size,
            text: text.to_owned(),
        });
    }

    fn gap(&mut self, h: f32) {
        self.y += h;
    }

    fn title(&mut self, title: &str) {
        self.put(LEFT, TITLE, title);
        self.y += Self::line_height(TITLE);
        let y = self.y;
        self.marks().push(Mark::Rule {
            x1: LEFT,
            x2: RIGHT,
            y,
        });
        self.y += 8.0;
    }

    /// Who, from where, when.
    fn facts(&mut self, header: &MedicalHeader, patient: Option<&Patient>) {
        if let Some(p) = patient {
            self.text(&format!("氏名　{}（{}）", p.name, p.kana), BODY + 1.5);
            self.text(
                &format!(
                    "生年月日　{}　　性別　{}",
                    date_label(p.birth),
                    p.sex.label()
                ),
                BODY,
            );
        }
        self.text(
            &format!(
                "医療機関等コード　{}　　作成日時　{}",
                header.medical_institution_code.as_str(),
                time_label(header.process_execution_time)
            ),
            BODY,
        );
    }

    /// A paragraph, wrapped to the page's width.
    fn text(&mut self, text: &str, size: f32) {
        for line in wrap(self.font, text, RIGHT - LEFT, size) {
            self.room_for(Self::line_height(size));
            self.put(LEFT, size, &line);
            self.y += Self::line_height(size);
        }
    }

    /// A heading, then for each day and institution its table; `empty`
    /// when there is no day.
    fn section<'a>(
        &mut self,
        heading: &str,
        empty: &str,
        days: impl Iterator<Item = (String, &'a String, Vec<Vec<String>>)>,
        columns: &[Column],
    ) {
        self.heading(heading);
        let mut any = false;
        for (date, institution, rows) in days {
            any = true;
            self.subheading(&format!("{date}　{institution}"));
            self.table(columns, rows);
        }
        if !any {
            self.text(empty, BODY);
        }
    }

    fn heading(&mut self, text: &str) {
        // A heading never stands alone at the foot of a page.
        self.room_for(Self::line_height(HEADING) + 3.0 * Self::line_height(CELL));
        self.put(LEFT, HEADING, text);
        self.y += Self::line_height(HEADING) + 2.0;
    }

    fn subheading(&mut self, text: &str) {
        self.room_for(Self::line_height(BODY) + 3.0 * Self::line_height(CELL));
        self.y += 4.0;
        self.put(LEFT, BODY, text);
        self.y += Self::line_height(BODY);
    }

    fn table(&mut self, columns: &[Column], rows: Vec<Vec<String>>) {
        self.table_head(columns);
        for row in rows {
            let cells: Vec<Vec<String>> = columns
                .iter()
                .zip(&row)
                .map(|(c, text)| wrap(self.font, text, c.width - 2.0 * CELL_PADDING, CELL))
                .collect();
            let lines = cells.iter().map(Vec::len).max().unwrap_or(1).max(1);
            let height = lines as f32 * Self::line_height(CELL) + 2.0 * CELL_PADDING;
            if !self.room_for(height) {
                self.table_head(columns);
            }
            let top = self.y;
            let mut x = LEFT;
            for (c, lines) in columns.iter().zip(&cells) {
                self.y = top + CELL_PADDING;
                for line in lines {
                    self.put(x + CELL_PADDING, CELL, line);
                    self.y += Self::line_height(CELL);
                }
                x += c.width;
            }
            self.y = top + height;
            let y = self.y;
            self.marks().push(Mark::Rule { x1: LEFT, x2: x, y });
        }
        self.y += 6.0;
    }

    fn table_head(&mut self, columns: &[Column]) {
        let height = Self::line_height(CELL) + 2.0 * CELL_PADDING;
        self.room_for(height + Self::line_height(CELL) + 2.0 * CELL_PADDING);
        let top = self.y;
        let width: f32 = columns.iter().map(|c| c.width).sum();
        self.marks().push(Mark::Band {
            x: LEFT,
            y: top,
            w: width,
            h: height,
        });
        let mut x = LEFT;
        for c in columns {
            self.y = top + CELL_PADDING;
            self.put(x + CELL_PADDING, CELL, c.label);
            x += c.width;
        }
        self.y = top + height;
    }

    fn finish(self, header: &MedicalHeader) -> Result<Vec<u8>, PdfError> {
        let title = self.title;
        let total = self.pages.len();
        let mut document = Document::new();
        document.set_metadata(
            Metadata::new()
                .title(title.to_owned())
                .language("ja".to_owned())
                .creator("zaitaku".to_owned()),
        );
        let settings = PageSettings::from_wh(PAGE_WIDTH, PAGE_HEIGHT)
            .ok_or_else(|| PdfError("the page size".into()))?;
        for (n, marks) in self.pages.iter().enumerate() {
            let mut page = document.start_page_with(settings.clone());
            let mut surface = page.surface();
            for mark in marks {
                draw(&mut surface, self.font, mark);
            }
            let footer = PAGE_HEIGHT - 32.0;
            draw(
                &mut surface,
                self.font,
                &Mark::Rule {
                    x1: LEFT,
                    x2: RIGHT,
                    y: footer - 12.0,
                },
            );
            let note = format!(
                "{title}　医療機関等コード {}　患者の同意に基づき提供された情報です。",
                header.medical_institution_code.as_str()
            );
            draw(
                &mut surface,
                self.font,
                &Mark::Text {
                    x: LEFT,
                    baseline: footer,
                    size: 8.0,
                    text: note,
                },
            );
            let number = format!("{} / {}", n + 1, total);
            let w = self.font.width(&number, 8.0);
            draw(
                &mut surface,
                self.font,
                &Mark::Text {
                    x: RIGHT - w,
                    baseline: footer,
                    size: 8.0,
                    text: number,
                },
            );
            surface.finish();
            page.finish();
        }
        document.finish().map_err(|e| PdfError(e.to_string()))
    }
}

fn draw(surface: &mut Surface<'_>, font: &PdfFont, mark: &Mark) {
    match mark {
        Mark::Text {
            x,
            baseline,
            size,
            text,
        } => {
            surface.set_fill(Some(Fill::default()));
            surface.set_stroke(None);
            let glyphs: Vec<KrillaGlyph> = text
                .char_indices()
                .zip(font.glyphs(text))
                .map(|((i, c), (id, advance))| {
                    KrillaGlyph::new(id, advance, 0.0, 0.0, 0.0, i..i + c.len_utf8(), None)
                })
                .collect();
            surface.draw_glyphs(
                Point::from_xy(*x, *baseline),
                &glyphs,
                font.font.clone(),
                text,
                *size,
                false,
            );
        }
        Mark::Rule { x1, x2, y } => {
            let mut path = PathBuilder::new();
            path.move_to(*x1, *y);
            path.line_to(*x2, *y);
            if let Some(path) = path.finish() {
                surface.set_fill(None);
                surface.set_stroke(Some(Stroke {
                    paint: rgb::Color::new(120, 120, 120).into(),
                    width: 0.6,
                    ..Stroke::default()
                }));
                surface.draw_path(&path);
            }
        }
        Mark::Band { x, y, w, h } => {
            let mut path = PathBuilder::new();
            if let Some(rect) = Rect::from_xywh(*x, *y, *w, *h) {
                path.push_rect(rect);
            }
            if let Some(path) = path.finish() {
                surface.set_stroke(None);
                surface.set_fill(Some(Fill {
                    paint: rgb::Color::new(230, 230, 230).into(),
                    opacity: NormalizedF32::ONE,
                    rule: Default::default(),
                }));
                surface.draw_path(&path);
            }
        }
    }
}

/// Punctuation a line does not begin with (行頭禁則): the character before
/// it moves down with it.
const NO_LINE_START: &str = "、。，．）」』】〕〉》！？：；";

/// `text` broken into lines no wider than `width`: at line breaks it
/// holds, and otherwise at the last character that fits (never leaving a
/// line empty, so a too-narrow column still makes progress).
fn wrap(font: &PdfFont, text: &str, width: f32, size: f32) -> Vec<String> {
    let mut lines = Vec::new();
    for paragraph in text.split('\n') {
        let advances: Vec<f32> = font
            .glyphs(paragraph)
            .iter()
            .map(|(_, a)| a * size)
            .collect();
        let mut line = String::new();
        let mut used = 0.0;
        let mut last = 0.0;
        for (c, w) in paragraph.chars().zip(advances) {
            if used + w > width && !line.is_empty() {
                let carried = if NO_LINE_START.contains(c) && line.chars().count() > 1 {
                    line.pop()
                } else {
                    None
                };
                lines.push(std::mem::take(&mut line));
                used = 0.0;
                if let Some(p) = carried {
                    line.push(p);
                    used = last;
                }
            }
            line.push(c);
            used += w;
            last = w;
        }
        lines.push(line);
    }
    lines
}

#[cfg(test)]
mod tests;
