//! The terminal guard: raw mode and the alternate screen on, and off again
//! on drop, on panic and after SIGTERM / SIGHUP (errors ignored while
//! restoring a terminal that is gone, e.g. a dropped SSH session).

use std::io::{self, Stdout, Write};

use crossterm::event::{DisableBracketedPaste, EnableBracketedPaste};
use crossterm::terminal::{
    BeginSynchronizedUpdate, EndSynchronizedUpdate, EnterAlternateScreen, LeaveAlternateScreen,
    disable_raw_mode, enable_raw_mode,
};
use crossterm::{cursor, execute};
use ratatui::Terminal;
use ratatui::backend::CrosstermBackend;

/// The terminal the console draws on.
pub type Term = Terminal<CrosstermBackend<Stdout>>;

/// Restores the terminal when dropped.
#[derive(Debug)]
pub struct TerminalGuard {
    _private: (),
}

/// Put the terminal back as it was; safe to call more than once.
pub fn restore() {
    let _ = disable_raw_mode();
    let _ = execute!(
        io::stdout(),
        DisableBracketedPaste,
        LeaveAlternateScreen,
        cursor::Show
    );
    let _ = io::stdout().flush();
}

impl TerminalGuard {
    /// Enter raw mode and the alternate screen; install a panic hook that
    /// restores the terminal before the panic message is printed.
    pub fn enter() -> io::Result<(Self, Term)> {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            restore();
            previous(info);
        }));
        enable_raw_mode()?;
        let guard = Self { _private: () };
        execute!(
            io::stdout(),
            EnterAlternateScreen,
            EnableBracketedPaste,
            cursor::Hide
        )?;
        let term = Terminal::new(CrosstermBackend::new(io::stdout()))?;
        Ok((guard, term))
    }
}

impl Drop for TerminalGuard {
    fn drop(&mut self) {
        restore();
    }
}

/// Draw one frame inside a synchronized update (DEC mode 2026), so the
/// terminal shows it whole, never half-drawn.
pub fn draw_synced(term: &mut Term, f: impl FnOnce(&mut ratatui::Frame)) -> io::Result<()> {
    execute!(io::stdout(), BeginSynchronizedUpdate)?;
    let r = term.draw(f).map(|_| ());
    let e = execute!(io::stdout(), EndSynchronizedUpdate);
    r.and(e)
}
