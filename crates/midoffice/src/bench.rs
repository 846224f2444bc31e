//! `midoffice bench`: drives a running server over gRPC with a realistic mix of calls,
//! closed loop (`--concurrency`) or open loop (`--rate`), and measures each RPC in HDR
//! latency histograms. In the same run it drives an empty handler (a tonic server in
//! this process answering every RPC with a canned answer of the size the real server
//! gave, no store) with the same client, mix and duration, and shows the ratio of the
//! two: the machine's load varies too much for absolute figures alone.
//!
//! What a mix does and how to read the table: `docs/benchmarks.md`.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use clap::{Args, ValueEnum};
use hdrhistogram::Histogram;
use midoffice_api::pb;
use midoffice_api::pb::contact_service_client::ContactServiceClient;
use midoffice_api::pb::figure_service_client::FigureServiceClient;
use midoffice_api::pb::party_service_client::PartyServiceClient;
use prost::Message;
use tonic::metadata::MetadataValue;
use tonic::transport::{Channel, Endpoint};

/// Arguments of `midoffice bench`.
#[derive(Debug, Args)]
pub struct BenchArgs {
    /// The server to drive.
    #[arg(long, default_value = "http://127.0.0.1:50051")]
    pub endpoint: String,
    /// What to call: start-complete (StartContact then CompleteContact), context
    /// (GetContext of known citizens), record (RecordContact), figures
    /// (GetThermometer and GetFigures of this month, alternately), or mixed (48 %
    /// start-complete, 40 % context, 11 % record, 1 % figures).
    #[arg(long, value_enum, default_value_t = Mix::Mixed)]
    pub mix: Mix,
    /// Closed loop: this many callers, each sending its next operation when the last
    /// one is answered [default: 16].
    #[arg(long, conflicts_with = "rate")]
    pub concurrency: Option<usize>,
    /// Open loop: this many operations a second (a start-complete pair is one), each
    /// sent at its planned time whatever the answers before it; latency counts from
    /// the planned time, so queueing is not hidden.
    #[arg(long)]
    pub rate: Option<f64>,
    /// How long to measure, such as 30s, 500ms or 2m.
    #[arg(long, default_value = "10s", value_parser = parse_duration)]
    pub duration: Duration,
    /// How long to run before measuring (not counted).
    #[arg(long, default_value = "2s", value_parser = parse_duration)]
    pub warmup: Duration,
    /// An API key with the channel (and, for figures, dashboard) role, sent as
    /// `authorization: Bearer`; none on a development server.
    #[arg(long, env = "MIDOFFICE_BENCH_API_KEY", hide_env_values = true)]
    pub api_key: Option<String>,
    /// The tenant, sent as `x-tenant` [default: none sent: the development tenant, or
    /// the key's only tenant].
    #[arg(long)]
    pub tenant: Option<String>,
    /// HTTP/2 connections the calls are spread over.
    #[arg(long, default_value_t = 4)]
    pub connections: usize,
    /// Citizens in the population the calls are about (returning ones are chosen more
    /// often).
    #[arg(long, default_value_t = 10_000)]
    pub citizens: usize,
    /// Citizens given a recorded contact before the run, so context calls find them
    /// [default: 1000 for context and mixed, else 0].
    #[arg(long)]
    pub known: Option<usize>,
    /// Skip the empty-handler baseline.
    #[arg(long)]
    pub no_baseline: bool,
    /// The process id of the server, to report its CPU time and context switches per
    /// call (from /proc; same machine only).
    #[arg(long)]
    pub server_pid: Option<u32>,
    /// Also write the results as JSON to this file.
    #[arg(long, value_name = "FILE")]
    pub json: Option<PathBuf>,
    /// Seed of the pseudo-random choices (citizens, channels, outcomes).
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
}

/// A mix of calls.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Mix {
    StartComplete,
    Context,
    Record,
    Figures,
    Mixed,
}

impl Mix {
    fn name(self) -> &'static str {
        match self {
            Mix::StartComplete => "start-complete",
            Mix::Context => "context",
            Mix::Record => "record",
            Mix::Figures => "figures",
            Mix::Mixed => "mixed",
        }
    }
}

/// `10s`, `500ms`, `2m`, or plain seconds.
fn parse_duration(raw: &str) -> Result<Duration, String> {
    let raw = raw.trim();
    let (number, unit) = match raw.find(|c: char| !(c.is_ascii_digit() || c == '.')) {
        Some(i) => raw.split_at(i),
        None => (raw, "s"),
    };
    let n: f64 = number
        .parse()
        .map_err(|_| format!("not a duration: {raw:?} (such as 30s, 500ms, 2m)"))?;
    let seconds = match unit {
        "ms" => n / 1000.0,
        "s" => n,
        "m" => n * 60.0,
        _ => return Err(format!("unknown unit in {raw:?}: use ms, s or m")),
    };
    if !seconds.is_finite() || !(0.0..=86_400.0).contains(&seconds) {
        return Err(format!("out of range: {raw:?}"));
    }
    Ok(Duration::from_secs_f64(seconds))
}

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Runs the benchmark as `args` say: prints the table, writes the JSON.
pub async fn run(args: BenchArgs) -> Result<(), BoxError> {
    if args.connections == 0 || args.citizens == 0 {
        return Err("--connections and --citizens must be at least 1".into());
    }
    if let Some(rate) = args.rate
        && !(rate > 0.0 && rate.is_finite())
    {
        return Err("--rate must be a positive number".into());
    }
    let known = args.known.unwrap_or(match args.mix {
        Mix::Context | Mix::Mixed => 1000,
        _ => 0,
    });
    let load = Load {
        mix: args.mix,
        concurrency: args.concurrency.unwrap_or(16).max(1),
        rate: args.rate,
        duration: args.duration,
        warmup: args.warmup,
    };
    let population = Arc::new(Population::new(args.citizens.max(known), known, args.seed));
    let auth = Auth {
        api_key: args.api_key.clone(),
        tenant: args.tenant.clone(),
    };
    let channels = connect(&args.endpoint, args.connections).await?;
    let run_id = format!(
        "{:x}",
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis())
            .unwrap_or(0)
    );
    eprintln!(
        "midoffice bench: {} against {}, {}",
        args.mix.name(),
        args.endpoint,
        load.describe()
    );
    if known > 0 {
        let began = Instant::now();
        prefill(&channels, &auth, &population, known, &run_id).await?;
        eprintln!(
            "recorded a contact for {known} known citizens in {:.1} s",
            began.elapsed().as_secs_f64()
        );
    }

    let canned = Arc::new(Canned::default());
    let cpu_before = args
        .server_pid
        .and_then(|pid| ProcUsage::of_process(pid).ok());
    let real = drive(
        &channels,
        &auth,
        &population,
        &load,
        &run_id,
        Some(Arc::clone(&canned)),
        args.seed,
    )
    .await;
    let server_usage = match (cpu_before, args.server_pid) {
        (Some(before), Some(pid)) => ProcUsage::of_process(pid).ok().map(|after| {
            let mut used = after.minus(&before);
            // Warm-up included in the window: count per call over everything sent.
            used.calls = real.calls_including_warmup;
            used
        }),
        _ => None,
    };

    let baseline = if args.no_baseline {
        None
    } else {
        let server = Baseline::start(Canned::snapshot(&canned))?;
        let url = format!("http://{}", server.addr);
        let base_channels = connect(&url, args.connections).await?;
        let before = ProcUsage::of_baseline_threads().ok();
        let result = drive(
            &base_channels,
            &auth,
            &population,
            &load,
            &run_id,
            None,
            args.seed,
        )
        .await;
        let usage = before.and_then(|b| {
            ProcUsage::of_baseline_threads().ok().map(|a| {
                let mut used = a.minus(&b);
                used.calls = result.calls_including_warmup;
                used
            })
        });
        server.stop();
        Some((result, usage))
    };

    let report = Report {
        endpoint: &args.endpoint,
        load: &load,
        connections: args.connections,
        citizens: args.citizens,
        known,
        real: &real,
        server_usage: server_usage.as_ref(),
        baseline: baseline.as_ref().map(|(r, _)| r),
        baseline_usage: baseline.as_ref().and_then(|(_, u)| u.as_ref()),
    };
    print!("{}", report.table());
    if let Some(path) = &args.json {
        let text = serde_json::to_string_pretty(&report.json())?;
        std::fs::write(path, text + "\n")
            .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    }
    Ok(())
}

/// How the load is applied.
#[derive(Debug, Clone)]
struct Load {
    mix: Mix,
    concurrency: usize,
    rate: Option<f64>,
    duration: Duration,
    warmup: Duration,
}

impl Load {
    fn describe(&self) -> String {
        let shape = match self.rate {
            Some(rate) => format!("open loop at {rate} operations/s"),
            None => format!("closed loop at concurrency {}", self.concurrency),
        };
        format!(
            "{shape}, {:.1} s measured after {:.1} s warm-up",
            self.duration.as_secs_f64(),
            self.warmup.as_secs_f64()
        )
    }
}

/// The credential and tenant every call carries.
#[derive(Debug, Clone)]
struct Auth {
    api_key: Option<String>,
    tenant: Option<String>,
}

impl Auth {
    fn request<T>(&self, msg: T) -> tonic::Request<T> {
        let mut request = tonic::Request::new(msg);
        if let Some(key) = &self.api_key
            && let Ok(value) = MetadataValue::try_from(format!("Bearer {key}"))
        {
            request.metadata_mut().insert("authorization", value);
        }
        if let Some(tenant) = &self.tenant
            && let Ok(value) = MetadataValue::try_from(tenant.as_str())
        {
            request.metadata_mut().insert("x-tenant", value);
        }
        request
    }
}

async fn connect(url: &str, n: usize) -> Result<Vec<Channel>, BoxError> {
    let endpoint = Endpoint::from_shared(url.to_owned())
        .map_err(|e| format!("not an endpoint URL: {url}: {e}"))?
        .connect_timeout(Duration::from_secs(5))
        .tcp_nodelay(true);
    let mut channels = Vec::with_capacity(n);
    for _ in 0..n {
        channels.push(
            endpoint
                .connect()
                .await
                .map_err(|e| format!("cannot connect to {url}: {e}"))?,
        );
    }
    Ok(channels)
}

// ---------------------------------------------------------------------------------
// The citizens and what they do.

/// A small, seeded pseudo-random generator (splitmix64): the choices of a run are
/// reproducible, and the bench needs no random-number crate.
#[derive(Debug, Clone)]
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    /// Uniform in [0, 1).
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
    fn below(&mut self, n: usize) -> usize {
        (self.unit() * n as f64) as usize % n.max(1)
    }
}

/// Topics, most asked first.
const TOPICS: &[&str] = &[
    "paspoort",
    "parkeervergunning",
    "afval",
    "verhuizing",
    "belastingen",
    "wmo",
    "bijstand",
    "rijbewijs",
    "geboorteaangifte",
    "bouwvergunning",
];

/// Who a citizen is to the server: a BSN (with a phone number for some), or only an
/// e-mail address or phone number (weak-only identities).
#[derive(Debug, Clone)]
struct Citizen {
    bsn: Option<String>,
    email: Option<String>,
    phone: Option<String>,
    topic: &'static str,
}

impl Citizen {
    fn identifiers(&self) -> pb::Identifiers {
        pb::Identifiers {
            bsn: self.bsn.clone().unwrap_or_default(),
            kvk: String::new(),
            email: self.email.clone().unwrap_or_default(),
            phone: self.phone.clone().unwrap_or_default(),
        }
    }
}

/// The citizens of a run: 70 % BSN only, 10 % BSN and phone, 10 % e-mail only, 10 %
/// phone only. Citizen `i` is the same in every run with the same seed.
#[derive(Debug)]
struct Population {
    citizens: Vec<Citizen>,
    /// The first `known` citizens had a contact recorded before the run.
    known: usize,
}

impl Population {
    fn new(n: usize, known: usize, seed: u64) -> Population {
        let mut rng = Rng(seed ^ 0x5EED);
        let mut candidate: u32 = 100_000_000;
        let mut next_bsn = || loop {
            candidate += 1;
            let s = candidate.to_string();
            let d: Vec<i64> = s.bytes().map(|b| i64::from(b - b'0')).collect();
            let sum: i64 = (0..8).map(|k| d[k] * (9 - k as i64)).sum::<i64>() - d[8];
            if sum % 11 == 0 {
                return s;
            }
        };
        let citizens = (0..n)
            .map(|i| {
                let kind = rng.below(10);
                let topic = TOPICS[skewed(&mut rng, TOPICS.len())];
                let phone = format!("06{:08}", 10_000_000 + i);
                let email = format!("burger{i}@example.nl");
                match kind {
                    0..=6 => Citizen {
                        bsn: Some(next_bsn()),
                        email: None,
                        phone: None,
                        topic,
                    },
                    7 => Citizen {
                        bsn: Some(next_bsn()),
                        email: None,
                        phone: Some(phone),
                        topic,
                    },
                    8 => Citizen {
                        bsn: None,
                        email: Some(email),
                        phone: None,
                        topic,
                    },
                    _ => Citizen {
                        bsn: None,
                        email: None,
                        phone: Some(phone),
                        topic,
                    },
                }
            })
            .collect();
        Population { citizens, known }
    }

    /// A citizen who calls: half the time one of the known ones, otherwise anyone, the
    /// first of each group more often (some citizens return again and again).
    fn caller(&self, rng: &mut Rng) -> &Citizen {
        let pool = if self.known > 0 && rng.unit() < 0.5 {
            self.known
        } else {
            self.citizens.len()
        };
        &self.citizens[skewed(rng, pool)]
    }

    /// A known citizen (one with a recorded contact).
    fn known_one(&self, rng: &mut Rng) -> &Citizen {
        &self.citizens[skewed(rng, self.known.max(1).min(self.citizens.len()))]
    }
}

/// An index below `n`, the low ones more often (the square of a uniform).
fn skewed(rng: &mut Rng, n: usize) -> usize {
    let u = rng.unit();
    ((u * u) * n as f64) as usize % n.max(1)
}

fn timestamp(t: chrono::DateTime<chrono::Utc>) -> prost_types::Timestamp {
    prost_types::Timestamp {
        seconds: t.timestamp(),
        nanos: i32::try_from(t.timestamp_subsec_nanos()).unwrap_or(0),
    }
}

/// The channel of a contact: 50 % phone, 15 % counter, 20 % web, 15 % e-mail.
fn channel(rng: &mut Rng) -> pb::Channel {
    match rng.below(20) {
        0..=9 => pb::Channel::Phone,
        10..=12 => pb::Channel::Counter,
        13..=16 => pb::Channel::Web,
        _ => pb::Channel::Email,
    }
}

fn contact_start(
    citizen: &Citizen,
    channel: pb::Channel,
    started: chrono::DateTime<chrono::Utc>,
) -> pb::ContactStart {
    pb::ContactStart {
        channel: channel as i32,
        direction: pb::Direction::Inbound as i32,
        started_at: Some(timestamp(started)),
        identifiers: Some(citizen.identifiers()),
        topic: citizen.topic.to_owned(),
        case_id: String::new(),
        case_reference: String::new(),
        department: "klantcontactcentrum".to_owned(),
    }
}

/// How a contact ends: 65 % resolved, 12 % referred, 8 % callback (resolved for a
/// weak-only citizen, who cannot be called back), 5 % handed off, 10 % abandoned.
fn completion(
    rng: &mut Rng,
    citizen: &Citizen,
    channel: pb::Channel,
    started: chrono::DateTime<chrono::Utc>,
    ended: chrono::DateTime<chrono::Utc>,
) -> pb::ContactCompletion {
    let roll = rng.below(100);
    let mut outcome = match roll {
        0..=64 => pb::Outcome::Resolved,
        65..=76 => pb::Outcome::Referred,
        77..=84 => pb::Outcome::Callback,
        85..=89 => pb::Outcome::HandedOff,
        _ => pb::Outcome::Abandoned,
    };
    if outcome == pb::Outcome::Callback && citizen.bsn.is_none() {
        outcome = pb::Outcome::Resolved;
    }
    let abandoned = outcome == pb::Outcome::Abandoned;
    let answered = match channel {
        pb::Channel::Phone | pb::Channel::Counter if !abandoned => {
            Some(timestamp(started + chrono::Duration::seconds(20)))
        }
        _ => None,
    };
    pb::ContactCompletion {
        ended_at: Some(timestamp(ended)),
        answered_at: answered,
        outcome: outcome as i32,
        story: if abandoned {
            String::new()
        } else {
            format!(
                "Burger vroeg naar {}; uitgelegd wat nodig is en hoe het verder gaat.",
                citizen.topic
            )
        },
        department: String::new(),
        topic: String::new(),
        referred_to: (outcome == pb::Outcome::Referred).then(|| pb::ReferralTarget {
            target: Some(pb::referral_target::Target::Department(
                "vergunningen".to_owned(),
            )),
        }),
        due_at: None,
        story_repeated: !abandoned && rng.below(10) == 0,
    }
}

// ---------------------------------------------------------------------------------
// Measuring.

/// The RPCs the bench calls, in the order of the table.
const RPCS: [&str; 6] = [
    "StartContact",
    "CompleteContact",
    "RecordContact",
    "GetContext",
    "GetThermometer",
    "GetFigures",
];

/// What one side (the server or the baseline) measured.
#[derive(Debug)]
struct Measured {
    /// Latency in microseconds per RPC, successful calls only.
    latency: BTreeMap<&'static str, Histogram<u64>>,
    /// Failed calls per RPC, by gRPC status code name.
    errors: BTreeMap<&'static str, BTreeMap<String, u64>>,
    /// The measured window.
    seconds: f64,
    /// Operations the open loop could not send on time because the generator already
    /// had too many waiting (reported, not hidden).
    not_sent: u64,
    /// Every call sent, warm-up included (for CPU per call).
    calls_including_warmup: u64,
    /// The whole run: warm-up, window, and the answers still due after it (an open
    /// loop that falls behind runs on long after its window).
    wall_seconds: f64,
}

fn histogram() -> Histogram<u64> {
    // 1 µs to 60 s at 3 significant digits; cannot fail with these bounds.
    Histogram::new_with_bounds(1, 60_000_000, 3).unwrap_or_else(|_| {
        Histogram::new(3).unwrap_or_else(|_| unreachable!("3 significant digits are valid"))
    })
}

impl Measured {
    fn new() -> Measured {
        Measured {
            latency: RPCS.iter().map(|r| (*r, histogram())).collect(),
            errors: BTreeMap::new(),
            seconds: 0.0,
            not_sent: 0,
            calls_including_warmup: 0,
            wall_seconds: 0.0,
        }
    }

    fn ok(&self, rpc: &str) -> u64 {
        self.latency.get(rpc).map_or(0, Histogram::len)
    }

    fn failed(&self, rpc: &str) -> u64 {
        self.errors.get(rpc).map_or(0, |m| m.values().sum())
    }

    fn rate(&self, rpc: &str) -> f64 {
        if self.seconds > 0.0 {
            self.ok(rpc) as f64 / self.seconds
        } else {
            0.0
        }
    }

    fn quantile_ms(&self, rpc: &str, q: f64) -> Option<f64> {
        let h = self.latency.get(rpc)?;
        (!h.is_empty()).then(|| h.value_at_quantile(q) as f64 / 1000.0)
    }

    fn max_ms(&self, rpc: &str) -> Option<f64> {
        let h = self.latency.get(rpc)?;
        (!h.is_empty()).then(|| h.max() as f64 / 1000.0)
    }
}

/// Where calls record what happened; only calls planned inside the window count.
#[derive(Debug)]
struct Recorder {
    window_start: Instant,
    window_end: Instant,
    measured: Mutex<Measured>,
    sent: AtomicU64,
}

impl Recorder {
    /// Records one answer: counted when the operation was `planned` inside the window,
    /// its latency measured from `since`.
    fn record<T>(
        &self,
        rpc: &'static str,
        planned: Instant,
        since: Instant,
        answer: &Result<T, tonic::Status>,
    ) {
        self.sent.fetch_add(1, Ordering::Relaxed);
        if planned < self.window_start || planned >= self.window_end {
            return;
        }
        let micros = since.elapsed().as_micros().clamp(1, 60_000_000) as u64;
        let mut m = self.measured.lock().unwrap_or_else(|e| e.into_inner());
        match answer {
            Ok(_) => {
                if let Some(h) = m.latency.get_mut(rpc) {
                    h.saturating_record(micros);
                }
            }
            Err(status) => {
                *m.errors
                    .entry(rpc)
                    .or_default()
                    .entry(format!("{:?}", status.code()))
                    .or_default() += 1;
            }
        }
    }
}

/// One answer of each RPC, kept from the real server for the baseline to send back.
#[derive(Debug, Default)]
struct Canned {
    start: Mutex<Option<pb::StartContactResponse>>,
    complete: Mutex<Option<pb::CompleteContactResponse>>,
    record: Mutex<Option<pb::RecordContactResponse>>,
    context: Mutex<Option<pb::GetContextResponse>>,
    thermometer: Mutex<Option<pb::GetThermometerResponse>>,
    figures: Mutex<Option<pb::GetFiguresResponse>>,
}

/// Keeps the largest answer seen (a returning citizen's context is larger than a new
/// one's): the baseline then sends at least as many bytes as the typical real answer.
fn keep<T: Message + Clone>(slot: &Mutex<Option<T>>, answer: &T) {
    let mut slot = slot.lock().unwrap_or_else(|e| e.into_inner());
    if slot
        .as_ref()
        .is_none_or(|kept| kept.encoded_len() < answer.encoded_len())
    {
        *slot = Some(answer.clone());
    }
}

fn taken<T: Clone + Default>(slot: &Mutex<Option<T>>) -> T {
    slot.lock()
        .unwrap_or_else(|e| e.into_inner())
        .clone()
        .unwrap_or_default()
}

/// The canned answers, fixed for the baseline run.
#[derive(Debug, Clone, Default)]
struct Answers {
    start: pb::StartContactResponse,
    complete: pb::CompleteContactResponse,
    record: pb::RecordContactResponse,
    context: pb::GetContextResponse,
    thermometer: pb::GetThermometerResponse,
    figures: pb::GetFiguresResponse,
}

impl Canned {
    fn snapshot(canned: &Canned) -> Answers {
        Answers {
            start: taken(&canned.start),
            complete: taken(&canned.complete),
            record: taken(&canned.record),
            context: taken(&canned.context),
            thermometer: taken(&canned.thermometer),
            figures: taken(&canned.figures),
        }
    }
}

/// The clients of one connection.
#[derive(Clone)]
struct Clients {
    contacts: ContactServiceClient<Channel>,
    parties: PartyServiceClient<Channel>,
    figures: FigureServiceClient<Channel>,
}

impl Clients {
    fn new(channel: &Channel) -> Clients {
        Clients {
            contacts: ContactServiceClient::new(channel.clone()),
            parties: PartyServiceClient::new(channel.clone()),
            figures: FigureServiceClient::new(channel.clone()),
        }
    }
}

/// One operation of a mix.
#[derive(Debug, Clone, Copy)]
enum Op {
    StartComplete,
    Context,
    Record,
    Figures,
}

fn choose(mix: Mix, rng: &mut Rng) -> Op {
    match mix {
        Mix::StartComplete => Op::StartComplete,
        Mix::Context => Op::Context,
        Mix::Record => Op::Record,
        Mix::Figures => Op::Figures,
        Mix::Mixed => match rng.below(1000) {
            0..=479 => Op::StartComplete,
            480..=879 => Op::Context,
            880..=989 => Op::Record,
            _ => Op::Figures,
        },
    }
}

/// What every call of a run shares.
struct Shared {
    auth: Auth,
    population: Arc<Population>,
    recorder: Recorder,
    canned: Option<Arc<Canned>>,
    run_id: String,
    sequence: AtomicU64,
}

impl Shared {
    fn request_id(&self, side: &str) -> String {
        let n = self.sequence.fetch_add(1, Ordering::Relaxed);
        format!("bench-{}-{side}-{n}", self.run_id)
    }

    fn keep<T: Message + Clone>(
        &self,
        slot: impl Fn(&Canned) -> &Mutex<Option<T>>,
        answer: &Result<tonic::Response<T>, tonic::Status>,
    ) {
        if let (Some(canned), Ok(answer)) = (&self.canned, answer) {
            keep(slot(canned), answer.get_ref());
        }
    }
}

/// Carries out one operation planned at `planned`.
async fn perform(shared: &Shared, clients: &mut Clients, op: Op, rng: &mut Rng, planned: Instant) {
    let auth = &shared.auth;
    let recorder = &shared.recorder;
    let side = if shared.canned.is_some() {
        "real"
    } else {
        "base"
    };
    match op {
        Op::StartComplete => {
            let citizen = shared.population.caller(rng);
            let channel = channel(rng);
            let now = chrono::Utc::now();
            let started = now - chrono::Duration::minutes(4);
            let start = pb::StartContactRequest {
                request_id: shared.request_id(side),
                start: Some(contact_start(citizen, channel, started)),
            };
            let answer = clients.contacts.start_contact(auth.request(start)).await;
            recorder.record("StartContact", planned, planned, &answer);
            shared.keep(|c| &c.start, &answer);
            let Some(contact_id) = answer
                .ok()
                .and_then(|a| a.into_inner().contact)
                .map(|c| c.id)
            else {
                return;
            };
            let complete = pb::CompleteContactRequest {
                request_id: shared.request_id(side),
                contact_id,
                completion: Some(completion(rng, citizen, channel, started, now)),
            };
            let sent = Instant::now();
            let answer = clients
                .contacts
                .complete_contact(auth.request(complete))
                .await;
            // Counted in the window by the pair's plan, measured from its own sending.
            recorder.record("CompleteContact", planned, sent, &answer);
            shared.keep(|c| &c.complete, &answer);
        }
        Op::Record => {
            let citizen = shared.population.caller(rng);
            let channel = channel(rng);
            let now = chrono::Utc::now();
            let started = now - chrono::Duration::minutes(6);
            let record = pb::RecordContactRequest {
                request_id: shared.request_id(side),
                start: Some(contact_start(citizen, channel, started)),
                completion: Some(completion(rng, citizen, channel, started, now)),
                context_seen: true,
            };
            let answer = clients.contacts.record_contact(auth.request(record)).await;
            recorder.record("RecordContact", planned, planned, &answer);
            shared.keep(|c| &c.record, &answer);
        }
        Op::Context => {
            let citizen = shared.population.known_one(rng);
            let ask = pb::GetContextRequest {
                identifiers: Some(citizen.identifiers()),
                as_of: None,
            };
            let answer = clients.parties.get_context(auth.request(ask)).await;
            recorder.record("GetContext", planned, planned, &answer);
            shared.keep(|c| &c.context, &answer);
        }
        Op::Figures => {
            let period = this_month();
            if rng.below(2) == 0 {
                let ask = pb::GetThermometerRequest {
                    period: Some(period),
                };
                let answer = clients.figures.get_thermometer(auth.request(ask)).await;
                recorder.record("GetThermometer", planned, planned, &answer);
                shared.keep(|c| &c.thermometer, &answer);
            } else {
                let ask = pb::GetFiguresRequest {
                    period: Some(period),
                    ..Default::default()
                };
                let answer = clients.figures.get_figures(auth.request(ask)).await;
                recorder.record("GetFigures", planned, planned, &answer);
                shared.keep(|c| &c.figures, &answer);
            }
        }
    }
}

/// The current month (UTC dates; the server reads them in the tenant's calendar).
fn this_month() -> pb::Period {
    use chrono::Datelike;
    let today = chrono::Utc::now().date_naive();
    let (year, month) = (today.year(), today.month() as i32);
    let (next_year, next_month) = if month == 12 {
        (year + 1, 1)
    } else {
        (year, month + 1)
    };
    pb::Period {
        start_date: Some(pb::Date {
            year,
            month,
            day: 1,
        }),
        end_date: Some(pb::Date {
            year: next_year,
            month: next_month,
            day: 1,
        }),
        as_of: None,
    }
}

/// Most operations an open loop keeps waiting before it counts the next as not sent.
const MAX_IN_FLIGHT: usize = 20_000;

/// Runs the load against `channels` and returns what was measured.
async fn drive(
    channels: &[Channel],
    auth: &Auth,
    population: &Arc<Population>,
    load: &Load,
    run_id: &str,
    canned: Option<Arc<Canned>>,
    seed: u64,
) -> Measured {
    let begin = Instant::now();
    let window_start = begin + load.warmup;
    let window_end = window_start + load.duration;
    let shared = Arc::new(Shared {
        auth: auth.clone(),
        population: Arc::clone(population),
        recorder: Recorder {
            window_start,
            window_end,
            measured: Mutex::new(Measured::new()),
            sent: AtomicU64::new(0),
        },
        canned,
        run_id: run_id.to_owned(),
        sequence: AtomicU64::new(0),
    });
    let clients: Vec<Clients> = channels.iter().map(Clients::new).collect();
    let mut not_sent = 0u64;
    match load.rate {
        None => {
            let mut workers = Vec::new();
            for w in 0..load.concurrency {
                let shared = Arc::clone(&shared);
                let mut clients = clients[w % clients.len()].clone();
                let mix = load.mix;
                let mut rng = Rng(seed.wrapping_mul(1_000_003).wrapping_add(w as u64));
                workers.push(tokio::spawn(async move {
                    while Instant::now() < window_end {
                        let op = choose(mix, &mut rng);
                        perform(&shared, &mut clients, op, &mut rng, Instant::now()).await;
                    }
                }));
            }
            for w in workers {
                let _ = w.await;
            }
        }
        Some(rate) => {
            let interval = Duration::from_secs_f64(1.0 / rate);
            let in_flight = Arc::new(AtomicUsize::new(0));
            let mut rng = Rng(seed.wrapping_mul(7_000_003));
            let mut tasks = tokio::task::JoinSet::new();
            let mut n: u64 = 0;
            'plan: loop {
                let now = Instant::now();
                loop {
                    let planned = begin + interval.mul_f64(n as f64);
                    if planned >= window_end {
                        break 'plan;
                    }
                    if planned > now {
                        tokio::time::sleep_until(planned.into()).await;
                        break;
                    }
                    n += 1;
                    if in_flight.load(Ordering::Relaxed) >= MAX_IN_FLIGHT {
                        if planned >= window_start {
                            not_sent += 1;
                        }
                        continue;
                    }
                    let op = choose(load.mix, &mut rng);
                    let mut op_rng = Rng(rng.next());
                    let shared = Arc::clone(&shared);
                    let mut clients = clients[(n as usize) % clients.len()].clone();
                    let in_flight = Arc::clone(&in_flight);
                    in_flight.fetch_add(1, Ordering::Relaxed);
                    tasks.spawn(async move {
                        perform(&shared, &mut clients, op, &mut op_rng, planned).await;
                        in_flight.fetch_sub(1, Ordering::Relaxed);
                    });
                }
                // Reap what finished, so the set does not grow with the run.
                while tasks.try_join_next().is_some() {}
            }
            while tasks.join_next().await.is_some() {}
        }
    }
    let mut measured = std::mem::replace(
        &mut *shared
            .recorder
            .measured
            .lock()
            .unwrap_or_else(|e| e.into_inner()),
        Measured::new(),
    );
    measured.seconds = load.duration.as_secs_f64();
    measured.not_sent = not_sent;
    measured.calls_including_warmup = shared.recorder.sent.load(Ordering::Relaxed);
    measured.wall_seconds = begin.elapsed().as_secs_f64();
    measured
}

/// Records one contact for each of the first `known` citizens, 8 at a time.
async fn prefill(
    channels: &[Channel],
    auth: &Auth,
    population: &Arc<Population>,
    known: usize,
    run_id: &str,
) -> Result<(), BoxError> {
    let next = Arc::new(AtomicUsize::new(0));
    let mut workers = tokio::task::JoinSet::new();
    for w in 0..8 {
        let mut client = ContactServiceClient::new(channels[w % channels.len()].clone());
        let auth = auth.clone();
        let population = Arc::clone(population);
        let next = Arc::clone(&next);
        let run_id = run_id.to_owned();
        workers.spawn(async move {
            let mut rng = Rng(w as u64);
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= known {
                    return Ok::<(), tonic::Status>(());
                }
                let citizen = &population.citizens[i];
                let channel = channel(&mut rng);
                let ended = chrono::Utc::now() - chrono::Duration::hours(1);
                let started = ended - chrono::Duration::minutes(5);
                let record = pb::RecordContactRequest {
                    request_id: format!("bench-{run_id}-known-{i}"),
                    start: Some(contact_start(citizen, channel, started)),
                    completion: Some(completion(&mut rng, citizen, channel, started, ended)),
                    context_seen: false,
                };
                client.record_contact(auth.request(record)).await?;
            }
        });
    }
    while let Some(done) = workers.join_next().await {
        done.map_err(|e| format!("a prefill task failed: {e}"))?
            .map_err(|s| {
                format!(
                    "recording the known citizens failed: {:?}: {}",
                    s.code(),
                    s.message()
                )
            })?;
    }
    Ok(())
}

// ---------------------------------------------------------------------------------
// CPU and context switches, from /proc.

/// CPU time and context switches of a process (or of the baseline's threads).
#[derive(Debug, Clone, Default)]
struct ProcUsage {
    cpu_seconds: f64,
    context_switches: u64,
    /// Calls sent in the window the usage covers (set after subtraction).
    calls: u64,
}

/// Clock ticks per second of /proc's CPU times (USER_HZ, 100 on Linux).
const USER_HZ: f64 = 100.0;

impl ProcUsage {
    fn of_process(pid: u32) -> std::io::Result<ProcUsage> {
        Self::of_tasks(&format!("/proc/{pid}/task"), |_| true)
    }

    /// The threads of the baseline server (named `bench-baseline`) in this process.
    fn of_baseline_threads() -> std::io::Result<ProcUsage> {
        Self::of_tasks("/proc/self/task", |comm| comm.starts_with(BASELINE_THREAD))
    }

    fn of_tasks(dir: &str, keep: impl Fn(&str) -> bool) -> std::io::Result<ProcUsage> {
        let mut usage = ProcUsage::default();
        for entry in std::fs::read_dir(dir)? {
            let path = entry?.path();
            let Ok(stat) = std::fs::read_to_string(path.join("stat")) else {
                continue;
            };
            // `pid (comm) state ...`: comm may hold spaces, so split after the last ')'.
            let (Some(open), Some(close)) = (stat.find('('), stat.rfind(')')) else {
                continue;
            };
            if !keep(&stat[open + 1..close]) {
                continue;
            }
            let fields: Vec<&str> = stat[close + 2..].split_whitespace().collect();
            // After comm: state is field 3; utime 14 and stime 15 are at 11 and 12 here.
            let ticks: u64 = [11, 12]
                .iter()
                .filter_map(|&i| fields.get(i)?.parse::<u64>().ok())
                .sum();
            usage.cpu_seconds += ticks as f64 / USER_HZ;
            if let Ok(status) = std::fs::read_to_string(path.join("status")) {
                usage.context_switches += status
                    .lines()
                    .filter(|l| l.contains("ctxt_switches:"))
                    .filter_map(|l| l.split_whitespace().nth(1)?.parse::<u64>().ok())
                    .sum::<u64>();
            }
        }
        Ok(usage)
    }

    fn minus(&self, before: &ProcUsage) -> ProcUsage {
        ProcUsage {
            cpu_seconds: (self.cpu_seconds - before.cpu_seconds).max(0.0),
            context_switches: self
                .context_switches
                .saturating_sub(before.context_switches),
            calls: 0,
        }
    }

    fn cpu_ms_per_call(&self) -> Option<f64> {
        (self.calls > 0).then(|| self.cpu_seconds * 1000.0 / self.calls as f64)
    }

    fn switches_per_call(&self) -> Option<f64> {
        (self.calls > 0).then(|| self.context_switches as f64 / self.calls as f64)
    }
}

// ---------------------------------------------------------------------------------
// The empty handler.

/// The name of the baseline server's threads.
const BASELINE_THREAD: &str = "bench-baseline";

/// A tonic server on loopback, on a runtime of its own (two threads, like the server
/// on this machine), answering each RPC with its canned answer.
struct Baseline {
    addr: SocketAddr,
    stop: tokio::sync::oneshot::Sender<()>,
    thread: std::thread::JoinHandle<()>,
}

#[derive(Clone)]
struct Canned2(Arc<Answers>);

#[tonic::async_trait]
impl pb::contact_service_server::ContactService for Canned2 {
    async fn start_contact(
        &self,
        _: tonic::Request<pb::StartContactRequest>,
    ) -> Result<tonic::Response<pb::StartContactResponse>, tonic::Status> {
        Ok(tonic::Response::new(self.0.start.clone()))
    }
    async fn complete_contact(
        &self,
        _: tonic::Request<pb::CompleteContactRequest>,
    ) -> Result<tonic::Response<pb::CompleteContactResponse>, tonic::Status> {
        Ok(tonic::Response::new(self.0.complete.clone()))
    }
    async fn record_contact(
        &self,
        _: tonic::Request<pb::RecordContactRequest>,
    ) -> Result<tonic::Response<pb::RecordContactResponse>, tonic::Status> {
        Ok(tonic::Response::new(self.0.record.clone()))
    }
    async fn get_contact(
        &self,
        _: tonic::Request<pb::GetContactRequest>,
    ) -> Result<tonic::Response<pb::GetContactResponse>, tonic::Status> {
        Ok(tonic::Response::new(pb::GetContactResponse {
            contact: self.0.complete.contact.clone(),
        }))
    }
    async fn submit_feedback(
        &self,
        _: tonic::Request<pb::SubmitFeedbackRequest>,
    ) -> Result<tonic::Response<pb::SubmitFeedbackResponse>, tonic::Status> {
        Ok(tonic::Response::new(pb::SubmitFeedbackResponse::default()))
    }
}

#[tonic::async_trait]
impl pb::party_service_server::PartyService for Canned2 {
    async fn get_context(
        &self,
        _: tonic::Request<pb::GetContextRequest>,
    ) -> Result<tonic::Response<pb::GetContextResponse>, tonic::Status> {
        Ok(tonic::Response::new(self.0.context.clone()))
    }
    async fn erase_party(
        &self,
        _: tonic::Request<pb::ErasePartyRequest>,
    ) -> Result<tonic::Response<pb::ErasePartyResponse>, tonic::Status> {
        Ok(tonic::Response::new(pb::ErasePartyResponse::default()))
    }
    async fn list_party_contacts(
        &self,
        _: tonic::Request<pb::ListPartyContactsRequest>,
    ) -> Result<tonic::Response<pb::ListPartyContactsResponse>, tonic::Status> {
        Ok(tonic::Response::new(
            pb::ListPartyContactsResponse::default(),
        ))
    }
}

#[tonic::async_trait]
impl pb::figure_service_server::FigureService for Canned2 {
    async fn get_thermometer(
        &self,
        _: tonic::Request<pb::GetThermometerRequest>,
    ) -> Result<tonic::Response<pb::GetThermometerResponse>, tonic::Status> {
        Ok(tonic::Response::new(self.0.thermometer.clone()))
    }
    async fn get_figures(
        &self,
        _: tonic::Request<pb::GetFiguresRequest>,
    ) -> Result<tonic::Response<pb::GetFiguresResponse>, tonic::Status> {
        Ok(tonic::Response::new(self.0.figures.clone()))
    }
    async fn get_figure_series(
        &self,
        _: tonic::Request<pb::GetFigureSeriesRequest>,
    ) -> Result<tonic::Response<pb::GetFigureSeriesResponse>, tonic::Status> {
        Ok(tonic::Response::new(pb::GetFigureSeriesResponse::default()))
    }
}

impl Baseline {
    fn start(answers: Answers) -> Result<Baseline, BoxError> {
        Self::start_on(answers, SocketAddr::from(([127, 0, 0, 1], 0)))
    }

    fn start_on(answers: Answers, listen: SocketAddr) -> Result<Baseline, BoxError> {
        let listener = std::net::TcpListener::bind(listen)?;
        listener.set_nonblocking(true)?;
        let addr = listener.local_addr()?;
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name(BASELINE_THREAD)
            .enable_all()
            .build()?;
        let service = Canned2(Arc::new(answers));
        let thread = std::thread::Builder::new()
            .name(BASELINE_THREAD.to_owned())
            .spawn(move || {
                runtime.block_on(async move {
                    let Ok(listener) = tokio::net::TcpListener::from_std(listener) else {
                        eprintln!("midoffice bench: the baseline cannot listen");
                        return;
                    };
                    let incoming = tonic::transport::server::TcpIncoming::from(listener)
                        .with_nodelay(Some(true));
                    let served = tonic::transport::Server::builder()
                        .add_service(pb::contact_service_server::ContactServiceServer::new(
                            service.clone(),
                        ))
                        .add_service(pb::party_service_server::PartyServiceServer::new(
                            service.clone(),
                        ))
                        .add_service(pb::figure_service_server::FigureServiceServer::new(service))
                        .serve_with_incoming_shutdown(incoming, async {
                            let _ = stopped.await;
                        })
                        .await;
                    if let Err(e) = served {
                        eprintln!("midoffice bench: the baseline server failed: {e}");
                    }
                });
            })?;
        Ok(Baseline { addr, stop, thread })
    }

    fn stop(self) {
        let _ = self.stop.send(());
        let _ = self.thread.join();
    }
}

/// Arguments of `midoffice bench-baseline`.
#[derive(Debug, Args)]
pub struct BaselineArgs {
    /// Where to listen (loopback only is sensible: it answers anyone).
    #[arg(long, default_value = "127.0.0.1:50099")]
    pub listen: SocketAddr,
    /// A folder of canned answers, one file per RPC holding the encoded response
    /// message (`StartContact.bin`, `CompleteContact.bin`, `RecordContact.bin`,
    /// `GetContext.bin`, `GetThermometer.bin`, `GetFigures.bin`); a missing file
    /// answers the empty message.
    #[arg(long, value_name = "DIR")]
    pub answers: PathBuf,
}

/// The canned answer of `rpc` from `dir`, or the empty message when there is none.
fn read_answer<T: Message + Default>(dir: &std::path::Path, rpc: &str) -> Result<T, BoxError> {
    let path = dir.join(format!("{rpc}.bin"));
    match std::fs::read(&path) {
        Ok(bytes) => T::decode(bytes.as_slice())
            .map_err(|e| format!("{} is not an encoded {rpc} answer: {e}", path.display()).into()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(T::default()),
        Err(e) => Err(format!("cannot read {}: {e}", path.display()).into()),
    }
}

/// `midoffice bench-baseline`: the empty handler `bench` measures beside the server,
/// alone in this process, answering every RPC with a canned answer read from files,
/// until it is stopped (Ctrl-C or SIGTERM). For load generators other than `bench`
/// (`docs/benchmarks/independent/`), so their baseline is the same kind of endpoint.
pub async fn serve_baseline(args: BaselineArgs) -> Result<(), BoxError> {
    let dir = args.answers.as_path();
    let answers = Answers {
        start: read_answer(dir, "StartContact")?,
        complete: read_answer(dir, "CompleteContact")?,
        record: read_answer(dir, "RecordContact")?,
        context: read_answer(dir, "GetContext")?,
        thermometer: read_answer(dir, "GetThermometer")?,
        figures: read_answer(dir, "GetFigures")?,
    };
    let server = Baseline::start_on(answers, args.listen)?;
    eprintln!("midoffice bench-baseline: listening on {}", server.addr);
    let mut terminate = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = terminate.recv() => {}
    }
    tokio::task::spawn_blocking(move || server.stop()).await?;
    Ok(())
}

// ---------------------------------------------------------------------------------
// The report.

struct Report<'a> {
    endpoint: &'a str,
    load: &'a Load,
    connections: usize,
    citizens: usize,
    known: usize,
    real: &'a Measured,
    server_usage: Option<&'a ProcUsage>,
    baseline: Option<&'a Measured>,
    baseline_usage: Option<&'a ProcUsage>,
}

fn ms(v: Option<f64>) -> String {
    v.map_or_else(|| "-".to_owned(), |v| format!("{v:.2}"))
}

impl Report<'_> {
    /// The RPCs this run called (on either side).
    fn rpcs(&self) -> Vec<&'static str> {
        RPCS.iter()
            .copied()
            .filter(|r| self.real.ok(r) + self.real.failed(r) > 0)
            .collect()
    }

    fn table(&self) -> String {
        use std::fmt::Write;
        let mut out = String::new();
        let _ = writeln!(
            out,
            "\nmidoffice bench: mix {}, {}; {} connections, {} citizens ({} known)\nserver: {}",
            self.load.mix.name(),
            self.load.describe(),
            self.connections,
            self.citizens,
            self.known,
            self.endpoint
        );
        let _ = writeln!(
            out,
            "\n{:<16} {:>8} {:>6} {:>9} {:>8} {:>8} {:>8} {:>8} {:>8} | {:>10} {:>8} {:>8} | {:>7}",
            "rpc",
            "ok",
            "failed",
            "ok/s",
            "p50 ms",
            "p90 ms",
            "p99 ms",
            "p99.9 ms",
            "max ms",
            "base ok/s",
            "base p50",
            "base p99",
            "ratio"
        );
        for rpc in self.rpcs() {
            let r = self.real;
            let (base_rate, base_p50, base_p99, ratio) = match self.baseline {
                Some(b) => (
                    format!("{:.0}", b.rate(rpc)),
                    ms(b.quantile_ms(rpc, 0.5)),
                    ms(b.quantile_ms(rpc, 0.99)),
                    if b.rate(rpc) > 0.0 {
                        format!("{:.1} %", 100.0 * r.rate(rpc) / b.rate(rpc))
                    } else {
                        "-".to_owned()
                    },
                ),
                None => ("-".into(), "-".into(), "-".into(), "-".into()),
            };
            let _ = writeln!(
                out,
                "{:<16} {:>8} {:>6} {:>9.1} {:>8} {:>8} {:>8} {:>8} {:>8} | {:>10} {:>8} {:>8} | {:>7}",
                rpc,
                r.ok(rpc),
                r.failed(rpc),
                r.rate(rpc),
                ms(r.quantile_ms(rpc, 0.5)),
                ms(r.quantile_ms(rpc, 0.9)),
                ms(r.quantile_ms(rpc, 0.99)),
                ms(r.quantile_ms(rpc, 0.999)),
                ms(r.max_ms(rpc)),
                base_rate,
                base_p50,
                base_p99,
                ratio
            );
        }
        let total: u64 = self.rpcs().iter().map(|r| self.real.ok(r)).sum();
        let _ = writeln!(
            out,
            "{:<16} {:>8} {:>6} {:>9.1}",
            "all",
            total,
            self.rpcs().iter().map(|r| self.real.failed(r)).sum::<u64>(),
            total as f64 / self.real.seconds.max(f64::MIN_POSITIVE)
        );
        for (rpc, codes) in &self.real.errors {
            for (code, n) in codes {
                let _ = writeln!(out, "failed: {rpc} {code} × {n}");
            }
        }
        if let Some(b) = self.baseline {
            for (rpc, codes) in &b.errors {
                for (code, n) in codes {
                    let _ = writeln!(out, "baseline failed: {rpc} {code} × {n}");
                }
            }
        }
        if self.real.not_sent > 0 {
            let _ = writeln!(
                out,
                "not sent: {} operations (more than {MAX_IN_FLIGHT} waiting)",
                self.real.not_sent
            );
        }
        if let Some(u) = self.server_usage {
            let _ = writeln!(
                out,
                "server: {:.2} CPU s ({:.2} cores), {:.3} CPU ms and {:.1} context switches per call",
                u.cpu_seconds,
                u.cpu_seconds / self.real.wall_seconds.max(f64::MIN_POSITIVE),
                u.cpu_ms_per_call().unwrap_or(0.0),
                u.switches_per_call().unwrap_or(0.0)
            );
        }
        if let Some(u) = self.baseline_usage {
            let _ = writeln!(
                out,
                "baseline: {:.3} CPU ms and {:.1} context switches per call{}",
                u.cpu_ms_per_call().unwrap_or(0.0),
                u.switches_per_call().unwrap_or(0.0),
                match (
                    self.server_usage.and_then(ProcUsage::cpu_ms_per_call),
                    u.cpu_ms_per_call()
                ) {
                    (Some(s), Some(b)) if b > 0.0 =>
                        format!("; server CPU per call {:.1} × the baseline's", s / b),
                    _ => String::new(),
                }
            );
        }
        out
    }

    fn side(m: &Measured, rpcs: &[&'static str]) -> serde_json::Value {
        let per_rpc: serde_json::Map<String, serde_json::Value> = rpcs
            .iter()
            .map(|rpc| {
                let errors: serde_json::Map<String, serde_json::Value> = m
                    .errors
                    .get(rpc)
                    .map(|codes| {
                        codes
                            .iter()
                            .map(|(c, n)| (c.clone(), serde_json::json!(n)))
                            .collect()
                    })
                    .unwrap_or_default();
                (
                    (*rpc).to_owned(),
                    serde_json::json!({
                        "ok": m.ok(rpc),
                        "failed": m.failed(rpc),
                        "errors": errors,
                        "ok_per_second": m.rate(rpc),
                        "latency_ms": {
                            "p50": m.quantile_ms(rpc, 0.5),
                            "p90": m.quantile_ms(rpc, 0.9),
                            "p99": m.quantile_ms(rpc, 0.99),
                            "p999": m.quantile_ms(rpc, 0.999),
                            "max": m.max_ms(rpc),
                        },
                    }),
                )
            })
            .collect();
        serde_json::json!({
            "seconds": m.seconds,
            "wall_seconds": m.wall_seconds,
            "not_sent": m.not_sent,
            "rpcs": per_rpc,
        })
    }

    fn usage(u: Option<&ProcUsage>) -> serde_json::Value {
        match u {
            None => serde_json::Value::Null,
            Some(u) => serde_json::json!({
                "cpu_seconds": u.cpu_seconds,
                "context_switches": u.context_switches,
                "calls": u.calls,
                "cpu_ms_per_call": u.cpu_ms_per_call(),
                "context_switches_per_call": u.switches_per_call(),
            }),
        }
    }

    fn json(&self) -> serde_json::Value {
        let rpcs = self.rpcs();
        let ratios: serde_json::Map<String, serde_json::Value> = match self.baseline {
            None => serde_json::Map::new(),
            Some(b) => rpcs
                .iter()
                .map(|rpc| {
                    let ratio = (b.rate(rpc) > 0.0).then(|| self.real.rate(rpc) / b.rate(rpc));
                    ((*rpc).to_owned(), serde_json::json!(ratio))
                })
                .collect(),
        };
        serde_json::json!({
            "endpoint": self.endpoint,
            "mix": self.load.mix.name(),
            "loop": if self.load.rate.is_some() { "open" } else { "closed" },
            "concurrency": self.load.rate.is_none().then_some(self.load.concurrency),
            "rate": self.load.rate,
            "duration_seconds": self.load.duration.as_secs_f64(),
            "warmup_seconds": self.load.warmup.as_secs_f64(),
            "connections": self.connections,
            "citizens": self.citizens,
            "known": self.known,
            "server": Self::side(self.real, &rpcs),
            "server_usage": Self::usage(self.server_usage),
            "baseline": self.baseline.map(|b| Self::side(b, &rpcs)),
            "baseline_usage": Self::usage(self.baseline_usage),
            "ratio_to_baseline": ratios,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_parse_with_units() {
        assert_eq!(parse_duration("10s"), Ok(Duration::from_secs(10)));
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("2m"), Ok(Duration::from_secs(120)));
        assert_eq!(parse_duration("3"), Ok(Duration::from_secs(3)));
        assert!(parse_duration("3h").is_err());
        assert!(parse_duration("x").is_err());
    }

    #[test]
    fn the_population_is_valid_and_reproducible() {
        let a = Population::new(1000, 100, 7);
        let b = Population::new(1000, 100, 7);
        for (x, y) in a.citizens.iter().zip(&b.citizens) {
            assert_eq!(x.bsn, y.bsn);
            assert_eq!(x.phone, y.phone);
        }
        let with_bsn = a.citizens.iter().filter(|c| c.bsn.is_some()).count();
        assert!(
            (700..900).contains(&with_bsn),
            "{with_bsn} of 1000 with a BSN"
        );
        for c in &a.citizens {
            assert!(c.bsn.is_some() || c.email.is_some() || c.phone.is_some());
            if let Some(bsn) = &c.bsn {
                let parsed = midoffice_domain::identifier::Identifier::parse(
                    midoffice_domain::identifier::IdentifierKind::Bsn,
                    bsn,
                );
                assert!(parsed.is_ok(), "{bsn} is not a valid BSN");
            }
            if let Some(phone) = &c.phone {
                let parsed = midoffice_domain::identifier::Identifier::parse(
                    midoffice_domain::identifier::IdentifierKind::Phone,
                    phone,
                );
                assert!(parsed.is_ok(), "{phone} is not a valid phone number");
            }
        }
    }
}
