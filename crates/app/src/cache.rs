//! Read models over a whole scope (the CPTS list, the alerts, the dashboard) cost tens of
//! milliseconds for all of France; they are kept and served again until the store's data
//! changes. The store's data version is bumped in the transaction of every write (by any
//! process sharing the store), so a cached answer is never older than the last commit: one
//! small query per read decides.
//!
//! Answers made of one piece per CPTS (the list, the alerts) are also kept across versions:
//! when the data moves, only the CPTS written since are computed again (the store records the
//! version of each CPTS's last write), so a steady flow of writes does not make every reader
//! wait for all of France to be recomputed.

use std::any::Any;
use std::collections::{BTreeSet, HashMap};
use std::future::Future;
use std::sync::{Arc, Mutex};

use cpts_domain::registry::natural_cmp;
use cpts_store::Visible;

use crate::Result;

/// Past this many CPTS written since, the whole answer is computed again (one query over the
/// scope costs less than one over a long list of ids).
const MAX_CHANGED: usize = 200;

/// A piece of a scope-wide answer: it belongs to one CPTS.
pub(crate) trait PerCpts {
    fn cpts_id(&self) -> &str;
}

/// Answers kept at most: scopes × dates × kinds in use at once (each is small beside its cost).
const MAX_ENTRIES: usize = 256;

/// A kept answer of any type, shared.
type Shared = Arc<dyn Any + Send + Sync>;

#[derive(Default)]
pub struct ReadCache {
    inner: Mutex<Entries>,
    /// One lock per key, held while its missing answer is computed (`once_per_key`). Per key,
    /// since an answer may be made of others (the dashboard of the list and the alerts).
    computing: Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
    /// Per-CPTS answers with the data version they were computed at, kept across versions.
    pieces: Mutex<HashMap<String, (i64, Shared)>>,
}

#[derive(Default)]
struct Entries {
    /// The data version the entries were computed at.
    version: i64,
    map: HashMap<String, Shared>,
}

impl ReadCache {
    fn get<T: Send + Sync + 'static>(&self, version: i64, key: &str) -> Option<Arc<T>> {
        let e = self.inner.lock().ok()?;
        // Computed at this version or a later one: it holds every write the caller can know of.
        if e.version < version {
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

impl ReadCache {
    fn pieces<T: Send + Sync + 'static>(&self, key: &str) -> Option<(i64, Arc<T>)> {
        let m = self.pieces.lock().ok()?;
        let (v, any) = m.get(key)?;
        Some((*v, any.clone().downcast::<T>().ok()?))
    }

    fn put_pieces<T: Send + Sync + 'static>(&self, version: i64, key: String, value: Arc<T>) {
        let Ok(mut m) = self.pieces.lock() else { return };
        if m.len() >= MAX_ENTRIES && !m.contains_key(&key) {
            m.clear();
        }
        if m.get(&key).is_none_or(|(v, _)| *v <= version) {
            m.insert(key, (version, value));
        }
    }

    fn lock_for(&self, key: &str) -> Option<Arc<tokio::sync::Mutex<()>>> {
        let mut locks = self.computing.lock().ok()?;
        if locks.len() >= MAX_ENTRIES {
            locks.clear();
        }
        Some(locks.entry(key.to_string()).or_default().clone())
    }
}

impl crate::App {
    /// The answer for `key`: `fresh()` when it has one, else `compute()`'s, computed by one
    /// request at a time per key: those arriving meanwhile wait for it, then take it if fresh
    /// for them (a national answer costs hundreds of milliseconds; sixteen computed at once
    /// would cost seconds each). Fresh means computed at a version no older than the reader's
    /// arrival, even if writes came meanwhile: waiting readers must not each compute again,
    /// one after the other, under a flow of writes.
    async fn once_per_key<T>(&self, key: &str, fresh: impl Fn() -> Option<Arc<T>>, compute: impl AsyncFnOnce() -> Result<Arc<T>>) -> Result<Arc<T>> {
        if let Some(hit) = fresh() {
            return Ok(hit);
        }
        let Some(lock) = self.reads.lock_for(key) else { return compute().await };
        let _computing = lock.lock().await;
        if let Some(hit) = fresh() {
            return Ok(hit);
        }
        compute().await
    }

    /// `compute()`'s answer for `key`, computed once per data version and shared (not
    /// copied). The key must hold everything the answer depends on besides the data: the
    /// scope, the dates, the options.
    pub(crate) async fn cached<T, F, Fut>(&self, key: String, compute: F) -> Result<Arc<T>>
    where
        T: Send + Sync + 'static,
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<T>>,
    {
        let arrived = self.store.data_version().await?;
        let fresh = || self.reads.get::<T>(arrived, &key);
        self.once_per_key(&key, fresh, async || {
            let version = self.store.data_version().await?;
            let value = Arc::new(compute().await?);
            self.reads.put(version, key.clone(), value.clone());
            Ok(value)
        })
        .await
    }

    /// `compute()`'s answer for `key`, about the CPTS `id` only: kept until that CPTS (or
    /// something outside any CPTS) is written.
    pub(crate) async fn cached_for_cpts<T, F, Fut>(&self, id: &cpts_domain::ids::CptsId, key: String, compute: F) -> Result<Arc<T>>
    where
        T: Send + Sync + 'static,
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<T>>,
    {
        let arrived = self.store.cpts_version(id).await?;
        let fresh = || self.reads.pieces::<T>(&key).filter(|(v, _)| *v >= arrived).map(|(_, a)| a);
        self.once_per_key(&key, fresh, async || {
            let version = self.store.cpts_version(id).await?;
            let value = Arc::new(compute().await?);
            self.reads.put_pieces(version, key.clone(), value.clone());
            Ok(value)
        })
        .await
    }

    /// `compute(scope)`'s answer for `key`, one piece per CPTS sorted by id: computed whole
    /// once, then brought up to date by computing again only the CPTS of `visible` written
    /// since (`compute(visible among them)`), their old pieces replaced.
    pub(crate) async fn cached_per_cpts<T, F, Fut>(&self, key: String, visible: &Visible, compute: F) -> Result<Arc<Vec<T>>>
    where
        T: PerCpts + Clone + Send + Sync + 'static,
        F: Fn(Visible) -> Fut,
        Fut: Future<Output = Result<Vec<T>>>,
    {
        let arrived = self.store.data_version().await?;
        let fresh = || self.reads.pieces::<Vec<T>>(&key).filter(|(v, _)| *v >= arrived).map(|(_, a)| a);
        self.once_per_key(&key, fresh, async || {
            let known = self.reads.pieces::<Vec<T>>(&key);
            let version = self.store.data_version().await?;
            let changed = match &known {
                Some((at, _)) => self.store.changed_since(*at).await?.filter(|ids| ids.len() <= MAX_CHANGED),
                None => None,
            };
            let value = match (known, changed) {
                (Some((_, old)), Some(ids)) => Arc::new(merged(&old, compute(visible.among(ids.clone())).await?, &ids)),
                _ => Arc::new(compute(visible.clone()).await?),
            };
            self.reads.put_pieces(version, key.clone(), value.clone());
            Ok(value)
        })
        .await
    }
}

/// `old` with the pieces of the CPTS in `changed` replaced by `new` (sorted by id).
fn merged<T: PerCpts + Clone>(old: &[T], new: Vec<T>, changed: &BTreeSet<String>) -> Vec<T> {
    let mut out: Vec<T> = old.iter().filter(|t| !changed.contains(t.cpts_id())).cloned().collect();
    out.extend(new);
    out.sort_by(|a, b| natural_cmp(a.cpts_id(), b.cpts_id()));
    out
}
