//! A CPTS's indicator values: the values stored (paginated, filtered), values entered as JSON
//! rows, an import (JSON rows or the CSV/XLSX file itself), one value's history, and the
//! achievement per indicator of a contract year. Entries and imports go through
//! `App::import_values`, as the values page.

use axum::Json;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use cpts_app::reports::YearAchievement;
use cpts_app::values::{ImportValues, ValuesImported, line_errors, value_rows};
use cpts_app::{Action, Principal};
use cpts_domain::activity::Achievement;
use cpts_domain::ids::CptsId;
use cpts_domain::lifecycle::Actor;
use cpts_domain::values::{Period, RawValue, YearValue};
use cpts_store::{Provenance, StoredValue};
use jiff::civil::Date;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::contracts::dec;
use super::cpts_id;
use super::error::{ApiError, ErrorBody};
use super::extract::{Caller, Page, PageQuery, Path, Query};
use crate::Web;

pub fn routes(r: OpenApiRouter<Web>) -> OpenApiRouter<Web> {
    r.routes(routes!(list, enter)).routes(routes!(import)).routes(routes!(history)).routes(routes!(achievement))
}

const XLSX: &str = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";

#[derive(Serialize, ToSchema)]
pub struct ValueOut {
    pub indicator: String,
    /// `2021-03` (month), `2021-T1` (quarter) or `2021` (year).
    pub period: String,
    pub period_label: String,
    /// Decimals as text (`12.5`).
    pub value: String,
    #[schema(nullable)]
    pub numerator: Option<String>,
    #[schema(nullable)]
    pub denominator: Option<String>,
    /// The batch (entry or import) that stored it.
    pub batch: i64,
    /// `saisie` (typed) or `import`.
    pub source: String,
    #[schema(nullable)]
    pub file: Option<String>,
    pub by: String,
    /// The party it was entered for: `cpts`, `cpam` or `ars`.
    pub role: String,
    pub recorded_at: String,
    /// The batch that corrected it; absent for the current value.
    #[schema(nullable)]
    pub replaced_by: Option<i64>,
}

fn value_out(v: &StoredValue) -> ValueOut {
    let r = &v.entry.reading;
    ValueOut {
        indicator: v.entry.indicator.clone(),
        period: v.entry.period.to_string(),
        period_label: v.entry.period.label(),
        value: dec(r.value),
        numerator: r.numerator.map(dec),
        denominator: r.denominator.map(dec),
        batch: v.batch,
        source: v.provenance.source.clone(),
        file: v.provenance.file.clone(),
        by: v.provenance.by.clone(),
        role: v.provenance.role.code().into(),
        recorded_at: v.recorded_at.clone(),
        replaced_by: v.replaced_by,
    }
}

fn period(field: &str, s: &str) -> Result<Period, ApiError> {
    Period::parse(s.trim()).map_err(|e| ApiError::field(field, e))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// Only this indicator's values (its code).
    pub indicator: Option<String>,
    /// Only this period's (`2021-03`, `2021-T1` or `2021`).
    pub period: Option<String>,
    #[param(minimum = 1)]
    pub page: Option<u32>,
    #[param(minimum = 1, maximum = 500)]
    pub per_page: Option<u32>,
}

/// The current values of a CPTS, by indicator and period, with their provenance.
#[utoipa::path(get, path = "/api/v1/cpts/{id}/values", tag = "indicateurs", security(("jeton" = [])),
    params(("id" = String, Path, description = "Identifiant de la CPTS"), ListQuery),
    responses((status = 200, body = Page<ValueOut>), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn list(State(web): State<Web>, Caller(p): Caller, Path(id): Path<String>, Query(q): Query<ListQuery>) -> Result<Json<Page<ValueOut>>, ApiError> {
    let id = cpts_id(&id)?;
    let wanted = q.period.as_deref().filter(|s| !s.is_empty()).map(|s| period("period", s)).transpose()?;
    let indicator = q.indicator.as_deref().filter(|s| !s.is_empty());
    let mut all: Vec<&StoredValue> = Vec::new();
    let history = web.app.value_history(&p, &id, indicator).await?;
    all.extend(history.iter().filter(|v| v.replaced_by.is_none() && wanted.is_none_or(|w| v.entry.period == w)));
    all.sort_by(|a, b| (&a.entry.indicator, a.entry.period.first_day(), a.entry.period.end()).cmp(&(&b.entry.indicator, b.entry.period.first_day(), b.entry.period.end())));
    Ok(Json(PageQuery { page: q.page, per_page: q.per_page }.of(all.into_iter().map(value_out).collect())?))
}

/// One value's every version (corrected ones included), oldest first.
#[utoipa::path(get, path = "/api/v1/cpts/{id}/values/{indicator}/{period}", tag = "indicateurs", security(("jeton" = [])),
    params(("id" = String, Path, description = "Identifiant de la CPTS"), ("indicator" = String, Path, description = "Code de l'indicateur"),
        ("period" = String, Path, description = "Période : `2021-03`, `2021-T1` ou `2021`")),
    responses((status = 200, body = Vec<ValueOut>), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn history(State(web): State<Web>, Caller(p): Caller, Path((id, indicator, at)): Path<(String, String, String)>) -> Result<Json<Vec<ValueOut>>, ApiError> {
    let id = cpts_id(&id)?;
    let history = web.app.value_history(&p, &id, Some(&indicator)).await?;
    let at = Period::parse(at.trim()).ok();
    let mut out: Vec<&StoredValue> = history.iter().filter(|v| Some(v.entry.period) == at).collect();
    if out.is_empty() {
        return Err(cpts_app::AppError::NotFound("aucune valeur pour cet indicateur et cette période".into()).into());
    }
    out.sort_by_key(|v| v.batch);
    Ok(Json(out.into_iter().map(value_out).collect()))
}

#[derive(Serialize, ToSchema)]
pub struct ImportedOut {
    /// The batch number; absent when every value was unchanged (nothing stored).
    #[schema(nullable)]
    pub batch: Option<i64>,
    pub stored: u64,
    /// CPTS concerned by the stored values.
    pub cpts: u64,
    /// Of `stored`, values replacing one already stored for the period.
    pub corrected: u64,
    /// Values identical to the current ones, not stored again.
    pub unchanged: u64,
    /// Values counting in a year whose report is validated (stored all the same).
    pub warnings: Vec<String>,
}

fn imported(d: ValuesImported) -> Json<ImportedOut> {
    let n = |x: usize| u64::try_from(x).unwrap_or(u64::MAX);
    Json(ImportedOut { batch: d.batch, stored: n(d.stored), cpts: n(d.cpts), corrected: n(d.corrected), unchanged: n(d.unchanged), warnings: d.warnings })
}

/// Who enters values: the caller, for the party its role on this CPTS acts for (as the page).
async fn provenance(web: &Web, p: &Principal, id: &CptsId, source: &str, file: Option<String>) -> Result<Provenance, ApiError> {
    let role = web.app.rights(p, id).await?.role(Action::ImportValues);
    Ok(Provenance { source: source.into(), file, by: p.name.clone(), role: crate::pages::actor_of(role, Actor::Cpts) })
}

/// A value typed: its cells as text, as in the values file (decimal comma or point).
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EntryIn {
    pub indicator: String,
    /// `2021-03` (month), `2021-T1` (quarter) or `2021` (year).
    pub period: String,
    /// Optional for a rate given by its numerator and denominator.
    #[serde(default)]
    pub value: String,
    #[serde(default)]
    pub numerator: String,
    #[serde(default)]
    pub denominator: String,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EntriesIn {
    /// The values; an error names its row (`line`, from 1) and its column.
    pub rows: Vec<EntryIn>,
}

/// Enter values of this CPTS (as typed in the page's form): checked and stored as one batch, all
/// or nothing; a period already stored is corrected (its previous value stays in its history).
#[utoipa::path(post, path = "/api/v1/cpts/{id}/values", tag = "indicateurs", security(("jeton" = [])), request_body = EntriesIn,
    params(("id" = String, Path, description = "Identifiant de la CPTS")),
    responses((status = 200, body = ImportedOut), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn enter(State(web): State<Web>, Caller(p): Caller, Path(id): Path<String>, super::extract::Json(b): super::extract::Json<EntriesIn>) -> Result<Json<ImportedOut>, ApiError> {
    let id = cpts_id(&id)?;
    web.app.authorize(&p, Action::ImportValues, &id).await?;
    let rows = b
        .rows
        .into_iter()
        .enumerate()
        .map(|(i, r)| RawValue {
            line: i + 1,
            cpts: id.to_string(),
            indicator: r.indicator.trim().to_owned(),
            period: r.period,
            value: r.value,
            numerator: r.numerator,
            denominator: r.denominator,
        })
        .collect();
    let provenance = provenance(&web, &p, &id, "saisie", None).await?;
    Ok(imported(web.app.import_values(&p, ImportValues { rows, provenance }).await?))
}

/// A row of a values file: the file's columns, cells as text.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RowIn {
    /// The CPTS's identifier (or its exact name).
    pub cpts: String,
    pub indicator: String,
    pub period: String,
    #[serde(default)]
    pub value: String,
    #[serde(default)]
    pub numerator: String,
    #[serde(default)]
    pub denominator: String,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ImportIn {
    /// The rows (`line` in the errors: the row's position, from 1).
    pub rows: Vec<RowIn>,
    /// The file's name, kept in the values' provenance.
    #[schema(nullable)]
    pub file: Option<String>,
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ImportQuery {
    /// The file's name, kept in the provenance (a CSV or XLSX body).
    pub file: Option<String>,
}

/// Import values: JSON rows (`application/json`), or the values file itself as the body
/// (`text/csv` with `;`, or XLSX), columns CPTS, Indicateur, Période, Valeur, Numérateur,
/// Dénominateur. All or nothing: every faulty line is said. The caller needs the right to
/// import on every CPTS the rows name.
#[utoipa::path(post, path = "/api/v1/cpts/{id}/values/import", tag = "indicateurs", security(("jeton" = [])),
    request_body(content((ImportIn = "application/json"), (String = "text/csv"),
        ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"))),
    params(("id" = String, Path, description = "Identifiant de la CPTS"), ImportQuery),
    responses((status = 200, body = ImportedOut), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody),
        (status = 413, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn import(
    State(web): State<Web>,
    Caller(p): Caller,
    Path(id): Path<String>,
    Query(q): Query<ImportQuery>,
    headers: HeaderMap,
    body: Body,
) -> Result<Json<ImportedOut>, ApiError> {
    let id = cpts_id(&id)?;
    // The policy's answer first (not found, not allowed), before the body is read.
    web.app.authorize(&p, Action::ImportValues, &id).await?;
    let kind = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or_default().to_ascii_lowercase();
    let bytes = axum::body::to_bytes(body, crate::upload::MAX_UPLOAD).await.map_err(|_| {
        ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, "too_large", format!("le corps dépasse {} Mo : découpez l'import", crate::upload::MAX_UPLOAD >> 20))
    })?;
    let (rows, file) = if kind.starts_with("application/json") {
        let b: ImportIn = serde_json::from_slice(&bytes).map_err(|e| ApiError::bad_request(format!("corps JSON refusé : {e}")))?;
        let rows = b
            .rows
            .into_iter()
            .enumerate()
            .map(|(i, r)| RawValue {
                line: i + 1,
                cpts: r.cpts,
                indicator: r.indicator,
                period: r.period,
                value: r.value,
                numerator: r.numerator,
                denominator: r.denominator,
            })
            .collect();
        (rows, b.file)
    } else if kind.starts_with("text/csv") || kind.starts_with(XLSX) {
        if bytes.is_empty() {
            return Err(ApiError::field("body", "fichier vide"));
        }
        let table = crate::upload::table(bytes.to_vec()).await.map_err(|_| ApiError::from(cpts_app::AppError::Internal("lecture du fichier interrompue".into())))?;
        let rows = table.map_err(|e| vec![e]).and_then(|t| value_rows(&t)).map_err(line_errors)?;
        (rows, q.file)
    } else {
        return Err(ApiError::bad_request(format!("type de contenu attendu : application/json, text/csv ou {XLSX}")));
    };
    let file = file.map(|f| f.chars().filter(|c| !c.is_control()).take(120).collect::<String>()).filter(|f| !f.trim().is_empty());
    let provenance = provenance(&web, &p, &id, "import", file).await?;
    Ok(imported(web.app.import_values(&p, ImportValues { rows, provenance }).await?))
}

#[derive(Serialize, ToSchema)]
pub struct ObjectiveResultOut {
    pub mission: String,
    pub indicator: String,
    pub label: String,
    /// `%` for a rate, empty for a count.
    pub unit: String,
    /// Decimals as text.
    pub baseline: String,
    #[schema(nullable)]
    pub target: Option<String>,
    /// The year's value; absent: not entered (counted at the baseline, 0 %).
    #[schema(nullable)]
    pub value: Option<String>,
    /// Achievement in billionths (1 000 000 000 = 100 %), and as a reader says it.
    pub achieved_nano: i64,
    pub achieved_label: String,
    pub weight_nano: i64,
    pub rule: String,
    /// Months of the year its values cover, of the months the year counts.
    #[schema(nullable)]
    pub covered: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct VariableOut {
    pub mission: String,
    /// The mission's yearly variable envelope, in cents.
    pub envelope_cents: i64,
    /// Days counted and days of the year, when the mission ran part of the year.
    #[schema(nullable)]
    pub days: Option<Vec<i64>>,
    /// Weighted achievement in billionths; absent: results not entered, 100 % assumed.
    #[schema(nullable)]
    pub achievement_nano: Option<i64>,
    pub amount_cents: i64,
    /// The engine's explanation, in French.
    pub explanation: String,
}

#[derive(Serialize, ToSchema)]
pub struct EntitlementOut {
    /// The ledger's component code.
    pub component: String,
    pub label: String,
    pub amount_cents: i64,
}

#[derive(Serialize, ToSchema)]
pub struct AchievementOut {
    pub year: u8,
    pub objectives: Vec<ObjectiveResultOut>,
    pub variable: Vec<VariableOut>,
    pub variable_total_cents: i64,
    /// The year's whole entitlement computed with these results, per component.
    pub entitlement: Vec<EntitlementOut>,
}

pub(super) fn achievement_out(a: &Achievement, values: &[YearValue]) -> AchievementOut {
    AchievementOut {
        year: a.year,
        objectives: a
            .objectives
            .iter()
            .map(|o| ObjectiveResultOut {
                mission: o.mission.clone(),
                indicator: o.indicator.clone(),
                label: o.label.clone(),
                unit: o.unit.into(),
                baseline: dec(o.baseline),
                target: o.target.map(dec),
                value: o.value.map(dec),
                achieved_nano: o.achieved.nano(),
                achieved_label: o.achieved.to_string(),
                weight_nano: o.weight.nano(),
                rule: o.rule.clone(),
                covered: values.iter().find(|v| v.indicator == o.indicator).map(YearValue::coverage),
            })
            .collect(),
        variable: a
            .variable_rows
            .iter()
            .zip(&a.variable)
            .map(|(r, (_, _, text))| VariableOut {
                mission: r.mission.clone(),
                envelope_cents: r.envelope.get(),
                days: r.days.map(|(n, of)| vec![n, of]),
                achievement_nano: r.achievement.map(|x| x.nano()),
                amount_cents: r.amount.get(),
                explanation: text.clone(),
            })
            .collect(),
        variable_total_cents: a.total.get(),
        entitlement: a.entitlement.iter().map(|(c, l, x)| EntitlementOut { component: c.clone(), label: l.clone(), amount_cents: x.get() }).collect(),
    }
}

#[derive(Serialize, ToSchema)]
pub struct YearAchievementOut {
    pub contract: i64,
    pub year: u8,
    pub start: Date,
    #[schema(nullable)]
    pub last_day: Option<Date>,
    /// Computed on the validated report's results; else provisional, on the values entered to date.
    pub validated: bool,
    pub achievement: AchievementOut,
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AchievementQuery {
    /// Contract year, from 1 (default: the year in progress).
    #[param(minimum = 1, maximum = 255)]
    pub year: Option<u8>,
    /// Contract number (default: the latest).
    #[param(minimum = 1)]
    pub contract: Option<i64>,
}

/// The achievement per indicator of a contract year and its variable part, computed and explained.
#[utoipa::path(get, path = "/api/v1/cpts/{id}/achievement", tag = "indicateurs", security(("jeton" = [])),
    params(("id" = String, Path, description = "Identifiant de la CPTS"), AchievementQuery),
    responses((status = 200, body = YearAchievementOut), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn achievement(State(web): State<Web>, Caller(p): Caller, Path(id): Path<String>, Query(q): Query<AchievementQuery>) -> Result<Json<YearAchievementOut>, ApiError> {
    let id = cpts_id(&id)?;
    let y: YearAchievement = web.app.achievement(&p, &id, q.year, q.contract).await?;
    Ok(Json(YearAchievementOut {
        contract: y.contract,
        year: y.year,
        start: y.start,
        last_day: y.last_day,
        validated: y.validated,
        achievement: achievement_out(&y.achievement, &y.values),
    }))
}
