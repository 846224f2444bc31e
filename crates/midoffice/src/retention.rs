//! The retention job (docs/operations/retention.md): every `[retention]
//! interval_seconds` (an hour by default) a pass over every tenant with data deletes
//! what the tenant's retention period says, in batches (`Store::retention_pass`). The
//! first pass runs when the server starts. A failed tenant is logged and tried again at
//! the next pass; the others go on. Logged per tenant: counts only, no personal data.

use midoffice_domain::Instant;
use midoffice_store::{RetentionReport, Store, StoreError};
use tokio::sync::watch;

/// One pass over every tenant with data, as of `now`. Answers each tenant's report,
/// or the error that stopped it (the other tenants still run); an error listing the
/// tenants stops the pass.
pub async fn pass(
    store: &Store,
    now: Instant,
    exporting: bool,
) -> Result<Vec<(String, Result<RetentionReport, StoreError>)>, StoreError> {
    let mut out = Vec::new();
    for tenant in store.tenants_with_data().await? {
        let result = store.retention_pass(&tenant, now, exporting).await;
        match &result {
            Ok(r) => tracing::info!(
                tenant = %tenant,
                horizon = ?r.horizon,
                cases = r.cases,
                contacts = r.contacts,
                parties = r.parties,
                idempotency_records = r.idempotency_records,
                processing_records = r.processing_records,
                audit_records = r.audit_records,
                events = r.events,
                figure_answers = r.figure_answers,
                batches = r.batches,
                longest_batch_ms = r.longest_batch.as_millis() as u64,
                waited_for_figures = r.waited_for_figures,
                "retention pass"
            ),
            Err(e) => tracing::warn!(
                tenant = %tenant,
                error = %e,
                "retention pass failed for this tenant; it is tried again at the next pass"
            ),
        }
        out.push((tenant.as_str().to_owned(), result));
    }
    Ok(out)
}

/// Runs a pass now and then every `interval`, until `stop` turns true.
pub async fn run(
    store: Store,
    interval: std::time::Duration,
    exporting: bool,
    mut stop: watch::Receiver<bool>,
) {
    loop {
        if *stop.borrow() {
            break;
        }
        let now = chrono::Utc::now();
        // Stopping drops a pass in the middle: its open batch rolls back, the batches
        // before stay done, and the next start goes on from there.
        tokio::select! {
            done = pass(&store, now, exporting) => {
                if let Err(e) = done {
                    tracing::warn!(error = %e, "retention pass failed; it is tried again at the next pass");
                }
            }
            _ = stop.changed() => break,
        }
        tokio::select! {
            _ = tokio::time::sleep(interval) => {}
            _ = stop.changed() => {}
        }
    }
}
