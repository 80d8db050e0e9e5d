//! qr-gen as a library: the binary (`main.rs`) is a thin command line over these modules, and
//! the tests drive them directly.

pub mod font;
pub mod matrix;
pub mod output;
pub mod pdf;
pub mod roster;
pub mod sample;
pub mod sheets;
