//! The Japanese font 薬剤情報・特定健診情報 are written in when a receipt
//! computer asks for them as PDF: a file the operator names
//! (`zaitaku serve --pdf-font`), or else the first of the usual Japanese
//! gothic families installed on the machine, found as the desktop finds
//! fonts (fontconfig's folders).

use std::path::Path;
use std::sync::OnceLock;

use zaitaku_proto::oqs::pdf::{FontError, PdfFont};

/// Families looked for, in order: Debian's and Fedora's packages first
/// (`fonts-noto-cjk`, `fonts-ipaexfont-gothic`), then macOS's and
/// Windows's own.
const FAMILIES: [&str; 9] = [
    "Noto Sans CJK JP",
    "Noto Sans JP",
    "Source Han Sans JP",
    "IPAexGothic",
    "IPAGothic",
    "Hiragino Sans",
    "Hiragino Kaku Gothic ProN",
    "Yu Gothic",
    "MS Gothic",
];

/// Why a named font file cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum PdfFontError {
    #[error("{path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("{path}: {source}")]
    Font { path: String, source: FontError },
}

/// The font in the file at `path` (a `.ttf`, `.otf` or `.ttc`).
pub fn load(path: &Path) -> Result<PdfFont, PdfFontError> {
    let shown = path.display().to_string();
    let bytes = std::fs::read(path).map_err(|source| PdfFontError::Read {
        path: shown.clone(),
        source,
    })?;
    PdfFont::new(bytes).map_err(|source| PdfFontError::Font {
        path: shown,
        source,
    })
}

/// The first of [`FAMILIES`] installed here, looked up once per process
/// (the look-up reads every installed font's names).
pub fn installed() -> Option<PdfFont> {
    static INSTALLED: OnceLock<Option<PdfFont>> = OnceLock::new();
    INSTALLED.get_or_init(find_installed).clone()
}

fn find_installed() -> Option<PdfFont> {
    let mut db = fontdb::Database::new();
    db.load_system_fonts();
    FAMILIES.iter().find_map(|name| {
        let families = [fontdb::Family::Name(name)];
        let id = db.query(&fontdb::Query {
            families: &families,
            ..fontdb::Query::default()
        })?;
        let (fontdb::Source::File(path) | fontdb::Source::SharedFile(path, _), index) =
            db.face_source(id)?
        else {
            return None;
        };
        let bytes = std::fs::read(&path).ok()?;
        PdfFont::with_index(bytes, index).ok()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_installed_japanese_gothic_is_found() {
        // The test suite installs Debian's fonts-noto-cjk (scripts/ensure-packages).
        let font = installed().expect("a Japanese font is installed");
        assert_eq!(font.family(), "Noto Sans CJK JP");
    }

    #[test]
    fn a_named_file_that_is_no_font_is_refused_with_its_path() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("font.ttf");
        std::fs::write(&path, b"not a font").unwrap();
        let e = load(&path).unwrap_err();
        assert!(e.to_string().contains("font.ttf"), "{e}");
        assert!(matches!(e, PdfFontError::Font { .. }));
        assert!(matches!(
            load(&dir.path().join("missing.ttc")),
            Err(PdfFontError::Read { .. })
        ));
    }
}
