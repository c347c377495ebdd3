//! Effects that touch a server: warming, the client-statistics sink, and
//! ending sessions (the Sessions pane's cancel, terminate and kill).
//! Each op runs outside the app loop and reports back as samples.

pub mod sessions;
pub mod sink;
pub mod warm;
