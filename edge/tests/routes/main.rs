//! The edge's routes, natively: every handler over SQLite through the route table, as workerd
//! runs them (`edge::native`).

mod bridge;
mod budgets;
mod checks;
mod fixture;
mod holes;
mod logins;
mod matrix;
mod panics;
mod promises;
mod served;
mod tablets;
mod tokens;
mod upstreams;
