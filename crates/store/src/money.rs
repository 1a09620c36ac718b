//! Money over a scope, by CPTS, funder and mission: what the tableau de bord sums. One query.

use jiff::civil::Date;
use sqlx::Row;

use crate::{Result, Store, Visible, bound};

/// The live ledger lines of a scope for one funder and one part of the contract.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MoneyRow {
    /// `aci`, or the convention's funder kind (`ars`, `collectivite`…).
    pub funder: String,
    /// The ACI component (operating allocation, a mission's code); None for a convention.
    pub component: Option<String>,
    pub planned: i64,
    /// Of which falling due on or before the day asked.
    pub past_due: i64,
    pub paid: i64,
}

/// The money of one CPTS by funder and part of the contract.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CptsMoney {
    pub cpts_id: String,
    pub rows: Vec<MoneyRow>,
}

impl Store {
    /// Per CPTS of the scope (by id), its live lines' money by funder and part of the contract.
    pub async fn money_by_source(&self, visible: &Visible, on: Date) -> Result<Vec<CptsMoney>> {
        let (clause, mut values) = visible.clause("l.cpts_id", 2);
        values.insert(0, on.to_string());
        // PostgreSQL sums a BIGINT as a NUMERIC, which the Any driver cannot read: cast back.
        let sql = format!(
            "SELECT l.cpts_id,
                    CASE WHEN l.contract_seq IS NOT NULL THEN 'aci' ELSE COALESCE(c.kind, 'autre') END AS funder,
                    l.component,
                    CAST(SUM(l.amount) AS BIGINT) AS planned,
                    CAST(SUM(CASE WHEN l.due <= $1 THEN l.amount ELSE 0 END) AS BIGINT) AS past_due,
                    CAST(SUM(l.paid) AS BIGINT) AS paid
             FROM ledger_line l
             LEFT JOIN convention c ON c.cpts_id = l.cpts_id AND c.seq = l.convention_seq
             WHERE l.cancelled_on IS NULL AND {clause}
             GROUP BY 1, 2, 3
             ORDER BY 1, 2, 3"
        );
        let rows = bound(sql, &values).fetch_all(&self.pool).await?;
        let mut out: Vec<CptsMoney> = Vec::new();
        for r in &rows {
            let id: String = r.try_get("cpts_id")?;
            let row = MoneyRow {
                funder: r.try_get("funder")?,
                component: r.try_get("component")?,
                planned: r.try_get("planned")?,
                past_due: r.try_get("past_due")?,
                paid: r.try_get("paid")?,
            };
            match out.last_mut() {
                Some(last) if last.cpts_id == id => last.rows.push(row),
                _ => out.push(CptsMoney { cpts_id: id, rows: vec![row] }),
            }
        }
        Ok(out)
    }
}
