//! Front-ends: one per language, each turning a file's text into [`crate::facts::Facts`].

pub mod rust;
