//! The data of the tier comparison.

use leptos::prelude::*;

use super::TierMatrix;
use crate::error::AppError;

/// Every product's plans side by side: seats, instances, then each feature (included,
/// with its quota, or not). Any signed-in user; the catalog is no secret to them.
#[server(prefix = "/api", endpoint = "compare_tiers")]
pub async fn compare_tiers() -> Result<Vec<TierMatrix>, AppError> {
    use crate::components::format::thousands;
    let state = crate::ssr::auth::Guard::new().caller().await?.state;
    let mut out = Vec::new();
    for (id, _, name) in state.store.list_products().await? {
        let plans = state.store.list_plans(id).await?;
        let mut rows = vec![
            ("Seats".to_owned(), plans.iter().map(|p| thousands(p.seats)).collect()),
            ("Instances".to_owned(), plans.iter().map(|p| thousands(p.instances)).collect()),
        ];
        // Features in the order they first appear, across plans by rank.
        let mut features: Vec<(String, String)> = Vec::new();
        for f in plans.iter().flat_map(|p| &p.features) {
            if !features.iter().any(|(k, _)| *k == f.key) {
                features.push((f.key.clone(), f.name.clone()));
            }
        }
        for (key, feature) in features {
            let cells = plans
                .iter()
                .map(|p| match p.features.iter().find(|f| f.key == key) {
                    Some(f) => match (f.quota, f.quota_period.as_deref()) {
                        (Some(q), Some(period)) => format!("{} a {period}", thousands(q)),
                        (Some(q), None) => thousands(q),
                        (None, _) => "✓".to_owned(),
                    },
                    None => "—".to_owned(),
                })
                .collect();
            rows.push((feature, cells));
        }
        out.push(TierMatrix { product: name, plans: plans.iter().map(|p| p.name.clone()).collect(), rows });
    }
    Ok(out)
}
