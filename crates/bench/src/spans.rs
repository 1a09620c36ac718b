//! Time spent per phase: the application's debug spans (`values.read`, `values.write`…),
//! timed from creation to close (wall time, awaits included), summed by name.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use tracing::Subscriber;
use tracing::span::{Attributes, Id};
use tracing_subscriber::Layer;
use tracing_subscriber::layer::{Context, SubscriberExt};
use tracing_subscriber::registry::LookupSpan;

/// Per span name: total wall time and count.
pub type Times = BTreeMap<&'static str, (Duration, u64)>;

static TIMES: Mutex<Times> = Mutex::new(BTreeMap::new());

struct Timer;

impl<S: Subscriber + for<'a> LookupSpan<'a>> Layer<S> for Timer {
    fn on_new_span(&self, _: &Attributes<'_>, id: &Id, ctx: Context<'_, S>) {
        if let Some(span) = ctx.span(id) {
            span.extensions_mut().insert(Instant::now());
        }
    }

    fn on_close(&self, id: Id, ctx: Context<'_, S>) {
        let Some(span) = ctx.span(&id) else { return };
        let Some(started) = span.extensions().get::<Instant>().copied() else { return };
        if let Ok(mut times) = TIMES.lock() {
            let t = times.entry(span.name()).or_default();
            t.0 += started.elapsed();
            t.1 += 1;
        }
    }
}

/// Runs `f` with every span timed; returns its result and the times by span name.
pub fn timed<T>(f: impl FnOnce() -> T) -> (T, Times) {
    if let Ok(mut times) = TIMES.lock() {
        times.clear();
    }
    let out = tracing::subscriber::with_default(tracing_subscriber::registry().with(Timer), f);
    let times = TIMES.lock().map(|t| t.clone()).unwrap_or_default();
    (out, times)
}
