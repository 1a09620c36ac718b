//! The audit log's hash chain: each row carries a hash of its own columns and of the previous
//! row's hash, so a row edited or deleted directly in the database (triggers dropped) breaks
//! the chain at that row. The head (last row's id and hash), kept beside the log and updated
//! in the same transaction, shows the last rows deleted. Pure: the store writes, the app walks.

use blake2::{Blake2s256, Digest};

/// The `prev_hash` of the first row.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// Tells this encoding from any later one.
const DOMAIN: &str = "cpts-audit-v1";

/// Every column of an audit row, as stored (text as written, JSON as text).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChainRow {
    pub id: i64,
    pub at: String,
    pub login: String,
    pub role: String,
    pub action: String,
    pub cpts: Option<String>,
    pub before: Option<String>,
    pub after: Option<String>,
    pub batch: String,
    /// NULL on a row the migration could not chain, or one inserted by hand.
    pub prev_hash: Option<String>,
    pub hash: Option<String>,
}

/// The hash of a row: its columns and the previous hash, each length-prefixed (an absent value
/// is told from an empty one), so no two different rows encode alike. Hex, 64 characters.
#[allow(clippy::too_many_arguments, reason = "one argument per column, named at each call")]
pub fn row_hash(
    prev_hash: &str,
    id: i64,
    at: &str,
    login: &str,
    role: &str,
    action: &str,
    cpts: Option<&str>,
    before: Option<&str>,
    after: Option<&str>,
    batch: &str,
) -> String {
    let mut h = Blake2s256::new();
    let text = |h: &mut Blake2s256, s: &str| {
        h.update(u64::try_from(s.len()).unwrap_or(u64::MAX).to_le_bytes());
        h.update(s.as_bytes());
    };
    let optional = |h: &mut Blake2s256, s: Option<&str>| match s {
        None => h.update([0u8]),
        Some(s) => {
            h.update([1u8]);
            text(h, s);
        }
    };
    text(&mut h, DOMAIN);
    text(&mut h, prev_hash);
    h.update(id.to_le_bytes());
    for s in [at, login, role, action] {
        text(&mut h, s);
    }
    for s in [cpts, before, after] {
        optional(&mut h, s);
    }
    text(&mut h, batch);
    hex(&h.finalize())
}

fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        for d in [b >> 4, b & 0x0f] {
            s.push(char::from(DIGITS.get(usize::from(d)).copied().unwrap_or(b'0')));
        }
    }
    s
}

impl ChainRow {
    /// The hash this row should carry, from its columns and its stored `prev_hash`.
    pub fn computed(&self) -> String {
        row_hash(
            self.prev_hash.as_deref().unwrap_or_default(),
            self.id,
            &self.at,
            &self.login,
            &self.role,
            &self.action,
            self.cpts.as_deref(),
            self.before.as_deref(),
            self.after.as_deref(),
            &self.batch,
        )
    }
}

/// The head of the chain as recorded with the last audited write: 0 and `GENESIS` before any.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Head {
    pub last_id: i64,
    pub last_hash: String,
}

/// The first place the chain does not hold.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Break {
    /// The row's columns (or its stored hashes) are not what its hash says.
    Modified { id: i64 },
    /// The row is intact but chains onto a row that is no longer there.
    DeletedBefore { id: i64 },
    /// The head names a later row than the last one there: the last rows were deleted
    /// (`after`: the last row left, 0 if none).
    DeletedAfter { after: i64 },
    /// A row beyond the head: written into the table by hand, not by cpts.
    Added { id: i64 },
}

impl std::fmt::Display for Break {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Break::Modified { id } => write!(f, "ligne n° {id} modifiée"),
            Break::DeletedBefore { id } => write!(f, "ligne(s) supprimée(s) avant la ligne n° {id}"),
            Break::DeletedAfter { after: 0 } => write!(f, "toutes les lignes du journal supprimées"),
            Break::DeletedAfter { after } => write!(f, "dernières lignes supprimées après la ligne n° {after}"),
            Break::Added { id } => write!(f, "ligne n° {id} ajoutée hors de cpts"),
        }
    }
}

/// A walk along the chain, fed rows in id order page by page (the log is never loaded whole).
#[derive(Clone, Debug)]
pub struct Walk {
    expected_prev: String,
    last_id: i64,
    rows: u64,
}

impl Default for Walk {
    fn default() -> Self {
        Walk { expected_prev: GENESIS.to_string(), last_id: 0, rows: 0 }
    }
}

impl Walk {
    /// The next row: the first break found, if any (the walk stops there).
    pub fn push(&mut self, row: &ChainRow) -> Result<(), Break> {
        if row.hash.as_deref() != Some(row.computed().as_str()) {
            return Err(Break::Modified { id: row.id });
        }
        if row.prev_hash.as_deref() != Some(self.expected_prev.as_str()) {
            return Err(Break::DeletedBefore { id: row.id });
        }
        self.expected_prev = row.hash.clone().unwrap_or_default();
        self.last_id = row.id;
        self.rows += 1;
        Ok(())
    }

    /// The id of the last row walked (0 before any): the next page starts after it.
    pub fn last_id(&self) -> i64 {
        self.last_id
    }

    pub fn rows(&self) -> u64 {
        self.rows
    }

    /// The hash of the last row walked (`GENESIS` before any).
    pub fn last_hash(&self) -> &str {
        &self.expected_prev
    }

    /// At the end of the rows, against the head read after them.
    pub fn finish(&self, head: &Head) -> Result<(), Break> {
        if head.last_id > self.last_id {
            return Err(Break::DeletedAfter { after: self.last_id });
        }
        if head.last_id < self.last_id {
            return Err(Break::Added { id: self.last_id });
        }
        if head.last_hash != self.expected_prev {
            // Same last id, another hash: the last row rewritten with a hash recomputed.
            return Err(Break::Modified { id: self.last_id });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

    use super::*;

    fn chain(n: i64) -> Vec<ChainRow> {
        let mut prev = GENESIS.to_string();
        (1..=n)
            .map(|id| {
                let mut r = ChainRow {
                    id: id * 2, // ids may have gaps
                    at: format!("2026-11-30T12:00:{id:02}Z"),
                    login: "a".into(),
                    role: "admin-national".into(),
                    action: "x".into(),
                    cpts: (id % 2 == 0).then(|| "cpts-a".into()),
                    before: None,
                    after: Some(format!("{{\"n\":{id}}}")),
                    batch: "b".into(),
                    prev_hash: Some(prev.clone()),
                    hash: None,
                };
                r.hash = Some(r.computed());
                prev = r.hash.clone().unwrap();
                r
            })
            .collect()
    }

    fn walk(rows: &[ChainRow], head: &Head) -> Result<u64, Break> {
        let mut w = Walk::default();
        for r in rows {
            w.push(r)?;
        }
        w.finish(head)?;
        Ok(w.rows())
    }

    fn head(rows: &[ChainRow]) -> Head {
        let last = rows.last().unwrap();
        Head { last_id: last.id, last_hash: last.hash.clone().unwrap() }
    }

    #[test]
    fn an_intact_chain_walks_and_each_tampering_is_named_at_its_row() {
        let rows = chain(5);
        let h = head(&rows);
        assert_eq!(walk(&rows, &h), Ok(5));
        assert_eq!(walk(&[], &Head { last_id: 0, last_hash: GENESIS.into() }), Ok(0));
        // Edited: a column, or None made Some("").
        let mut edited = rows.clone();
        edited[2].login = "b".into();
        assert_eq!(walk(&edited, &h), Err(Break::Modified { id: 6 }));
        let mut edited = rows.clone();
        edited[0].before = Some(String::new());
        assert_eq!(walk(&edited, &h), Err(Break::Modified { id: 2 }));
        // Deleted: the middle, the first, the last ones, all.
        let mut gone = rows.clone();
        gone.remove(2);
        assert_eq!(walk(&gone, &h), Err(Break::DeletedBefore { id: 8 }));
        assert_eq!(walk(&rows[1..], &h), Err(Break::DeletedBefore { id: 4 }));
        assert_eq!(walk(&rows[..3], &h), Err(Break::DeletedAfter { after: 6 }));
        assert_eq!(walk(&[], &h), Err(Break::DeletedAfter { after: 0 }));
        // Added beyond the head, or the last row rewritten with its hash recomputed.
        assert_eq!(walk(&rows, &head(&rows[..4])), Err(Break::Added { id: 10 }));
        let mut rewritten = rows.clone();
        rewritten[4].login = "z".into();
        rewritten[4].hash = Some(rewritten[4].computed());
        assert_eq!(walk(&rewritten, &h), Err(Break::Modified { id: 10 }));
        assert_eq!(Break::DeletedAfter { after: 1233 }.to_string(), "dernières lignes supprimées après la ligne n° 1233");
    }

    #[test]
    fn fields_cannot_slide_into_each_other() {
        let a = row_hash(GENESIS, 1, "t", "ab", "c", "x", None, None, None, "b");
        let b = row_hash(GENESIS, 1, "t", "a", "bc", "x", None, None, None, "b");
        let c = row_hash(GENESIS, 1, "t", "ab", "c", "x", Some(""), None, None, "b");
        let d = row_hash(GENESIS, 1, "t", "ab", "c", "x", None, Some(""), None, "b");
        assert!(a != b && a != c && c != d && a.len() == 64);
    }
}
