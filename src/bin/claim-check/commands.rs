//! The `claim-check` command's operations: each command's arguments (the clap definitions) in;
//! its output on standard output and its summary and warnings on standard error.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::Context as _;

use kafka_claim_check::consume::listing::{self, Listed, Query};
use kafka_claim_check::consume::{
    self, ResolveError, Resolved, Resolver, ResolverSettings, report,
};
use kafka_claim_check::decode::Decoder;
use kafka_claim_check::decode::registry::dir::SchemaDir;
use kafka_claim_check::decode::registry::{RegistryDecoder, RegistrySettings};
use kafka_claim_check::policy::{MAX_RESPONSE_BYTES, OffloadMode};
use kafka_claim_check::setup::Aws;
use kafka_claim_check::store::PayloadStore;
use kafka_claim_check::store::keys::{self, Kind};
use kafka_claim_check::{EnrichError, Enricher, Settings, json, record};

/// Where stored objects are: an S3 bucket, or the local directory store.
#[derive(clap::Args)]
pub struct StoreLocation {
    /// S3 bucket (overrides CLAIM_CHECK_BUCKET).
    #[arg(long)]
    pub bucket: Option<String>,
    /// Directory of the local store, used when no bucket is set.
    #[arg(long, default_value = "claim-check-store")]
    pub store_dir: PathBuf,
}

/// What `claim-check list` lists: claim checks (`payloads`), dead letters, or both (`all`).
#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Kinds {
    // Plain comments: doc comments would become help texts.
    // Claim checks.
    Payloads,
    // Dead letters.
    DeadLetters,
    // Both.
    All,
}

/// The exit status for an error: 3 bucket not allowed, 4 object missing, 5 size or checksum
/// mismatch, 6 not a claim-check event, 1 anything else.
pub fn exit_code(err: &anyhow::Error) -> u8 {
    match err.downcast_ref::<ResolveError>() {
        Some(ResolveError::BucketNotAllowed { .. }) => 3,
        Some(ResolveError::ObjectMissing { .. }) => 4,
        Some(ResolveError::SizeMismatch { .. } | ResolveError::ChecksumMismatch { .. }) => 5,
        Some(ResolveError::NotAClaimCheck(_)) => 6,
        _ => 1,
    }
}

/// The `invoke` command's arguments.
#[derive(clap::Args)]
pub struct Invoke {
    /// The batch file, or - for standard input.
    pub file: PathBuf,
    /// Print the events on one line, as the function returns them.
    #[arg(long)]
    pub compact: bool,
    /// Directory of the local store, used when no bucket is set.
    #[arg(long, default_value = "claim-check-store")]
    pub store_dir: PathBuf,
    /// S3 bucket to store claim checks in (overrides CLAIM_CHECK_BUCKET).
    #[arg(long)]
    pub bucket: Option<String>,
    /// Per-event limit in bytes (overrides CLAIM_CHECK_MAX_EVENT_BYTES).
    #[arg(long)]
    pub max_event_bytes: Option<usize>,
    /// Batch limit in bytes (overrides CLAIM_CHECK_MAX_BATCH_BYTES).
    #[arg(long)]
    pub max_batch_bytes: Option<usize>,
    /// The pipe's target, whose limits apply (overrides CLAIM_CHECK_TARGET): event-bus, sqs,
    /// sns, lambda, step-functions, kinesis, firehose or cloudwatch-logs.
    #[arg(long, value_name = "KIND")]
    pub target: Option<String>,
    /// Offload every value, not only those that do not fit (CLAIM_CHECK_OFFLOAD=always).
    #[arg(long)]
    pub always: bool,
    /// Decode registry-framed values with schemas from this directory instead of a registry:
    /// files named by schema id (7.avsc, 7.proto, 7.json; <uuid>.avsc for a Glue schema
    /// version), Protobuf imports beside them.
    #[arg(long, value_name = "DIR")]
    pub schemas: Option<PathBuf>,
    /// Print no summary on standard error.
    #[arg(long, short)]
    pub quiet: bool,
}

/// The `resolve` command's arguments.
#[derive(clap::Args)]
pub struct Resolve {
    /// The event file, or - for standard input.
    pub file: PathBuf,
    /// Buckets (or bucket/key-prefix) that may be read; repeatable. Default:
    /// CLAIM_CHECK_ALLOWED_BUCKETS (comma-separated), else CLAIM_CHECK_BUCKET.
    #[arg(long = "allow", value_name = "BUCKET[/PREFIX]")]
    pub allow: Vec<String>,
    /// Directory of the local store, used when no bucket is allowed.
    #[arg(long, default_value = "claim-check-store")]
    pub store_dir: PathBuf,
    /// Print a JSON description of each event with its decoded value, instead of the bytes.
    #[arg(long, conflicts_with_all = ["output", "output_dir"])]
    pub json: bool,
    /// Write the payload bytes of a single event to this file instead of standard output.
    #[arg(long, short)]
    pub output: Option<PathBuf>,
    /// Write one file per event into this directory: NNNN-TOPIC-PARTITION-OFFSET.EXT, NNNN the
    /// event's position in FILE, EXT json, txt or bin.
    #[arg(long, conflicts_with = "output")]
    pub output_dir: Option<PathBuf>,
    /// Decode claim-checked values a schema registry framed (Avro, JSON Schema or Protobuf:
    /// their valueEncoding names the codec) to the JSON an inline event carries, with schemas
    /// from the registry CLAIM_CHECK_SCHEMA_REGISTRY names or from --schemas (default: print
    /// the record's bytes as stored).
    #[arg(long)]
    pub decode: bool,
    /// With --decode: schemas from this directory instead of a registry (as `invoke --schemas`).
    #[arg(long, value_name = "DIR", requires = "decode")]
    pub schemas: Option<PathBuf>,
}

/// The `list` command's arguments.
#[derive(clap::Args)]
pub struct List {
    #[command(flatten)]
    pub store: StoreLocation,
    /// What to list.
    #[arg(long, value_enum, default_value_t = Kinds::All)]
    pub kind: Kinds,
    /// Only this topic.
    #[arg(long)]
    pub topic: Option<String>,
    /// Only this partition (needs --topic).
    #[arg(long, requires = "topic")]
    pub partition: Option<i32>,
    /// Only offsets from this one on.
    #[arg(long)]
    pub from_offset: Option<i64>,
    /// Only offsets up to this one.
    #[arg(long)]
    pub to_offset: Option<i64>,
    /// Only objects written since: a time (2026-11-26T10:00:00Z) or an age (2h, 30m, 7days).
    #[arg(long)]
    pub since: Option<String>,
    /// One JSON object per line instead of a table.
    #[arg(long)]
    pub json: bool,
    /// Stop after this many objects.
    #[arg(long)]
    pub limit: Option<usize>,
}

/// The `show` command's arguments.
#[derive(clap::Args)]
pub struct Show {
    /// The object key (as in an event's claimCheck.key or a listing).
    pub key: String,
    #[command(flatten)]
    pub store: StoreLocation,
    /// Print the description as JSON.
    #[arg(long)]
    pub json: bool,
    /// Also write the stored bytes, exactly, to this file.
    #[arg(long, short)]
    pub output: Option<PathBuf>,
}

/// The `reemit` command's arguments.
#[derive(clap::Args)]
pub struct Reemit {
    /// The dead letter's key.
    pub key: String,
    #[command(flatten)]
    pub store: StoreLocation,
    /// A fixed version of the record (a JSON object) to use instead of the stored one.
    #[arg(long)]
    pub record: Option<PathBuf>,
    /// Print the events on one line.
    #[arg(long)]
    pub compact: bool,
    /// Decode registry-framed values with schemas from this directory (as `invoke --schemas`).
    #[arg(long, value_name = "DIR")]
    pub schemas: Option<PathBuf>,
}

/// Runs `claim-check invoke`.
///
/// # Errors
/// What the command reports on standard error.
pub async fn invoke(args: Invoke) -> anyhow::Result<()> {
    let Invoke {
        file,
        compact,
        store_dir,
        bucket,
        max_event_bytes,
        max_batch_bytes,
        target,
        always,
        schemas,
        quiet,
    } = args;
    let flags = [
        ("CLAIM_CHECK_BUCKET", "--bucket", bucket),
        ("CLAIM_CHECK_TARGET", "--target", target),
        (
            "CLAIM_CHECK_MAX_EVENT_BYTES",
            "--max-event-bytes",
            max_event_bytes.map(|n| n.to_string()),
        ),
        (
            "CLAIM_CHECK_MAX_BATCH_BYTES",
            "--max-batch-bytes",
            max_batch_bytes.map(|n| n.to_string()),
        ),
    ];
    let mut settings = Settings::from_lookup(|name| {
        let flag = flags.iter().find(|(v, ..)| *v == name);
        flag.and_then(|(.., value)| value.clone())
            .or_else(|| std::env::var(name).ok())
    })
    .map_err(|err| {
        match flags
            .iter()
            .find(|(v, _, value)| *v == err.variable && value.is_some())
        {
            // The user typed a flag, not the variable: name the flag.
            Some((_, flag, _)) => {
                anyhow::anyhow!("{flag} {}: expected {}", err.value, err.expected)
            }
            None => err.into(),
        }
    })?;
    if always {
        settings.offload = OffloadMode::Always;
    }
    let request = read_batch(&file)?;
    if request.len() > MAX_RESPONSE_BYTES {
        eprintln!(
            "claim-check: warning: the batch is {} bytes; EventBridge Pipes sends an enrichment at most 6 MB ({MAX_RESPONSE_BYTES} bytes), so no pipe can send this batch",
            request.len()
        );
    }
    let aws = Aws::new();
    let decoder = decoder(&aws, schemas.as_deref()).await?;
    let store = aws.store(&settings, &store_dir).await?;
    let location = store.uri(&settings.key_prefix);
    let enriched = Enricher::with_decoder(settings, store, decoder)
        .enrich(&request, None)
        .await
        .map_err(|err| match err {
            EnrichError::TargetBatchSize { .. } => {
                anyhow::anyhow!("{err} (or, locally, --target KIND for another target's limits)")
            }
            err => err.into(),
        })?;
    print_events(&enriched.body(), compact)?;
    if !quiet {
        let s = &enriched.summary;
        eprintln!(
            "{} record(s): {} inline, {} claim check(s), {} dead letter(s); {} object(s) written, {} already there, under {location}",
            s.records,
            s.inline,
            s.offloaded,
            s.dead_lettered,
            s.objects_stored - s.objects_existing,
            s.objects_existing
        );
    }
    Ok(())
}

/// Runs `claim-check resolve`.
///
/// # Errors
/// What the command reports on standard error.
pub async fn resolve(args: Resolve) -> anyhow::Result<()> {
    let Resolve {
        file,
        allow,
        store_dir,
        json,
        output,
        output_dir,
        decode,
        schemas,
    } = args;
    let mut entries = allow;
    if entries.is_empty() {
        entries = ResolverSettings::from_lookup(|name| std::env::var(name).ok()).allowed;
    }
    // The local store needs no settings; S3 needs the encryption and owner ones.
    let settings = match entries.is_empty() {
        true => Settings::default(),
        false => Settings::from_env()?,
    };
    let aws = Aws::new();
    let (store, allowlist) = aws.resolver_store(&settings, &entries, &store_dir).await?;
    let input = String::from_utf8(read_input(&file, "event file")?)
        .context("the events are not UTF-8 text")?;
    let mut resolved = Resolver::new(store, allowlist)
        .resolve_all(&input)
        .await
        .map_err(|(index, err)| anyhow::Error::new(err).context(format!("event {index}")))?;
    if decode {
        let decoder = match &schemas {
            Some(dir) => schema_dir_decoder(dir)?,
            None => match aws.registry_decoder(&RegistrySettings::from_env()?).await? {
                Some(decoder) => decoder,
                None => anyhow::bail!(
                    "--decode needs schemas: --schemas DIR, or CLAIM_CHECK_SCHEMA_REGISTRY (confluent or glue) and its settings"
                ),
            },
        };
        for (index, r) in resolved.iter_mut().enumerate() {
            r.decode_registry_value(&decoder)
                .await
                .with_context(|| format!("event {index}"))?;
        }
    }
    write_resolved(&resolved, json, output, output_dir)
}

/// Runs `claim-check list`.
///
/// # Errors
/// What the command reports on standard error.
pub async fn list(args: List) -> anyhow::Result<()> {
    let List {
        store,
        kind,
        topic,
        partition,
        from_offset,
        to_offset,
        since,
        json,
        limit,
    } = args;
    let (settings, store) = open_store(&store, &Aws::new()).await?;
    let query = Query {
        kinds: match kind {
            Kinds::Payloads => vec![Kind::Payload],
            Kinds::DeadLetters => vec![Kind::DeadLetter],
            Kinds::All => vec![Kind::Payload, Kind::DeadLetter],
        },
        topic,
        partition,
        from_offset,
        to_offset,
        since: since.as_deref().map(parse_since).transpose()?,
        limit: limit.unwrap_or(usize::MAX),
    };
    let mut stdout = std::io::stdout().lock();
    if !json {
        writeln!(stdout, "{}", report::listing_header())?;
    }
    let shown =
        listing::list::<anyhow::Error>(store.as_ref(), &settings.key_prefix, &query, |listed| {
            match listed {
                Listed::Match(parsed, object) => {
                    writeln!(stdout, "{}", report::listing_line(parsed, object, json))?
                }
                Listed::Progress(seen) => eprintln!("… {seen} objects listed"),
            }
            Ok(())
        })
        .await?;
    stdout.flush()?;
    eprintln!(
        "{shown} object(s) under {}",
        store.uri(&settings.key_prefix)
    );
    Ok(())
}

/// Runs `claim-check show`.
///
/// # Errors
/// What the command reports on standard error.
pub async fn show(args: Show) -> anyhow::Result<()> {
    let Show {
        key,
        store,
        json,
        output,
    } = args;
    let (settings, store) = open_store(&store, &Aws::new()).await?;
    let object = store.get(store.bucket(), &key).await?;
    let parsed = keys::parse_key(&settings.key_prefix, &key);
    let check = parsed
        .as_ref()
        .map(|p| consume::verify(store.bucket(), &key, &object.body, None, &p.sha256));
    if let Some(path) = &output {
        std::fs::write(path, &object.body)
            .with_context(|| format!("could not write {}", path.display()))?;
    }
    let out = report::describe_object(
        &key,
        &store.uri(&key),
        parsed.as_ref(),
        &object,
        matches!(check, Some(Ok(()))),
    );
    write_stdout(&if json { out } else { json::pretty(&out) })?;
    match check {
        Some(result) => Ok(result?),
        None => {
            eprintln!(
                "claim-check: the key is not one this function writes under {:?}: nothing to verify against",
                settings.key_prefix
            );
            Ok(())
        }
    }
}

/// Runs `claim-check reemit`.
///
/// # Errors
/// What the command reports on standard error.
pub async fn reemit(args: Reemit) -> anyhow::Result<()> {
    let Reemit {
        key,
        store,
        record,
        compact,
        schemas,
    } = args;
    let aws = Aws::new();
    let (settings, store) = open_store(&store, &aws).await?;
    let parsed = keys::parse_key(&settings.key_prefix, &key)
        .filter(|p| p.kind == Kind::DeadLetter)
        .ok_or_else(|| anyhow::anyhow!("{key} is not a dead letter under {:?} (to write a stored payload back out, use `claim-check show KEY -o FILE`)", settings.key_prefix))?;
    let raw = match &record {
        Some(path) => {
            let raw = std::fs::read(path)
                .with_context(|| format!("could not read {}", path.display()))?;
            if raw.iter().find(|b| !b.is_ascii_whitespace()) != Some(&b'{') {
                anyhow::bail!(
                    "--record {}: expected one record, a JSON object as the dead letter stores it (`claim-check show {key} -o FILE` writes it out to edit)",
                    path.display()
                );
            }
            raw
        }
        None => {
            let object = store.get(store.bucket(), &key).await?;
            consume::verify(store.bucket(), &key, &object.body, None, &parsed.sha256)?;
            object.body.to_vec()
        }
    };
    let request = [&b"["[..], &raw, b"]"].concat();
    let decoder = decoder(&aws, schemas.as_deref()).await?;
    let enriched = Enricher::with_decoder(settings, store, decoder)
        .enrich(&request, None)
        .await?;
    print_events(&enriched.body(), compact)?;
    if enriched.summary.dead_lettered > 0 {
        eprintln!(
            "claim-check: the record is still a dead letter (see error.code); fix it and pass it with --record"
        );
    }
    Ok(())
}

/// The settings from the environment and the store the flags name.
async fn open_store(
    args: &StoreLocation,
    aws: &Aws,
) -> anyhow::Result<(Settings, Arc<dyn PayloadStore>)> {
    let settings = Settings::from_lookup(|name| match name {
        "CLAIM_CHECK_BUCKET" => args.bucket.clone().or_else(|| std::env::var(name).ok()),
        _ => std::env::var(name).ok(),
    })?;
    let store = aws.store(&settings, &args.store_dir).await?;
    Ok((settings, store))
}

/// The events on standard output: pretty, or exactly as the function returns them.
fn print_events(body: &[u8], compact: bool) -> std::io::Result<()> {
    write_stdout(&if compact {
        body.to_vec()
    } else {
        json::pretty(body)
    })
}

fn write_stdout(bytes: &[u8]) -> std::io::Result<()> {
    let mut stdout = std::io::stdout().lock();
    stdout.write_all(bytes)?;
    stdout.write_all(b"\n")?;
    stdout.flush()
}

fn parse_since(text: &str) -> anyhow::Result<std::time::SystemTime> {
    if let Ok(time) = humantime::parse_rfc3339_weak(text) {
        return Ok(time);
    }
    let age = humantime::parse_duration(text).with_context(|| {
        format!("--since {text:?}: expected a time (2026-11-26T10:00:00Z) or an age (2h, 30m)")
    })?;
    Ok(std::time::SystemTime::now() - age)
}

fn write_resolved(
    resolved: &[Resolved],
    json: bool,
    output: Option<PathBuf>,
    output_dir: Option<PathBuf>,
) -> anyhow::Result<()> {
    if json {
        let described: Vec<Vec<u8>> = resolved.iter().map(report::describe_resolved).collect();
        let out = match described.as_slice() {
            [one] => one.clone(),
            many => [&b"["[..], &many.join(&b","[..]), b"]"].concat(),
        };
        return Ok(write_stdout(&json::pretty(&out))?);
    }
    if let Some(dir) = output_dir {
        std::fs::create_dir_all(&dir)
            .with_context(|| format!("could not create {}", dir.display()))?;
        for (i, r) in resolved.iter().enumerate() {
            let path = dir.join(report::resolved_file_name(i, r));
            std::fs::write(&path, r.bytes.as_deref().unwrap_or_default())
                .with_context(|| format!("could not write {}", path.display()))?;
        }
        eprintln!("{} payload(s) written to {}", resolved.len(), dir.display());
        return Ok(());
    }
    let [one] = resolved else {
        anyhow::bail!(
            "{} events resolved: use --output-dir DIR for one file each, or --json",
            resolved.len()
        );
    };
    let Some(bytes) = one.bytes.as_deref() else {
        anyhow::bail!("the event is a tombstone: its value is null (use --json to see it)");
    };
    match output {
        Some(path) => std::fs::write(&path, bytes)
            .with_context(|| format!("could not write {}", path.display()))?,
        None => {
            let mut stdout = std::io::stdout().lock();
            stdout.write_all(bytes)?;
            stdout.flush()?;
        }
    }
    Ok(())
}

/// The decoder for values: schemas from `schemas` when given, else what the registry settings
/// name (none: plain classification).
pub async fn decoder(aws: &Aws, schemas: Option<&Path>) -> anyhow::Result<Arc<dyn Decoder>> {
    Ok(match schemas {
        Some(dir) => Arc::new(schema_dir_decoder(dir)?),
        None => aws.decoder(&RegistrySettings::from_env()?).await?,
    })
}

/// The decoder of framed values with the schemas in `dir`.
fn schema_dir_decoder(dir: &Path) -> anyhow::Result<RegistryDecoder> {
    let settings = RegistrySettings::for_schema_dir(|name| std::env::var(name).ok())?;
    let schemas = SchemaDir::open(dir).with_context(|| format!("--schemas {}", dir.display()))?;
    Ok(schemas.decoder(&settings))
}

/// A Pipes batch from `file`: as written, or converted from Lambda's event-source-mapping event
/// (records grouped by topic-partition), with a note saying so.
fn read_batch(file: &Path) -> anyhow::Result<Vec<u8>> {
    let body = read_input(file, "batch file")?;
    if let Some((batch, records, groups)) = record::esm::to_pipes_batch(&body) {
        eprintln!(
            "claim-check: note: {} is a Lambda event-source-mapping event; running its {records} record(s) from {groups} topic-partition(s) as the flat array EventBridge Pipes sends",
            name(file)
        );
        return Ok(batch);
    }
    Ok(body)
}

/// The bytes of `file` (`-`: standard input), refusing an empty one.
fn read_input(file: &Path, what: &str) -> anyhow::Result<Vec<u8>> {
    let body = if file.as_os_str() == "-" {
        let mut buf = Vec::new();
        std::io::stdin()
            .read_to_end(&mut buf)
            .with_context(|| format!("could not read the {what} from standard input"))?;
        buf
    } else {
        std::fs::read(file)
            .with_context(|| format!("could not read the {what} {}", file.display()))?
    };
    if body.iter().all(u8::is_ascii_whitespace) {
        anyhow::bail!(
            "{} is empty: expected {}",
            name(file),
            match what {
                "batch file" =>
                    "a Pipes batch, a JSON array of Kafka records (docs/local.md, \"Write your own batch\")",
                _ =>
                    "events the function wrote: one event, a whole EventBridge event, or a JSON array of them",
            }
        );
    }
    Ok(body)
}

fn name(file: &Path) -> String {
    match file.as_os_str() == "-" {
        true => "standard input".into(),
        false => file.display().to_string(),
    }
}
