//! `midoffice seed`: fills a store with citizens and contacts of a realistic shape,
//! every contact decided by the domain's plans, saved in bulk.
//!
//! One citizen at a time: its whole history is planned (`shape`), then played in time
//! order through `plan_start`, `plan_completion`, `plan_record` and `plan_feedback`
//! with facts read from the citizen's own rows (`play`), so merges, cases, signals and
//! commitments are exactly what a server would have made. Citizens' rows are gathered
//! into batches; a second thread tallies each batch's figure units and builds its
//! multi-row inserts (`Batch::prepare`), and the store saves it
//! (`Store::save_prepared`), while the next batch is generated.

mod play;
mod rng;
mod shape;

use crate::config::{self, ServeArgs, StoreArgs};
use chrono::{NaiveDate, TimeDelta};
use clap::Args;
use midoffice_domain::TenantId;
use midoffice_domain::identifier::{Identifier, IdentifierKind, Pseudonymiser};
use midoffice_domain::settings::TenantSettings;
use midoffice_store::bulk::{Batch, BatchCounts, Prepared};
use midoffice_store::{Store, StoreError, redact_url};
use play::{Player, Refusals};
use rng::Rng;
use shape::{Citizen, Clock, Identity, Planner};
use std::process::ExitCode;
use std::time::{Duration, Instant as Wall};

/// Contacts per batch: one write transaction each (the seed's; the demo's are smaller).
pub(crate) const BATCH_CONTACTS: usize = 20_000;
/// The most contacts one citizen has.
const MAX_CONTACTS_PER_CITIZEN: usize = 150;
/// The share of contacts without identifiers, in thousandths.
const ANONYMOUS_PER_MILLE: usize = 70;

#[derive(Debug, Args)]
pub struct SeedArgs {
    /// Where to seed, as for serve: use the database and the identifier-hashing secret
    /// the server will use, or the seeded identifiers cannot be found.
    #[command(flatten)]
    pub store: StoreArgs,
    /// The tenant to fill.
    #[arg(long, default_value = "default")]
    pub tenant: String,
    /// Citizens (people and businesses that contact the tenant).
    #[arg(long, value_name = "N")]
    pub parties: usize,
    /// Contacts in all, about 7 % of them anonymous; at least as many as parties.
    #[arg(long, value_name = "M")]
    pub contacts: usize,
    /// The first local date of the period. [default: a year before --to]
    #[arg(long, value_name = "YYYY-MM-DD")]
    pub from: Option<NaiveDate>,
    /// The day after the period (exclusive). [default: tomorrow; nothing is made after
    /// now]
    #[arg(long, value_name = "YYYY-MM-DD")]
    pub to: Option<NaiveDate>,
    /// The same seed fills the same store.
    #[arg(long, value_name = "S", default_value_t = 1)]
    pub random_seed: u64,
}

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// The BSN of seeded citizen `i` (when it has one): `i` spread over 8-digit numbers
/// from 10000000 with the eleven-test check digit (of two neighbours, the one that has
/// one). Tests find seeded citizens by it.
pub fn bsn_for(i: usize) -> String {
    let base = 10_000_000 + 2 * i as u64;
    for prefix in [base, base + 1] {
        let digits: Vec<u64> = format!("{prefix:08}")
            .bytes()
            .map(|b| u64::from(b - b'0'))
            .collect();
        let sum: u64 = digits.iter().zip((2..=9).rev()).map(|(d, w)| d * w).sum();
        let check = sum % 11;
        if check < 10 {
            return format!("{prefix:08}{check}");
        }
    }
    unreachable!("of two neighbours differing in the last digit, one has a check digit")
}

/// The phone number and e-mail address of seeded citizen `i`.
pub fn weak_for(i: usize) -> (String, String) {
    (
        format!("06{:08}", i % 100_000_000),
        format!("burger{i}@voorbeeld.nl"),
    )
}

/// Runs the seed; progress and the summary on stderr.
pub async fn run(args: SeedArgs) -> ExitCode {
    // Warnings and errors on stderr: a failed batch says only "unavailable" or
    // "internal" to the caller, the store logs the database's own error (no values).
    let telemetry = match crate::telemetry::init(None, tracing::Level::WARN) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("midoffice seed: cannot set up logging: {e}");
            return ExitCode::FAILURE;
        }
    };
    let code = match seed(args).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("midoffice seed: {e}");
            ExitCode::FAILURE
        }
    };
    telemetry.shutdown().await;
    code
}

/// What the generator sends to the preparer, and the preparer to the saver.
enum Message<B> {
    Batch(B),
    Done(Refusals),
}

async fn seed(args: SeedArgs) -> Result<(), BoxError> {
    let tenant = TenantId::parse(&args.tenant).map_err(|e| format!("--tenant: {e}"))?;
    let opened = open(&args.store).await?;
    let filled = fill(
        &opened,
        Fill {
            tenant,
            parties: args.parties,
            contacts: args.contacts,
            from: args.from,
            to: args.to,
            random_seed: args.random_seed,
            batch_contacts: BATCH_CONTACTS,
        },
        SEED,
    )
    .await?;
    filled.summary(SEED);
    Ok(())
}

/// The prefix of what `midoffice seed` prints.
const SEED: &str = "midoffice seed";

/// A store opened as `serve` opens it (the same configuration, database and secret), for
/// a fill.
pub(crate) struct Opened {
    pub store: Store,
    pub pseudonymiser: Pseudonymiser,
    /// The configuration it was opened with.
    pub settings: config::Settings,
    /// The database URL without its password.
    pub shown: String,
}

/// Opens the store of `args` as `serve` would, with the identifier-hashing secret.
pub(crate) async fn open(args: &StoreArgs) -> Result<Opened, BoxError> {
    let env = config::environment()?;
    let settings = config::load(&ServeArgs::from(args.clone()), &env)?;
    let env_secret = env.get(crate::secret::SECRET_ENV).map(String::as_str);
    let (sqlite_file, secret) = crate::store_secret(&settings, env_secret)?;
    let pseudonymiser = Pseudonymiser::new(&secret.key);
    drop(secret);
    let store = crate::open_store(&settings, sqlite_file.as_deref(), None).await?;
    let shown = redact_url(&settings.database_url);
    Ok(Opened {
        store,
        pseudonymiser,
        settings,
        shown,
    })
}

/// What to fill: a tenant, how many citizens and contacts, the period and the seed.
pub(crate) struct Fill {
    pub tenant: TenantId,
    pub parties: usize,
    pub contacts: usize,
    /// [default: a year before `to`]
    pub from: Option<NaiveDate>,
    /// Exclusive. [default: tomorrow]
    pub to: Option<NaiveDate>,
    pub random_seed: u64,
    /// Contacts per saved batch, each one write transaction (whole citizens, so a batch
    /// may hold a few more): on SQLite, how long the fill holds the one write lock at a
    /// time.
    pub batch_contacts: usize,
}

/// What a fill saved.
pub(crate) struct Filled {
    pub saved: BatchCounts,
    pub anonymous: usize,
    pub refusals: Refusals,
    pub elapsed: Duration,
    pub saving: Duration,
}

/// Fills a tenant of an opened store under its stored settings; progress on stderr,
/// each line starting with `who`.
pub(crate) async fn fill(opened: &Opened, fill: Fill, who: &str) -> Result<Filled, BoxError> {
    if fill.parties == 0 {
        return Err("--parties must be at least 1".into());
    }
    if fill.parties > 40_000_000 {
        return Err("--parties may be at most 40,000,000".into());
    }
    let anonymous = (fill.contacts * ANONYMOUS_PER_MILLE / 1000)
        .min(fill.contacts.saturating_sub(fill.parties));
    let named = fill.contacts - anonymous;
    if named < fill.parties {
        return Err("--contacts must be at least --parties (every party has a contact)".into());
    }
    let store = &opened.store;
    let tenant = fill.tenant;
    let tenant_settings = store.settings(&tenant).await?;

    let calendar = tenant_settings.calendar.clone();
    let now = chrono::Utc::now();
    let today = calendar.local_date(now);
    let to = fill.to.unwrap_or_else(|| today + TimeDelta::days(1));
    let from = fill.from.unwrap_or_else(|| to - TimeDelta::days(365));
    let last_day = (to - TimeDelta::days(1)).min(today);
    if last_day < from {
        return Err("the period --from .. --to holds no day up to today".into());
    }
    let horizon = calendar.start_of_day(to).min(now - TimeDelta::minutes(1));
    let clock = Clock {
        calendar,
        from,
        last_day,
        horizon,
    };
    eprintln!(
        "{who}: {} parties, {} contacts ({} anonymous), tenant {}, {} .. {} (exclusive), seed {}, into {}",
        fill.parties,
        fill.contacts,
        anonymous,
        tenant.as_str(),
        from,
        to,
        fill.random_seed,
        opened.shown
    );

    store.begin_bulk_load().await?;
    let started = Wall::now();
    // Three stages, at most two batches waiting between two: generating (one thread),
    // preparing (another), saving (this task and the database).
    let (generated, to_prepare) =
        std::sync::mpsc::sync_channel::<Result<Message<Batch>, String>>(2);
    let (tx, mut rx) = tokio::sync::mpsc::channel::<Result<Message<Prepared>, String>>(2);
    let preparer = {
        let settings = tenant_settings.clone();
        let backend = store.backend();
        std::thread::spawn(move || {
            for message in to_prepare {
                let prepared = match message {
                    Ok(Message::Batch(batch)) => batch
                        .prepare(&settings, backend)
                        .map(Message::Batch)
                        .map_err(|e| format!("preparing a batch failed: {e}")),
                    Ok(Message::Done(r)) => Ok(Message::Done(r)),
                    Err(e) => Err(e),
                };
                // The saver stopped: so does this thread, and then the generator.
                if tx.blocking_send(prepared).is_err() {
                    return;
                }
            }
        })
    };
    let generator = Generator {
        seed: fill.random_seed,
        tenant: tenant.clone(),
        settings: tenant_settings,
        pseudonymiser: opened.pseudonymiser.clone(),
        clock,
        parties: fill.parties,
        named,
        anonymous,
        batch_contacts: fill.batch_contacts.max(1),
    };
    let worker = std::thread::spawn(move || generator.run(&generated));

    let mut saved = BatchCounts::default();
    let mut refusals = Refusals::default();
    let mut last_report = Wall::now();
    let mut failure: Option<BoxError> = None;
    let mut saving = Duration::ZERO;
    while let Some(message) = rx.recv().await {
        match message {
            Ok(Message::Batch(batch)) => match timed(&mut saving, save(store, &batch)).await {
                Ok(counts) => {
                    saved += counts;
                    if last_report.elapsed() >= Duration::from_secs(2) {
                        last_report = Wall::now();
                        progress(who, saved.contacts, fill.contacts, started.elapsed());
                    }
                }
                Err(e) => {
                    failure = Some(format!("saving a batch failed: {e}").into());
                    break;
                }
            },
            Ok(Message::Done(r)) => refusals = r,
            Err(e) => {
                failure = Some(e.into());
                break;
            }
        }
    }
    // Stops the preparer and the generator (their next send fails) when saving failed.
    drop(rx);
    if preparer.join().is_err() {
        failure.get_or_insert_with(|| "the preparer stopped abnormally".into());
    }
    if worker.join().is_err() {
        failure.get_or_insert_with(|| "the generator stopped abnormally".into());
    }
    store.end_bulk_load().await?;
    if let Some(e) = failure {
        return Err(e);
    }
    // Each batch wrote its units' figure tallies and their sums (`Store::save_prepared`):
    // the tenant's figures answer from the rollups at once, no rebuild needed.
    Ok(Filled {
        saved,
        anonymous,
        refusals,
        elapsed: started.elapsed(),
        saving,
    })
}

/// How many times a batch is saved at most when the store answers UNAVAILABLE (the
/// database busy or a connection not had in time): the batch is one transaction, rolled
/// back whole, so saving it again is safe.
const SAVE_ATTEMPTS: u32 = 3;

/// Saves a batch, again after a pause when the store was unavailable (logged).
async fn save(store: &Store, batch: &Prepared) -> Result<BatchCounts, StoreError> {
    let mut attempt = 1;
    loop {
        match store.save_prepared(batch).await {
            Err(StoreError::Unavailable(why)) if attempt < SAVE_ATTEMPTS => {
                tracing::warn!(attempt, reason = %why, "saving a batch failed; saving it again");
                tokio::time::sleep(Duration::from_secs(1)).await;
                attempt += 1;
            }
            done => return done,
        }
    }
}

/// Runs `work`, adding the time it took to `total`.
async fn timed<T>(total: &mut Duration, work: impl Future<Output = T>) -> T {
    let start = Wall::now();
    let out = work.await;
    *total += start.elapsed();
    out
}

fn progress(who: &str, done: usize, total: usize, elapsed: Duration) {
    let rate = done as f64 / elapsed.as_secs_f64().max(0.001);
    let left = (total.saturating_sub(done)) as f64 / rate.max(1.0);
    eprintln!(
        "{who}: {done} / {total} contacts ({:.1} %), {rate:.0} contacts/s, about {left:.0} s left",
        100.0 * done as f64 / total.max(1) as f64
    );
}

impl Filled {
    /// What was saved and refused, on stderr, each line starting with `who`.
    pub(crate) fn summary(&self, who: &str) {
        let Filled {
            saved,
            anonymous,
            refusals,
            elapsed,
            saving,
        } = self;
        let secs = elapsed.as_secs_f64().max(0.001);
        eprintln!(
            "{who}: done in {secs:.1} s: {} contacts ({} anonymous), {:.0} contacts/s; saving took {:.1} s of it",
            saved.contacts,
            anonymous,
            saved.contacts as f64 / secs,
            saving.as_secs_f64()
        );
        eprintln!(
            "{who}: parties {} ({} after merges, {} merged), identifiers {}, cases {} ({} after joins), satisfaction answers {}",
            saved.parties,
            saved.live_parties,
            saved.parties - saved.live_parties,
            saved.identifiers,
            saved.cases,
            saved.live_cases,
            saved.feedback
        );
        eprintln!("{who}: refused by the rules: {}", refusals.total());
        for (reason, n) in &refusals.by_reason {
            eprintln!("{who}:   {n} × {reason}");
        }
    }
}

/// Generates every citizen's history and the anonymous contacts, in batches.
struct Generator {
    seed: u64,
    tenant: TenantId,
    settings: TenantSettings,
    pseudonymiser: Pseudonymiser,
    clock: Clock,
    parties: usize,
    named: usize,
    anonymous: usize,
    batch_contacts: usize,
}

/// The stream of the random generator of anonymous contact `j` (citizens use 1..).
const ANONYMOUS_STREAM: u64 = 1 << 48;

impl Generator {
    fn run(self, tx: &std::sync::mpsc::SyncSender<Result<Message<Batch>, String>>) {
        let send = |m| tx.send(m).is_ok();
        match self.generate(&send) {
            Ok(refusals) => {
                send(Ok(Message::Done(refusals)));
            }
            Err(e) => {
                send(Err(e));
            }
        }
    }

    fn key(
        &self,
        kind: IdentifierKind,
        raw: &str,
    ) -> Result<midoffice_domain::identifier::IdentKey, String> {
        let id = Identifier::parse(kind, raw)
            .map_err(|e| format!("a seeded {} is not valid: {e}", kind.as_str()))?;
        Ok(self.pseudonymiser.key(&id))
    }

    fn citizen(&self, rng: &mut Rng, i: usize) -> Result<Citizen, String> {
        let identity = rng.weighted(&[
            (Identity::Bsn, 55),
            (Identity::WeakOnly, 35),
            (Identity::JoinedLater, 10),
        ]);
        let (phone, email) = weak_for(i);
        let span = (self.clock.horizon - self.clock.calendar.start_of_day(self.clock.from))
            .num_seconds()
            .max(1);
        let join = (identity == Identity::JoinedLater).then(|| {
            self.clock.calendar.start_of_day(self.clock.from)
                + TimeDelta::seconds(rng.range(span / 4, span * 3 / 4))
        });
        Ok(Citizen {
            identity,
            bsn: match identity {
                Identity::WeakOnly => None,
                _ => Some(self.key(IdentifierKind::Bsn, &bsn_for(i))?),
            },
            phone: self.key(IdentifierKind::Phone, &phone)?,
            email: self.key(IdentifierKind::Email, &email)?,
            join,
        })
    }

    fn generate(
        &self,
        send: &dyn Fn(Result<Message<Batch>, String>) -> bool,
    ) -> Result<Refusals, String> {
        let mut rng = Rng::new(self.seed, 0);
        let counts = shape::contacts_per_citizen(
            &mut rng,
            self.parties,
            self.named,
            MAX_CONTACTS_PER_CITIZEN,
        );
        let player = Player {
            tenant: &self.tenant,
            settings: &self.settings,
        };
        let mut refusals = Refusals::default();
        let mut batch = Batch::new(&self.tenant);
        let mut anonymous_done = 0usize;
        for (i, count) in counts.iter().enumerate() {
            let mut rng = Rng::new(self.seed, i as u64 + 1);
            let who = self.citizen(&mut rng, i)?;
            let history = Planner {
                rng: &mut rng,
                clock: &self.clock,
                citizen: i,
            }
            .history(&who, *count as usize);
            let rows = player
                .play(&mut rng, &history, &mut refusals)
                .map_err(|e| e.to_string())?;
            batch.append(rows);
            // The anonymous contacts, spread evenly among the citizens.
            let due = self.anonymous * (i + 1) / self.parties;
            while anonymous_done < due {
                let mut rng = Rng::new(self.seed, ANONYMOUS_STREAM + anonymous_done as u64);
                anonymous_done += 1;
                let mut planner = Planner {
                    rng: &mut rng,
                    clock: &self.clock,
                    citizen: i,
                };
                // One that ends after the horizon is planned again.
                let planned = (0..20).find_map(|_| planner.anonymous());
                if let Some(p) = planned {
                    let rows = player
                        .play(&mut rng, std::slice::from_ref(&p), &mut refusals)
                        .map_err(|e| e.to_string())?;
                    batch.append(rows);
                }
            }
            if batch.contact_count() >= self.batch_contacts {
                let full = std::mem::replace(&mut batch, Batch::new(&self.tenant));
                if !send(Ok(Message::Batch(full))) {
                    return Ok(refusals);
                }
            }
        }
        if !batch.is_empty() {
            send(Ok(Message::Batch(batch)));
        }
        Ok(refusals)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seeded_bsns_pass_the_eleven_test_and_differ() {
        let mut seen = std::collections::BTreeSet::new();
        for i in 0..2000 {
            let bsn = bsn_for(i);
            assert!(
                Identifier::parse(IdentifierKind::Bsn, &bsn).is_ok(),
                "{bsn}"
            );
            assert!(seen.insert(bsn));
        }
        let (phone, email) = weak_for(12);
        assert!(Identifier::parse(IdentifierKind::Phone, &phone).is_ok());
        assert!(Identifier::parse(IdentifierKind::Email, &email).is_ok());
    }

    #[test]
    fn contacts_are_spread_over_citizens_with_many_one_off_and_a_long_tail() {
        let mut rng = Rng::new(3, 0);
        let counts = shape::contacts_per_citizen(&mut rng, 10_000, 100_000, 400);
        assert_eq!(counts.iter().map(|&c| c as usize).sum::<usize>(), 100_000);
        let once = counts.iter().filter(|&&c| c == 1).count();
        assert!(once > 3_000, "{once} one-off");
        assert!(counts.iter().any(|&c| c > 100), "some frequent");
        assert!(counts.iter().all(|&c| (1..=400).contains(&c)));
    }
}
