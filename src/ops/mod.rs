//! Effects the user asks for that touch a server (warming). Each op runs
//! outside the app loop and reports progress as samples.

pub mod warm;
