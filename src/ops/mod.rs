//! Effects that touch a server: warming, and the client-statistics sink.
//! Each op runs outside the app loop and reports back as samples.

pub mod sink;
pub mod warm;
