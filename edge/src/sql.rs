//! Statements as values: what the worker sends the storage object (one SQLite Durable Object),
//! which runs a batch of them in one transaction (`glue::object`, or SQLite itself in the native
//! tests, `native`). And the rules that many statements share, written once as SQL fragments:
//! what counts, what is still owed upstream, what a 差评 is.

use serde::Serialize;
use std::borrow::Cow;

/// A rating that counts: not held (0) or released by an administrator (3). Held (1) and
/// rejected (2) ratings count nowhere: not in figures, cases, alerts or forwarding.
#[macro_export]
macro_rules! counted {
    () => {
        "hold IN (0, 3)"
    };
}

/// A delivery (`d`) still owed to a receiver in the settings: a revision of a counted rating
/// it has not acknowledged (`want` follows the rating's `rev` while the rating counts; see
/// migration 0016).
#[macro_export]
macro_rules! owed {
    () => {
        "d.rev < d.want AND d.receiver IN (SELECT name FROM receivers WHERE active = 1)"
    };
}

/// A rating (`ratings`) some receiver in the settings is still owed.
#[macro_export]
macro_rules! pending {
    () => {
        concat!(
            "EXISTS (SELECT 1 FROM deliveries d WHERE d.id = ratings.id AND ",
            $crate::owed!(),
            ")"
        )
    };
}

/// A 差评: the two levels `wire::rating::Level::is_bad` names (a test keeps them in step).
#[macro_export]
macro_rules! bad_level {
    () => {
        "level IN ('dissatisfied', 'very_dissatisfied')"
    };
}

/// A bound value. Integers are bound as JavaScript numbers, exact to 2^53 (the runtime's SQL
/// binds no BigInt; a bound past it, such as `i64::MAX`, is bound as the nearest number).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum Val {
    Int(i64),
    Text(String),
    Null,
}

impl From<i64> for Val {
    fn from(v: i64) -> Self {
        Val::Int(v)
    }
}
impl From<&str> for Val {
    fn from(v: &str) -> Self {
        Val::Text(v.to_owned())
    }
}
impl From<String> for Val {
    fn from(v: String) -> Self {
        Val::Text(v)
    }
}
impl<T: Into<Val>> From<Option<T>> for Val {
    fn from(v: Option<T>) -> Self {
        v.map_or(Val::Null, Into::into)
    }
}

/// One statement and its arguments, as the worker sends it to the storage object.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Stmt {
    pub sql: Cow<'static, str>,
    pub args: Vec<Val>,
}

pub fn stmt(sql: impl Into<Cow<'static, str>>, args: Vec<Val>) -> Stmt {
    Stmt {
        sql: sql.into(),
        args,
    }
}

#[cfg(test)]
mod tests {
    use wire::rating::Level;

    #[test]
    fn the_bad_levels_in_sql_are_the_rating_rules_bad_levels() {
        let named: Vec<&str> = Level::ALL
            .iter()
            .filter(|l| l.is_bad())
            .map(|l| l.as_str())
            .collect();
        let sql = bad_level!();
        for l in Level::ALL {
            assert_eq!(
                sql.contains(&format!("'{}'", l.as_str())),
                named.contains(&l.as_str()),
                "{l:?}"
            );
        }
    }
}
