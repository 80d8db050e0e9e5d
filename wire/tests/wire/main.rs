//! One test binary for wire: the committed vectors, and decoding that never panics.

mod no_panic;
mod vectors;
