//! What the public reads without an account: a 差评's status link (`status`) and each hall's
//! results (`results`).

pub mod results;
pub mod status;
