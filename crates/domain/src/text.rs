//! Whether free text can be stored: no NUL characters (PostgreSQL cannot store
//! them, and no person types one), and not made only of invisible characters
//! (zero-width spaces and the like), which would look like nothing at all.

/// Why a piece of text cannot be stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum UnstorableText {
    /// It contains U+0000.
    #[error("This can't contain a NUL character (U+0000).")]
    Nul,
    /// It is not empty, but nothing in it can be seen.
    #[error("This has only invisible characters. Please write something that can be seen, or leave it empty.")]
    Invisible,
}

/// A character that takes no visible space and is not ordinary white space:
/// format characters (zero-width spaces and joiners, direction marks, the BOM),
/// fillers, variation selectors, tags and other control characters.
pub fn is_invisible(c: char) -> bool {
    matches!(c,
        '\u{0}'..='\u{8}' | '\u{E}'..='\u{1F}' | '\u{7F}'..='\u{9F}'
        | '\u{AD}' | '\u{34F}' | '\u{61C}' | '\u{115F}' | '\u{1160}' | '\u{17B4}' | '\u{17B5}'
        | '\u{180B}'..='\u{180F}' | '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}'
        | '\u{2060}'..='\u{206F}' | '\u{3164}' | '\u{FE00}'..='\u{FE0F}' | '\u{FEFF}' | '\u{FFA0}'
        | '\u{FFF0}'..='\u{FFF8}' | '\u{1BCA0}'..='\u{1BCA3}' | '\u{1D173}'..='\u{1D17A}'
        | '\u{E0000}'..='\u{E0FFF}')
}

/// Checks that `text` can be stored. Empty text, and text of ordinary white
/// space only, are left to each field's own rules (many treat them as "not given").
pub fn check_storable(text: &str) -> Result<(), UnstorableText> {
    if text.contains('\0') {
        return Err(UnstorableText::Nul);
    }
    let has_invisible = text.chars().any(is_invisible);
    let has_visible = text.chars().any(|c| !c.is_whitespace() && !is_invisible(c));
    if has_invisible && !has_visible {
        return Err(UnstorableText::Invisible);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nul_characters_and_invisible_only_text_cannot_be_stored() {
        assert_eq!(check_storable("sam@example.org\0"), Err(UnstorableText::Nul));
        assert_eq!(check_storable("\0"), Err(UnstorableText::Nul));
        for invisible in ["\u{200B}", "\u{200B}\u{200B} \u{200D}", "\u{FEFF}", "\u{2060}\n", "\u{3164}", "\u{E0041}"] {
            assert_eq!(check_storable(invisible), Err(UnstorableText::Invisible), "{invisible:?}");
        }
    }

    #[test]
    fn ordinary_text_and_emoji_with_joiners_can_be_stored() {
        for fine in
            ["", "   ", "Sam", "I feel 😔", "👩\u{200D}❤\u{FE0F}\u{200D}👨", "a\u{200B}b", "مرحبا\u{200F}", "名前"]
        {
            assert_eq!(check_storable(fine), Ok(()), "{fine:?}");
        }
    }
}
