//! Text from outside (server replies, file contents, arguments) on its way to
//! a terminal the console does not draw: control characters escaped, so an
//! ESC or BEL in a context name or URL cannot move the cursor, set the
//! title or write the clipboard (OSC 52) of the user's terminal.

use std::fmt::Write as _;

/// `s` with every control character but newline and tab written as an
/// escape (`\x1b`, `\u{9b}`), so it prints as visible text.
pub fn escape_controls(s: &str) -> String {
    if !s.chars().any(is_unsafe) {
        return s.to_string();
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        if !is_unsafe(c) {
            out.push(c);
        } else if (c as u32) < 0x80 {
            let _ = write!(out, "\\x{:02x}", c as u32);
        } else {
            let _ = write!(out, "\\u{{{:x}}}", c as u32);
        }
    }
    out
}

fn is_unsafe(c: char) -> bool {
    c.is_control() && c != '\n' && c != '\t'
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_bytes_become_visible_text() {
        let osc52 = "ctx\x1b]52;c;aGVsbG8=\x07end";
        assert_eq!(escape_controls(osc52), "ctx\\x1b]52;c;aGVsbG8=\\x07end");
        assert_eq!(escape_controls("a\u{9b}31m"), "a\\u{9b}31m");
        assert_eq!(escape_controls("del\x7f"), "del\\x7f");
        assert_eq!(escape_controls("line 1\n\tline 2 ✓"), "line 1\n\tline 2 ✓");
        assert_eq!(escape_controls("cr\r"), "cr\\x0d");
    }
}
