#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! Bytes the console writes to its terminal per second with the heatmap's
//! bucket still filling drawn, against complete buckets only:
//! `cargo bench --bench heat_bytes` (never run in CI).
//!
//! The demo (seed 42, 900 s in) at 200×50, default theme, 1 s refresh: 60
//! frames drawn through `LeanBackend` into a byte counter. "Complete
//! buckets only" is the view anchored 10 s back each second: the newest
//! column is the last complete bucket, as the heatmap drew before issue 13.

use std::cell::Cell;
use std::io::Write;
use std::rc::Rc;

use heliostat::app::driver::DemoDriver;
use heliostat::app::run::chrome;
use heliostat::keymap::Keymap;
use heliostat::terminal::LeanBackend;
use heliostat::theme::Theme;
use heliostat::ui;
use ratatui::layout::Rect;
use ratatui::{Terminal, TerminalOptions, Viewport};

struct Count(Rc<Cell<usize>>);

impl Write for Count {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.0.set(self.0.get() + b.len());
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn main() {
    for complete_only in [true, false] {
        let mut d = DemoDriver::new(42, DemoDriver::demo_session(), 1000);
        d.advance(900);
        let n = Rc::new(Cell::new(0));
        let viewport = Viewport::Fixed(Rect::new(0, 0, 200, 50));
        let mut term = Terminal::with_options(
            LeanBackend::new(Count(n.clone())),
            TerminalOptions { viewport },
        )
        .unwrap();
        let theme = Theme::default();
        let chrome = chrome(&Keymap::default(), d.state.ui.focus);
        let mut frames = Vec::new();
        for i in 0..61 {
            d.advance(1);
            if complete_only {
                d.state.ui.heat_end = Some(d.state.now.add_secs(-10));
                d.state.refresh_heatmap();
            }
            let before = n.get();
            term.draw(|f| ui::render(f, &d.state, &theme, &chrome))
                .unwrap();
            // The first frame draws everything: left out.
            if i > 0 {
                frames.push(n.get() - before);
            }
        }
        let total: usize = frames.iter().sum();
        println!(
            "heatmap {}: {:.2} KB/s, {}–{} bytes per frame",
            if complete_only {
                "complete buckets only"
            } else {
                "with the bucket still filling"
            },
            total as f64 / frames.len() as f64 / 1000.0,
            frames.iter().min().unwrap_or(&0),
            frames.iter().max().unwrap_or(&0)
        );
    }
}
