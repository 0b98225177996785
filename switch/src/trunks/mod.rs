//! Trunks at run time: the cached table the INVITE path matches sources against, refreshed from
//! storage every [`REFRESH_EVERY`] (so no INVITE queries the database for it, and admin changes
//! apply within that interval), and the REGISTER tasks of the trunks that register.

mod registrar;
mod table;

use std::sync::{Arc, RwLock};
use std::time::Duration;

use metrics::gauge;
use store::Store;
use tokio::sync::watch;
use tracing::warn;

pub use registrar::{RegistrarSettings, Registrations};
pub use table::{Cidr, SUPPORTED_CODECS, TrunkEntry, TrunkTable, codecs_of};

/// How often the table is reloaded from storage.
pub const REFRESH_EVERY: Duration = Duration::from_secs(2);

/// The shared, cheaply cloned trunk table: readers take a snapshot (an `Arc`) and never wait on
/// the refresher for longer than a pointer swap.
#[derive(Debug, Clone, Default)]
pub struct TrunkCache(Arc<RwLock<Arc<TrunkTable>>>);

impl TrunkCache {
    /// The current table.
    pub fn snapshot(&self) -> Arc<TrunkTable> {
        // A poisoned lock still holds a complete table (the writer only swaps an Arc).
        self.0.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Replaces the table.
    pub fn replace(&self, table: TrunkTable) {
        *self.0.write().unwrap_or_else(|p| p.into_inner()) = Arc::new(table);
    }

    /// Loads the table once from `store`.
    pub async fn reload(&self, store: &Store) -> Result<(), store::StoreError> {
        let trunks = store.list_trunks().await?;
        gauge!("sip_trunks").set(trunks.len() as f64);
        self.replace(TrunkTable::new(trunks));
        Ok(())
    }

    /// Reloads every [`REFRESH_EVERY`] and brings the REGISTER tasks in line with the table, until
    /// `stop` turns true (then the tasks stop too).
    pub fn spawn_refresher(
        &self,
        store: Store,
        registrations: Arc<Registrations>,
        mut stop: watch::Receiver<bool>,
    ) {
        let cache = self.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(REFRESH_EVERY);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tokio::select! {
                    _ = tick.tick() => {}
                    _ = stop.wait_for(|s| *s) => break,
                }
                match cache.reload(&store).await {
                    Ok(()) => registrations.sync(&cache.snapshot()),
                    Err(err) => warn!(%err, "trunk table not refreshed: keeping the last one"),
                }
            }
            registrations.stop_all();
        });
    }
}
