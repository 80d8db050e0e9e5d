//! What an upload would change, before it is applied: by hall, the codes added, removed and
//! changed, and the staff members who moved (the same 工号 at another window or hall).

use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};
use wire::directory::Entry;

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct HallChanges {
    pub added: Vec<String>,
    pub removed: Vec<String>,
    pub changed: Vec<String>,
    pub unchanged: usize,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Preview {
    pub halls: BTreeMap<String, HallChanges>,
    /// "王芳（SC0042）：A12 → B03".
    pub moves: Vec<String>,
    pub entries: usize,
}

impl Preview {
    pub fn total(&self) -> (usize, usize, usize) {
        self.halls.values().fold((0, 0, 0), |(a, r, c), h| {
            (a + h.added.len(), r + h.removed.len(), c + h.changed.len())
        })
    }
}

/// A code as an administrator reads it: window, and the staff member if any.
pub fn label(e: &Entry) -> String {
    match (&e.staff_name, &e.staff_id) {
        (Some(n), Some(id)) => format!("{} {}（{}）", e.window, n, id),
        (None, Some(id)) => format!("{} {}", e.window, id),
        _ => format!("{}（窗口码）", e.window),
    }
}

pub fn preview(old: &[Entry], new: &[Entry]) -> Preview {
    let before: HashMap<_, _> = old.iter().map(|e| (e.code, e)).collect();
    let after: HashMap<_, _> = new.iter().map(|e| (e.code, e)).collect();
    let mut p = Preview {
        entries: new.len(),
        ..Default::default()
    };
    for e in new {
        let h = p.halls.entry(e.hall.clone()).or_default();
        match before.get(&e.code) {
            None => h.added.push(label(e)),
            Some(o) if *o != e => h.changed.push(label(e)),
            Some(_) => h.unchanged += 1,
        }
    }
    for e in old {
        if !after.contains_key(&e.code) {
            p.halls
                .entry(e.hall.clone())
                .or_default()
                .removed
                .push(label(e));
        }
    }
    // Staff moves: a 工号 whose set of (hall, window) changed.
    let places = |list: &[Entry]| {
        let mut m: BTreeMap<(String, String), (String, Vec<String>)> = BTreeMap::new();
        for e in list {
            if let Some(id) = &e.staff_id {
                let slot = m
                    .entry((e.region.clone(), id.clone()))
                    .or_insert_with(|| (e.staff_name.clone().unwrap_or_default(), vec![]));
                slot.1.push(format!("{} {}", e.hall, e.window));
                slot.1.sort();
            }
        }
        m
    };
    let (a, b) = (places(old), places(new));
    for (key, (name, was)) in &a {
        if let Some((_, now)) = b.get(key)
            && now != was
        {
            p.moves.push(format!(
                "{}（{}）：{} → {}",
                name,
                key.1,
                was.join("、"),
                now.join("、")
            ));
        }
    }
    p
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn adds_removes_changes_and_moves_by_hall() {
        let a1 = Entry::example("A01", Some("SC1"));
        let a2 = Entry::example("A02", None);
        let gone = Entry::example("A03", None);
        let old = vec![a1.clone(), a2.clone(), gone.clone()];
        // SC1 moves from A01 to A05 (a new code), A02 gets another unit.
        let mut moved = Entry::example("A05", Some("SC1"));
        moved.staff_name = Some("王芳".into());
        let mut a2b = a2.clone();
        a2b.dept = "区医保局".into();
        let p = preview(&old, &[a2b, moved]);
        let h = &p.halls["上城区市民中心"];
        assert_eq!(h.added, ["A05 王芳（SC1）"]);
        assert_eq!(h.removed, ["A01 王芳（SC1）", "A03（窗口码）"]);
        assert_eq!(h.changed, ["A02（窗口码）"]);
        assert_eq!(
            p.moves,
            ["王芳（SC1）：上城区市民中心 A01 → 上城区市民中心 A05"]
        );
        assert_eq!(p.total(), (1, 2, 1));
        assert_eq!(preview(&old, &old).total(), (0, 0, 0));
    }
}
