//! Webhook delivery: every event goes to the configured target and to each registered webhook
//! whose `events` and `sources` match, once, never retried, with the configured faults.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use tokio::sync::{mpsc, Notify, Semaphore};

use super::config::WebhookFaults;
use super::shared::Shared;
use super::stats::bump;
use super::wire::Event;

/// One event ready to go out.
#[derive(Debug)]
pub(crate) struct Outgoing {
    kind: &'static str,
    source: &'static str,
    list: i64,
    body: String,
}

impl From<&Event> for Outgoing {
    fn from(e: &Event) -> Self {
        Outgoing {
            kind: e.kind,
            source: e.source,
            list: e.list,
            body: e.body(),
        }
    }
}

/// Events whose webhook `listid` restricts them; the others ignore it.
const LIST_SCOPED: &[&str] = &["subscribe", "unsubscribe", "update", "open", "click"];

/// Settings the handle can change while deliveries run.
#[derive(Debug)]
pub(crate) struct Routing {
    pub target: Option<String>,
    pub faults: WebhookFaults,
    /// Sends partial bodies ([`super::partial`]).
    pub partial_webhooks: bool,
}

/// Counts events and deliveries not yet finished, so that `flush` can wait for them.
#[derive(Debug, Default)]
pub(crate) struct Pending {
    count: AtomicUsize,
    idle: Notify,
}

impl Pending {
    fn add(&self) {
        self.count.fetch_add(1, Ordering::SeqCst);
    }

    fn done(&self) {
        if self.count.fetch_sub(1, Ordering::SeqCst) == 1 {
            self.idle.notify_waiters();
        }
    }

    /// Waits until nothing is queued, held back or in flight.
    pub(crate) async fn wait_idle(&self) {
        loop {
            let notified = self.idle.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if self.count.load(Ordering::SeqCst) == 0 {
                return;
            }
            notified.await;
        }
    }
}

/// The sending half: the driver hands events to it.
#[derive(Debug, Clone)]
pub(crate) struct Sender {
    tx: mpsc::Sender<Outgoing>,
    pub pending: Arc<Pending>,
    pub routing: Arc<Mutex<Routing>>,
}

impl Sender {
    /// Starts the dispatcher task on the current runtime.
    pub(crate) fn start(
        shared: Arc<Shared>,
        routing: Routing,
        concurrency: usize,
        seed: u64,
    ) -> Self {
        // Bounded, so that a driver outrunning the receiver waits instead of piling up bodies.
        let (tx, rx) = mpsc::channel(1024);
        let sender = Sender {
            tx,
            pending: Arc::new(Pending::default()),
            routing: Arc::new(Mutex::new(routing)),
        };
        let dispatcher = Dispatcher {
            shared,
            pending: sender.pending.clone(),
            routing: sender.routing.clone(),
            permits: Arc::new(Semaphore::new(concurrency.max(1))),
            rng: StdRng::seed_from_u64(seed ^ 0x5e4d),
            client: reqwest::Client::builder()
                .timeout(Duration::from_secs(10))
                .build()
                .unwrap_or_default(),
        };
        tokio::spawn(dispatcher.run(rx));
        sender
    }

    /// Waits for room in the queue. Cancel-safe: nothing is queued or counted until the
    /// returned slot is used, so the change it is for can be made after the wait.
    pub(crate) async fn reserve(&self) -> Option<Slot<'_>> {
        let permit = self.tx.reserve().await.ok()?;
        Some(Slot {
            permit,
            pending: &self.pending,
        })
    }

    /// Locks the routing settings.
    pub(crate) fn routing(&self) -> std::sync::MutexGuard<'_, Routing> {
        self.routing.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Room for one event in the delivery queue.
pub(crate) struct Slot<'a> {
    permit: mpsc::Permit<'a, Outgoing>,
    pending: &'a Pending,
}

impl Slot<'_> {
    /// Queues the event.
    pub(crate) fn send(self, out: Outgoing) {
        self.pending.add();
        self.permit.send(out);
    }
}

/// Where a delivery goes: a URL and, for registered webhooks, its id.
type Target = (String, Option<i64>);

struct Dispatcher {
    shared: Arc<Shared>,
    pending: Arc<Pending>,
    routing: Arc<Mutex<Routing>>,
    permits: Arc<Semaphore>,
    rng: StdRng,
    client: reqwest::Client,
}

impl Dispatcher {
    async fn run(mut self, mut rx: mpsc::Receiver<Outgoing>) {
        while let Some(out) = rx.recv().await {
            let (targets, faults) = self.route(&out);
            let partial = self
                .routing
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .partial_webhooks;
            let body = match partial {
                true => super::partial::reshape(out.kind, &out.body, &mut self.rng),
                false => out.body,
            };
            let body = Arc::new(body);
            for target in targets {
                self.deliver(target, body.clone(), &faults).await;
            }
            self.pending.done();
        }
    }

    fn route(&self, out: &Outgoing) -> (Vec<Target>, WebhookFaults) {
        let (target, faults) = {
            let r = self.routing.lock().unwrap_or_else(|e| e.into_inner());
            (r.target.clone(), r.faults.clone())
        };
        let mut targets: Vec<Target> = target.into_iter().map(|u| (u, None)).collect();
        let acct = self.shared.account();
        for hook in acct.webhooks.values().filter(|h| h.active) {
            let wants_event = hook.events.iter().any(|e| e == out.kind);
            let wants_source = hook.sources.iter().any(|s| s == out.source);
            let list_ok =
                hook.listid == 0 || !LIST_SCOPED.contains(&out.kind) || hook.listid == out.list;
            if wants_event && wants_source && list_ok {
                targets.push((hook.url.clone(), Some(hook.id)));
            }
        }
        (targets, faults)
    }

    async fn deliver(&mut self, target: Target, body: Arc<String>, faults: &WebhookFaults) {
        let stats = &self.shared.stats;
        if faults.down {
            bump(&stats.deliveries_failed);
            return;
        }
        if self.rng.gen_bool(faults.drop.clamp(0.0, 1.0)) {
            bump(&stats.deliveries_dropped);
            return;
        }
        let copies = if self.rng.gen_bool(faults.duplicate.clamp(0.0, 1.0)) {
            bump(&stats.deliveries_duplicated);
            2
        } else {
            1
        };
        for _ in 0..copies {
            let delay = if self.rng.gen_bool(faults.reorder.clamp(0.0, 1.0)) {
                bump(&stats.deliveries_delayed);
                let max = faults.max_delay.as_millis().max(1) as u64;
                Some(Duration::from_millis(self.rng.gen_range(1..=max)))
            } else {
                None
            };
            self.spawn_post(target.clone(), body.clone(), delay).await;
        }
    }

    /// Sends one POST on its own task. Undelayed posts take a permit first, so with one
    /// permit they leave strictly in order; delayed ones take theirs after the delay.
    async fn spawn_post(&self, target: Target, body: Arc<String>, delay: Option<Duration>) {
        self.pending.add();
        let early = match delay {
            None => self.permits.clone().acquire_owned().await.ok(),
            Some(_) => None,
        };
        let (shared, pending, client, permits) = (
            self.shared.clone(),
            self.pending.clone(),
            self.client.clone(),
            self.permits.clone(),
        );
        let routing = self.routing.clone();
        tokio::spawn(async move {
            let _permit = match (early, delay) {
                (Some(p), _) => Some(p),
                (None, Some(d)) => {
                    tokio::time::sleep(d).await;
                    permits.acquire_owned().await.ok()
                }
                (None, None) => None,
            };
            post(&shared, &routing, &client, target, &body).await;
            pending.done();
        });
    }
}

async fn post(
    shared: &Shared,
    routing: &Mutex<Routing>,
    client: &reqwest::Client,
    target: Target,
    body: &str,
) {
    // A 410 to an earlier delivery switches the target off even for deliveries already queued.
    if !still_active(shared, routing, &target) {
        return;
    }
    bump(&shared.stats.deliveries_sent);
    let result = client
        .post(&target.0)
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body(body.to_string())
        .send()
        .await;
    match result {
        Ok(res) if res.status().is_success() => bump(&shared.stats.deliveries_ok),
        Ok(res) => {
            bump(&shared.stats.deliveries_failed);
            if res.status() == reqwest::StatusCode::GONE {
                deactivate(shared, routing, &target);
            }
        }
        Err(_) => bump(&shared.stats.deliveries_failed),
    }
}

fn still_active(shared: &Shared, routing: &Mutex<Routing>, target: &Target) -> bool {
    match target.1 {
        Some(id) => shared.account().webhooks.get(&id).is_some_and(|h| h.active),
        None => {
            let r = routing.lock().unwrap_or_else(|e| e.into_inner());
            r.target.as_deref() == Some(target.0.as_str())
        }
    }
}

/// A 410 switches the webhook off for good, as ActiveCampaign does.
fn deactivate(shared: &Shared, routing: &Mutex<Routing>, target: &Target) {
    match target.1 {
        Some(id) => {
            if let Some(hook) = shared.account().webhooks.get_mut(&id) {
                hook.active = false;
            }
        }
        None => {
            let mut r = routing.lock().unwrap_or_else(|e| e.into_inner());
            if r.target.as_deref() == Some(target.0.as_str()) {
                r.target = None;
            }
        }
    }
}
