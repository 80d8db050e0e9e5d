//! One test binary for qr-gen: the command as an administrator meets it, and a whole city.

mod city;
mod cli;
