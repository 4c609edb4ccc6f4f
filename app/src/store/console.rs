//! The vendor console's lists and figures at a vendor's size: customers searched, filtered
//! and paged by name; what the dashboard counts; the series its chart draws.

use std::collections::HashMap;

use sqlx::Row;

use super::StoreError;
use crate::customers::{CustomerFilter, CustomerSummary};

/// Days ahead the dashboard and the customer filters look for ending trials.
pub const TRIAL_DAYS_AHEAD: i64 = 14;
/// Days ahead they look for terms ending and renewals.
pub const TERM_DAYS_AHEAD: i64 = 30;

/// Which customers to list: a search, a filter, and where the page starts.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CustomerQuery {
    /// Part of the name or the slug, any case; or, holding an `@`, a user's whole email.
    pub search: Option<String>,
    pub filter: Option<CustomerFilter>,
    /// Only customers among these (the customers near a limit, read from memory).
    pub among: Option<Vec<i64>>,
    /// The page starts after this customer, in the order of names.
    pub after: Option<i64>,
    /// As of this Unix second.
    pub now: i64,
}

/// How many entitlements need attention soon, as of a moment.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ComingDates {
    pub trials_ending: i64,
    pub terms_ending: i64,
    pub renewing: i64,
}

/// `%text%` (or `text%`) for LIKE with `\` as the escape, lowercased; `None` when blank.
pub(crate) fn like_pattern(text: Option<&str>, prefix_only: bool) -> Option<String> {
    text.map(str::trim).filter(|v| !v.is_empty()).map(|v| {
        let v = v.to_lowercase().replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_");
        if prefix_only {
            format!("{v}%")
        } else {
            format!("%{v}%")
        }
    })
}

/// `1, 2, 3` for an `IN (…)` list of ids (numbers only, so nothing a caller typed), or
/// `NULL` for none, which matches nothing.
fn id_list(ids: &[i64]) -> String {
    if ids.is_empty() {
        return "NULL".into();
    }
    ids.iter().map(i64::to_string).collect::<Vec<_>>().join(", ")
}

/// The condition on entitlement `e` of a filter by a coming date, with `$1` as now and
/// `$2` as the end of the window ahead; `None` for the customers near a limit, which are
/// read from memory and given as `among`.
fn coming_condition(filter: CustomerFilter) -> Option<&'static str> {
    match filter {
        CustomerFilter::TrialEnding => Some("e.status = 'trial' AND e.trial_ends_at > $1 AND e.trial_ends_at <= $2"),
        CustomerFilter::TermEnding => Some("e.status IN ('trial', 'active', 'suspended') AND e.ends_at > $1 AND e.ends_at <= $2"),
        CustomerFilter::Renewing => Some("e.status = 'active' AND e.auto_renew = 1 AND e.renews_at > $1 AND e.renews_at <= $2"),
        CustomerFilter::NearLimit => None,
    }
}

fn window(filter: CustomerFilter) -> i64 {
    match filter {
        CustomerFilter::TrialEnding => TRIAL_DAYS_AHEAD * 86_400,
        _ => TERM_DAYS_AHEAD * 86_400,
    }
}

impl super::Store {
    /// A page of at most `limit` customers by name matching `query`, each with its user
    /// count and a line per entitlement.
    pub async fn search_customers(&self, query: &CustomerQuery, limit: i64) -> Result<Vec<CustomerSummary>, StoreError> {
        let mut sql = String::from(
            "SELECT c.id, c.slug, c.name, (SELECT COUNT(*) FROM users u WHERE u.customer_id = c.id) AS users FROM customers c WHERE 1 = 1",
        );
        // $1 now, $2 the window's end, $3 the search pattern, $4 the search as an email,
        // $5 the customer the page starts after, $6 the page's size: bound whether used or not.
        if let Some(condition) = query.filter.and_then(coming_condition) {
            sql.push_str(&format!(" AND c.id IN (SELECT e.customer_id FROM entitlements e WHERE {condition})"));
        }
        if let Some(among) = &query.among {
            sql.push_str(&format!(" AND c.id IN ({})", id_list(among)));
        }
        // An address is looked up among users by its index; anything else is part of a
        // name or slug (SQLite's LIKE ignores ASCII case; PostgreSQL's ILIKE any case).
        let search = query.search.as_deref().map(str::trim).filter(|s| !s.is_empty());
        let by_email = search.is_some_and(|s| s.contains('@'));
        let pattern = if by_email { None } else { like_pattern(search, false) };
        if by_email {
            sql.push_str(" AND c.id IN (SELECT u.customer_id FROM users u WHERE u.email = $4)");
        } else if pattern.is_some() {
            // On SQLite the matches are found by reading the table straight through, then
            // ordered: walking the name index for a rare match visits every row twice.
            sql.push_str(match self.engine() {
                super::Engine::Sqlite => {
                    " AND c.id IN (SELECT s.id FROM customers s NOT INDEXED WHERE s.name LIKE $3 ESCAPE '\\' OR s.slug LIKE $3 ESCAPE '\\')"
                }
                super::Engine::Postgres => " AND (c.name ILIKE $3 ESCAPE '\\' OR c.slug LIKE $3 ESCAPE '\\')",
            });
        }
        if query.after.is_some() {
            sql.push_str(
                " AND (c.name > (SELECT a.name FROM customers a WHERE a.id = $5)
                   OR (c.name = (SELECT a.name FROM customers a WHERE a.id = $5) AND c.id > $5))",
            );
        }
        // Every placeholder is bound: PostgreSQL wants each one used, so unused ones are
        // mentioned harmlessly.
        sql.push_str(" AND ($1 = $1 AND $2 = $2 AND $3 = $3 AND $4 = $4 AND $5 = $5) ORDER BY c.name, c.id LIMIT $6");
        let ahead = query.filter.map_or(0, window);
        let rows = sqlx::query(&sql)
            .bind(query.now)
            .bind(query.now + ahead)
            .bind(pattern.unwrap_or_default())
            .bind(query.search.as_deref().map(|s| s.trim().to_lowercase()).unwrap_or_default())
            .bind(query.after.unwrap_or(0))
            .bind(limit)
            .fetch_all(self.pool())
            .await?;
        let ids: Vec<i64> = rows.iter().map(|r| r.try_get("id")).collect::<Result<_, _>>()?;
        let mut lines = self.entitlement_lines(&ids).await?;
        rows.iter()
            .map(|r| {
                let id: i64 = r.try_get("id")?;
                Ok(CustomerSummary {
                    id,
                    slug: r.try_get("slug")?,
                    name: r.try_get("name")?,
                    users: r.try_get("users")?,
                    entitlements: lines.remove(&id).unwrap_or_default(),
                })
            })
            .collect()
    }

    /// "Product · Plan · status" for each entitlement of `customers`, by customer.
    async fn entitlement_lines(&self, customers: &[i64]) -> Result<HashMap<i64, Vec<String>>, StoreError> {
        let mut by_customer: HashMap<i64, Vec<String>> = HashMap::new();
        if customers.is_empty() {
            return Ok(by_customer);
        }
        let rows = sqlx::query(&format!(
            "SELECT e.customer_id, p.name AS product, pl.name AS plan, e.status
             FROM entitlements e JOIN products p ON p.id = e.product_id JOIN plans pl ON pl.id = e.plan_id
             WHERE e.customer_id IN ({}) ORDER BY p.name",
            id_list(customers)
        ))
        .fetch_all(self.pool())
        .await?;
        for l in &rows {
            let (product, plan, status): (String, String, String) = (l.try_get("product")?, l.try_get("plan")?, l.try_get("status")?);
            by_customer.entry(l.try_get("customer_id")?).or_default().push(format!("{product} · {plan} · {status}"));
        }
        Ok(by_customer)
    }

    /// The names of customers `ids` (those that exist).
    pub async fn customer_names(&self, ids: &[i64]) -> Result<HashMap<i64, String>, StoreError> {
        if ids.is_empty() {
            return Ok(HashMap::new());
        }
        let rows = sqlx::query(&format!("SELECT id, name FROM customers WHERE id IN ({})", id_list(ids))).fetch_all(self.pool()).await?;
        rows.iter().map(|r| Ok((r.try_get("id")?, r.try_get("name")?))).collect()
    }

    /// Entitlements whose trial ends within 14 days, whose term ends within 30, and that
    /// renew within 30, as of `now`.
    pub async fn coming_dates(&self, now: i64) -> Result<ComingDates, StoreError> {
        let count = |filter: CustomerFilter| {
            let sql = format!("SELECT COUNT(*) FROM entitlements e WHERE {}", coming_condition(filter).unwrap_or("1 = 0"));
            async move { sqlx::query_scalar::<_, i64>(&sql).bind(now).bind(now + window(filter)).fetch_one(self.pool()).await }
        };
        Ok(ComingDates {
            trials_ending: count(CustomerFilter::TrialEnding).await?,
            terms_ending: count(CustomerFilter::TermEnding).await?,
            renewing: count(CustomerFilter::Renewing).await?,
        })
    }

    /// Pending change requests in all, and those filed before `overdue_before`.
    pub async fn pending_request_counts(&self, overdue_before: i64) -> Result<(i64, i64), StoreError> {
        let row = sqlx::query(
            "SELECT COUNT(*) AS pending, COALESCE(SUM(CASE WHEN created_at < $1 THEN 1 ELSE 0 END), 0) AS overdue
             FROM change_requests WHERE status = 'pending'",
        )
        .bind(overdue_before)
        .fetch_one(self.pool())
        .await?;
        Ok((row.try_get("pending")?, row.try_get("overdue")?))
    }

    /// For each of the `days` days up to the one holding `now` (00:00 UTC of each): the
    /// entitlements live that day (started by its end, not ended by its start, and not
    /// cancelled or expired since), and the units of usage metered that day.
    pub async fn daily_activity(&self, now: i64, days: i64) -> Result<Vec<(i64, i64, i64)>, StoreError> {
        let today = now.div_euclid(86_400) * 86_400;
        let first = today - (days - 1) * 86_400;
        let spans = sqlx::query(
            "SELECT starts_at, COALESCE(ends_at, trial_ends_at) AS ends_at FROM entitlements
             WHERE status IN ('trial', 'active', 'suspended') AND starts_at < $1",
        )
        .bind(today + 86_400)
        .fetch_all(self.pool())
        .await?;
        // Entitlements starting (+1) and ending (−1) on each day, then a running sum.
        let mut delta = vec![0i64; days as usize + 1];
        let mut before = 0i64;
        for r in &spans {
            let (start, end): (i64, Option<i64>) = (r.try_get("starts_at")?, r.try_get("ends_at")?);
            if end.is_some_and(|e| e <= first) {
                continue;
            }
            if start < first {
                before += 1;
            } else {
                delta[((start - first) / 86_400) as usize] += 1;
            }
            if let Some(end) = end.filter(|e| *e < today + 86_400) {
                // Live on the day it ends (it ended during it), gone the day after.
                delta[((end - first) / 86_400 + 1).min(days) as usize] -= 1;
            }
        }
        let usage = sqlx::query("SELECT day, CAST(SUM(quantity) AS BIGINT) AS units FROM usage_daily WHERE day >= $1 GROUP BY day")
            .bind(first)
            .fetch_all(self.pool())
            .await?;
        let mut units: HashMap<i64, i64> = HashMap::new();
        for r in &usage {
            units.insert(r.try_get("day")?, r.try_get("units")?);
        }
        let mut live = before;
        Ok((0..days)
            .map(|i| {
                let day = first + i * 86_400;
                live += delta[i as usize];
                (day, live, units.get(&day).copied().unwrap_or(0))
            })
            .collect())
    }
}
