//! Read models over a whole scope (the CPTS list, the alerts, the dashboard) cost tens of
//! milliseconds for all of France; they are kept and served again until the store's data
//! changes. The store's data version is bumped in the transaction of every write (by any
//! process sharing the store), so a cached answer is never older than the last commit: one
//! small query per read decides.

use std::any::Any;
use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex};

use crate::Result;

/// Answers kept at most: scopes × dates × kinds in use at once (each is small beside its cost).
const MAX_ENTRIES: usize = 256;

#[derive(Default)]
pub struct ReadCache {
    inner: Mutex<Entries>,
    /// One lock per key, held while its missing answer is computed: the requests arriving
    /// meanwhile wait for it instead of computing it again each (a national answer costs
    /// hundreds of milliseconds; sixteen at once would cost seconds each). Per key, since an
    /// answer may be made of others (the dashboard of the list and the alerts).
    computing: Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
}

#[derive(Default)]
struct Entries {
    /// The data version the entries were computed at.
    version: i64,
    map: HashMap<String, Arc<dyn Any + Send + Sync>>,
}

impl ReadCache {
    fn get<T: Send + Sync + 'static>(&self, version: i64, key: &str) -> Option<Arc<T>> {
        let e = self.inner.lock().ok()?;
        if e.version != version {
            return None;
        }
        e.map.get(key).cloned().and_then(|v| v.downcast::<T>().ok())
    }

    fn put<T: Send + Sync + 'static>(&self, version: i64, key: String, value: Arc<T>) {
        let Ok(mut e) = self.inner.lock() else { return };
        // A newer version empties the cache; an answer computed at an older one is not kept.
        if version > e.version {
            e.version = version;
            e.map.clear();
        }
        if version == e.version {
            if e.map.len() >= MAX_ENTRIES {
                e.map.clear();
            }
            e.map.insert(key, value);
        }
    }
}

impl crate::App {
    /// `compute()`'s answer for `key`, computed once per data version and shared (not
    /// copied). The key must hold everything the answer depends on besides the data: the
    /// scope, the dates, the options.
    pub(crate) async fn cached<T, F, Fut>(&self, key: String, compute: F) -> Result<Arc<T>>
    where
        T: Send + Sync + 'static,
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<T>>,
    {
        let version = self.store.data_version().await?;
        if let Some(hit) = self.reads.get::<T>(version, &key) {
            return Ok(hit);
        }
        let lock = {
            let Ok(mut locks) = self.reads.computing.lock() else { return compute().await.map(Arc::new) };
            if locks.len() >= MAX_ENTRIES {
                locks.clear();
            }
            locks.entry(key.clone()).or_default().clone()
        };
        let _computing = lock.lock().await;
        // Computed by the request this one waited for?
        let version = self.store.data_version().await?;
        if let Some(hit) = self.reads.get::<T>(version, &key) {
            return Ok(hit);
        }
        let value = Arc::new(compute().await?);
        self.reads.put(version, key, value.clone());
        Ok(value)
    }
}
