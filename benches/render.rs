#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! Render benchmarks: `cargo bench --bench render` (never run in CI).
//!
//! - `render/full_200x50`, `render/full_120x40`: one full frame of the demo
//!   (seed 42, 1800 s in) into an in-memory buffer, as the `snapshot` command
//!   draws it (goal at 200×50: ≤ 1 ms).
//! - `render/draw_200x50`: the same frame drawn through one long-lived
//!   `Terminal` (buffers reused, diffed, nothing changed to flush), as the
//!   live loop draws: `render_buffer` above also pays for building a terminal
//!   and cloning its buffer every call.
//! - `render/tick_derive`: recomputing what the panes draw at a data tick
//!   (`Derived::compute`, the cost `State::tick` adds once per refresh).

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use heliostat::app::derive::Derived;
use heliostat::app::run::chrome;
use heliostat::keymap::Keymap;
use heliostat::snapshot::{demo_state, render_buffer};
use heliostat::theme::Theme;
use heliostat::ui;
use ratatui::Terminal;
use ratatui::backend::TestBackend;

fn benches(c: &mut Criterion) {
    let mut state = demo_state(
        42,
        1800,
        None,
        heliostat::app::driver::DemoDriver::demo_session(),
        &[],
    );
    let theme = Theme::default();
    let chrome = chrome(&Keymap::default(), state.ui.focus);

    let mut g = c.benchmark_group("render");
    for (w, h) in [(200u16, 50u16), (120, 40)] {
        g.bench_function(format!("full_{w}x{h}"), |b| {
            b.iter(|| black_box(render_buffer(black_box(&state), &theme, &chrome, w, h)));
        });
    }
    g.bench_function("draw_200x50", |b| {
        let mut term = Terminal::new(TestBackend::new(200, 50)).unwrap();
        b.iter(|| {
            term.draw(|f| ui::render(f, black_box(&state), &theme, &chrome))
                .unwrap();
        });
    });
    g.bench_function("tick_derive", |b| {
        let now = state.now;
        b.iter(|| black_box(Derived::compute(black_box(&mut state), now)));
    });
    g.finish();
}

criterion_group!(render, benches);
criterion_main!(render);
