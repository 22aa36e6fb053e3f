//! `claim-check`: run the enrichment pipeline locally, with no AWS account.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context as _;
use clap::{Parser, Subcommand};
use kafka_claim_check::config::OffloadMode;
use kafka_claim_check::encoding::{Encoding, classify};
use kafka_claim_check::encoding::{write_encoded, write_json_str};
use kafka_claim_check::keys::{self, Kind};
use kafka_claim_check::resolve::{Allowlist, Form, ResolveError, Resolved, Resolver};
use kafka_claim_check::store::{
    DirStore, LOCAL_BUCKET, ListedObject, PayloadStore, S3Store, causes, s3_client_from_env,
};
use kafka_claim_check::{Enricher, Settings};
use serde_json::json;
use sha2::{Digest, Sha256};

/// Claim-check enrichment for EventBridge Pipes with Kafka sources, run locally.
///
/// Settings come from the same CLAIM_CHECK_* environment variables as the Lambda function;
/// flags override them.
#[derive(Parser)]
#[command(version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the pipeline on a Pipes batch (a JSON array of Kafka records) and print the events.
    ///
    /// Without a bucket, objects go to a local directory (--store-dir). With a bucket
    /// (--bucket or CLAIM_CHECK_BUCKET), they go to S3, or to an S3-compatible server named by
    /// AWS_ENDPOINT_URL_S3.
    Invoke {
        /// The batch file, or - for standard input.
        file: PathBuf,
        /// Print the events on one line, as the function returns them.
        #[arg(long)]
        compact: bool,
        /// Directory of the local store, used when no bucket is set.
        #[arg(long, default_value = "claim-check-store")]
        store_dir: PathBuf,
        /// S3 bucket to store claim checks in (overrides CLAIM_CHECK_BUCKET).
        #[arg(long)]
        bucket: Option<String>,
        /// Per-event limit in bytes (overrides CLAIM_CHECK_MAX_EVENT_BYTES).
        #[arg(long)]
        max_event_bytes: Option<usize>,
        /// Batch limit in bytes (overrides CLAIM_CHECK_MAX_BATCH_BYTES).
        #[arg(long)]
        max_batch_bytes: Option<usize>,
        /// Offload every value, not only those that do not fit (CLAIM_CHECK_OFFLOAD=always).
        #[arg(long)]
        always: bool,
        /// Print no summary on standard error.
        #[arg(long, short)]
        quiet: bool,
    },
    /// Turn events back into payloads: inline values, claim checks (fetched and verified against
    /// their size and SHA-256) and dead letters (the raw record).
    ///
    /// FILE holds one event (a `detail` object or a whole EventBridge event) or a JSON array of
    /// them. Claim checks are read from S3 when buckets are allowed (--allow or
    /// CLAIM_CHECK_ALLOWED_BUCKETS), else from the local store (--store-dir).
    ///
    /// Exit status: 0 resolved; 3 bucket not allowed; 4 object missing; 5 size or checksum
    /// mismatch; 6 not a claim-check event; 1 any other error.
    Resolve {
        /// The event file, or - for standard input.
        file: PathBuf,
        /// Buckets (or bucket/key-prefix) that may be read; repeatable. Default:
        /// CLAIM_CHECK_ALLOWED_BUCKETS (comma-separated), else CLAIM_CHECK_BUCKET.
        #[arg(long = "allow", value_name = "BUCKET[/PREFIX]")]
        allow: Vec<String>,
        /// Directory of the local store, used when no bucket is allowed.
        #[arg(long, default_value = "claim-check-store")]
        store_dir: PathBuf,
        /// Print a JSON description of each event with its decoded value, instead of the bytes.
        #[arg(long, conflicts_with_all = ["output", "output_dir"])]
        json: bool,
        /// Write the payload bytes of a single event to this file instead of standard output.
        #[arg(long, short)]
        output: Option<PathBuf>,
        /// Write one file per event into this directory (TOPIC-PARTITION-OFFSET.EXT).
        #[arg(long, conflicts_with = "output")]
        output_dir: Option<PathBuf>,
    },
    /// List claim checks and dead letters by topic, partition, offset range and time.
    ///
    /// Reads the bucket (--bucket or CLAIM_CHECK_BUCKET) under CLAIM_CHECK_KEY_PREFIX, or the
    /// local store (--store-dir). Keys sort by offset within a partition.
    List {
        #[command(flatten)]
        store: StoreArgs,
        /// What to list.
        #[arg(long, value_enum, default_value_t = KindArg::All)]
        kind: KindArg,
        /// Only this topic.
        #[arg(long)]
        topic: Option<String>,
        /// Only this partition (needs --topic).
        #[arg(long, requires = "topic")]
        partition: Option<i32>,
        /// Only offsets from this one on.
        #[arg(long)]
        from_offset: Option<i64>,
        /// Only offsets up to this one.
        #[arg(long)]
        to_offset: Option<i64>,
        /// Only objects written since: a time (2026-11-26T10:00:00Z) or an age (2h, 30m, 7days).
        #[arg(long)]
        since: Option<String>,
        /// One JSON object per line instead of a table.
        #[arg(long)]
        json: bool,
        /// Stop after this many objects.
        #[arg(long)]
        limit: Option<usize>,
    },
    /// Show one stored object: what its key says, its checksum verified, and its content as an
    /// event would show it.
    Show {
        /// The object key (as in an event's claimCheck.key or a listing).
        key: String,
        #[command(flatten)]
        store: StoreArgs,
        /// Print the description as JSON.
        #[arg(long)]
        json: bool,
        /// Also write the stored bytes, exactly, to this file.
        #[arg(long, short)]
        output: Option<PathBuf>,
    },
    /// Print the events a dead letter produces now: its stored raw record (or a fixed version
    /// of it) run through the pipeline, ready to publish by hand.
    Reemit {
        /// The dead letter's key.
        key: String,
        #[command(flatten)]
        store: StoreArgs,
        /// A fixed version of the record (a JSON object) to use instead of the stored one.
        #[arg(long)]
        record: Option<PathBuf>,
        /// Print the events on one line.
        #[arg(long)]
        compact: bool,
    },
}

/// Where stored objects are.
#[derive(clap::Args)]
struct StoreArgs {
    /// S3 bucket (overrides CLAIM_CHECK_BUCKET).
    #[arg(long)]
    bucket: Option<String>,
    /// Directory of the local store, used when no bucket is set.
    #[arg(long, default_value = "claim-check-store")]
    store_dir: PathBuf,
}

#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum KindArg {
    Payloads,
    DeadLetters,
    All,
}

#[tokio::main]
async fn main() -> ExitCode {
    match run(Cli::parse()).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("claim-check: {}", causes(err.as_ref()));
            let code = match err.downcast_ref::<ResolveError>() {
                Some(ResolveError::BucketNotAllowed { .. }) => 3,
                Some(ResolveError::ObjectMissing { .. }) => 4,
                Some(ResolveError::SizeMismatch { .. } | ResolveError::ChecksumMismatch { .. }) => {
                    5
                }
                Some(ResolveError::NotAClaimCheck(_)) => 6,
                _ => 1,
            };
            ExitCode::from(code)
        }
    }
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Invoke {
            file,
            compact,
            store_dir,
            bucket,
            max_event_bytes,
            max_batch_bytes,
            always,
            quiet,
        } => {
            let mut settings = Settings::from_lookup(|name| {
                let flag = match name {
                    "CLAIM_CHECK_BUCKET" => bucket.clone(),
                    "CLAIM_CHECK_MAX_EVENT_BYTES" => max_event_bytes.map(|n| n.to_string()),
                    "CLAIM_CHECK_MAX_BATCH_BYTES" => max_batch_bytes.map(|n| n.to_string()),
                    _ => None,
                };
                flag.or_else(|| std::env::var(name).ok())
            })?;
            if always {
                settings.offload = OffloadMode::Always;
            }
            let request = read_input(&file)?;
            let store = store_for(&settings, &store_dir).await?;
            let location = store.uri("");
            let enricher = Enricher::new(settings, store);
            let enriched = enricher.enrich(&request, None).await?;
            print_events(&enriched.body, compact)?;
            if !quiet {
                let s = &enriched.summary;
                eprintln!(
                    "{} record(s): {} inline, {} claim check(s), {} dead letter(s); {} object(s), {} bytes stored under {location}",
                    s.records,
                    s.inline,
                    s.offloaded,
                    s.dead_lettered,
                    s.objects_stored,
                    s.bytes_stored
                );
            }
            Ok(())
        }
        Command::Resolve {
            file,
            allow,
            store_dir,
            json,
            output,
            output_dir,
        } => {
            let mut entries = allow;
            if entries.is_empty() {
                let from_env = |name| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
                if let Some(list) = from_env("CLAIM_CHECK_ALLOWED_BUCKETS") {
                    entries = list.split(',').map(str::to_string).collect();
                } else if let Some(bucket) = from_env("CLAIM_CHECK_BUCKET") {
                    entries = vec![bucket];
                }
            }
            let (store, allowlist): (Arc<dyn PayloadStore>, Allowlist) = if entries.is_empty() {
                let store = DirStore::open(&store_dir)?;
                (Arc::new(store), Allowlist::new([LOCAL_BUCKET]))
            } else {
                let settings = Settings::from_env()?;
                let store = S3Store::new(
                    s3_client_from_env().await,
                    entries[0].split('/').next().unwrap_or_default(),
                    settings.sse,
                    settings.expected_bucket_owner,
                );
                (Arc::new(store), Allowlist::new(&entries))
            };
            let input =
                String::from_utf8(read_input(&file)?).context("the events are not UTF-8 text")?;
            let resolver = Resolver::new(store, allowlist);
            let resolved = resolver.resolve_all(&input).await.map_err(|(index, err)| {
                anyhow::Error::new(err).context(format!("event {index}"))
            })?;
            write_resolved(&resolved, json, output, output_dir)
        }
        Command::List {
            store,
            kind,
            topic,
            partition,
            from_offset,
            to_offset,
            since,
            json,
            limit,
        } => {
            let (settings, store) = open_store(&store).await?;
            let since = since.as_deref().map(parse_since).transpose()?;
            let kinds: &[Kind] = match kind {
                KindArg::Payloads => &[Kind::Payload],
                KindArg::DeadLetters => &[Kind::DeadLetter],
                KindArg::All => &[Kind::Payload, Kind::DeadLetter],
            };
            let limit = limit.unwrap_or(usize::MAX);
            let mut stdout = std::io::stdout().lock();
            if !json {
                writeln!(
                    stdout,
                    "{:<11} {:<24} {:>9} {:>20} {:>10}  {:<20}  KEY",
                    "KIND", "TOPIC", "PARTITION", "OFFSET", "SIZE", "WRITTEN"
                )?;
            }
            let mut shown = 0usize;
            let mut seen = 0usize;
            'kinds: for kind in kinds {
                let prefix =
                    keys::listing_prefix(&settings.key_prefix, *kind, topic.as_deref(), partition);
                // Within one partition, keys sort by offset: start right at --from-offset.
                let mut start_after = match (partition, from_offset) {
                    (Some(_), Some(from)) if from > 0 => Some(format!("{prefix}{:020}", from - 1)),
                    _ => None,
                };
                'pages: loop {
                    let page = store.list(&prefix, start_after.as_deref(), 1000).await?;
                    let Some(last) = page.last() else { break };
                    start_after = Some(last.key.clone());
                    seen += page.len();
                    if seen >= 5_000 && seen % 5_000 < page.len() {
                        eprintln!("… {seen} objects listed");
                    }
                    for object in &page {
                        let Some(parsed) = keys::parse_key(&settings.key_prefix, &object.key)
                        else {
                            continue;
                        };
                        // Within one partition, offsets only grow from here.
                        if let (Some(_), Some(to), Some(offset)) =
                            (partition, to_offset, parsed.offset)
                            && offset > to
                        {
                            break 'pages;
                        }
                        let in_range = parsed.offset.is_none_or(|o| {
                            from_offset.is_none_or(|f| o >= f) && to_offset.is_none_or(|t| o <= t)
                        });
                        let recent =
                            since.is_none_or(|s| object.last_modified.is_none_or(|m| m >= s));
                        if !in_range || !recent {
                            continue;
                        }
                        print_listed(&mut stdout, &parsed, object, json)?;
                        shown += 1;
                        if shown >= limit {
                            break 'kinds;
                        }
                    }
                    if page.len() < 1000 {
                        break;
                    }
                }
            }
            stdout.flush()?;
            eprintln!(
                "{shown} object(s) under {}",
                store.uri(&settings.key_prefix)
            );
            Ok(())
        }
        Command::Show {
            key,
            store,
            json,
            output,
        } => {
            let (settings, store) = open_store(&store).await?;
            let object = store.get(store.bucket(), &key).await?;
            let parsed = keys::parse_key(&settings.key_prefix, &key);
            let actual = hex::encode(Sha256::digest(&object.body));
            let expected = parsed.as_ref().map(|p| p.sha256.clone());
            let verified = expected.as_deref() == Some(actual.as_str());
            if let Some(path) = &output {
                std::fs::write(path, &object.body)
                    .with_context(|| format!("could not write {}", path.display()))?;
            }
            let c = parsed.as_ref();
            let out = describe_bytes(
                &[
                    ("key", json!(key)),
                    ("uri", json!(store.uri(&key))),
                    ("kind", json!(c.map(|p| p.kind.as_str()))),
                    ("topic", json!(c.and_then(|p| p.topic.as_deref()))),
                    ("partition", json!(c.and_then(|p| p.partition))),
                    ("offset", json!(c.and_then(|p| p.offset))),
                    ("size", json!(object.body.len())),
                    ("sha256", json!(actual)),
                    ("checksumVerified", json!(verified)),
                    ("contentType", json!(object.content_type)),
                    ("metadata", json!(object.metadata)),
                ],
                Some(&object.body),
            );
            let mut stdout = std::io::stdout().lock();
            if json {
                stdout.write_all(&out)?;
            } else {
                stdout.write_all(&kafka_claim_check::json::pretty(&out))?;
            }
            stdout.write_all(b"\n")?;
            stdout.flush()?;
            match expected {
                Some(expected) if !verified => Err(ResolveError::ChecksumMismatch {
                    bucket: store.bucket().to_string(),
                    key,
                    expected,
                    actual,
                }
                .into()),
                None => {
                    eprintln!(
                        "claim-check: the key is not one this function writes under {:?}: nothing to verify against",
                        settings.key_prefix
                    );
                    Ok(())
                }
                _ => Ok(()),
            }
        }
        Command::Reemit {
            key,
            store,
            record,
            compact,
        } => {
            let (settings, store) = open_store(&store).await?;
            let parsed = keys::parse_key(&settings.key_prefix, &key)
                .filter(|p| p.kind == Kind::DeadLetter)
                .ok_or_else(|| anyhow::anyhow!("{key} is not a dead letter under {:?} (to write a stored payload back out, use `claim-check show KEY -o FILE`)", settings.key_prefix))?;
            let raw = match &record {
                Some(path) => std::fs::read(path)
                    .with_context(|| format!("could not read {}", path.display()))?,
                None => {
                    let object = store.get(store.bucket(), &key).await?;
                    let actual = hex::encode(Sha256::digest(&object.body));
                    if actual != parsed.sha256 {
                        return Err(ResolveError::ChecksumMismatch {
                            bucket: store.bucket().to_string(),
                            key,
                            expected: parsed.sha256,
                            actual,
                        }
                        .into());
                    }
                    object.body.to_vec()
                }
            };
            let mut request = Vec::with_capacity(raw.len() + 2);
            request.push(b'[');
            request.extend_from_slice(&raw);
            request.push(b']');
            let enricher = Enricher::new(settings, store);
            let enriched = enricher.enrich(&request, None).await?;
            print_events(&enriched.body, compact)?;
            if enriched.summary.dead_lettered > 0 {
                eprintln!(
                    "claim-check: the record is still a dead letter (see error.code); fix it and pass it with --record"
                );
            }
            Ok(())
        }
    }
}

/// The settings from the environment and the store the flags name.
async fn open_store(args: &StoreArgs) -> anyhow::Result<(Settings, Arc<dyn PayloadStore>)> {
    let settings = Settings::from_lookup(|name| match name {
        "CLAIM_CHECK_BUCKET" => args.bucket.clone().or_else(|| std::env::var(name).ok()),
        _ => std::env::var(name).ok(),
    })?;
    let store = store_for(&settings, &args.store_dir).await?;
    Ok((settings, store))
}

/// S3 when the settings name a bucket, else the local directory store.
async fn store_for(settings: &Settings, store_dir: &Path) -> anyhow::Result<Arc<dyn PayloadStore>> {
    Ok(match &settings.bucket {
        Some(bucket) => Arc::new(S3Store::new(
            s3_client_from_env().await,
            bucket.clone(),
            settings.sse.clone(),
            settings.expected_bucket_owner.clone(),
        )),
        None => Arc::new(DirStore::open(store_dir)?),
    })
}

/// The events on standard output: pretty, or exactly as the function returns them.
fn print_events(body: &[u8], compact: bool) -> std::io::Result<()> {
    let mut stdout = std::io::stdout().lock();
    if compact {
        stdout.write_all(body)?;
    } else {
        stdout.write_all(&kafka_claim_check::json::pretty(body))?;
    }
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

fn print_listed(
    out: &mut impl Write,
    parsed: &keys::ParsedKey,
    object: &ListedObject,
    json: bool,
) -> std::io::Result<()> {
    let written = object
        .last_modified
        .map(|t| humantime::format_rfc3339_seconds(t).to_string());
    if json {
        let line = serde_json::json!({
            "kind": parsed.kind.as_str(),
            "topic": parsed.topic,
            "partition": parsed.partition,
            "offset": parsed.offset,
            "size": object.size,
            "written": written,
            "sha256": parsed.sha256,
            "key": object.key,
        });
        writeln!(out, "{line}")
    } else {
        let show = |v: Option<String>| v.unwrap_or_else(|| "?".into());
        writeln!(
            out,
            "{:<11} {:<24} {:>9} {:>20} {:>10}  {:<20}  {}",
            parsed.kind.as_str(),
            show(parsed.topic.clone()),
            show(parsed.partition.map(|p| p.to_string())),
            show(parsed.offset.map(|o| o.to_string())),
            object.size,
            written.unwrap_or_else(|| "-".into()),
            object.key
        )
    }
}

fn write_resolved(
    resolved: &[Resolved],
    json: bool,
    output: Option<PathBuf>,
    output_dir: Option<PathBuf>,
) -> anyhow::Result<()> {
    if json {
        let described: Vec<Vec<u8>> = resolved.iter().map(describe).collect();
        let mut out = Vec::new();
        if described.len() == 1 {
            out.extend_from_slice(&described[0]);
        } else {
            out.push(b'[');
            out.extend_from_slice(&described.join(&b","[..]));
            out.push(b']');
        }
        let mut stdout = std::io::stdout().lock();
        stdout.write_all(&kafka_claim_check::json::pretty(&out))?;
        stdout.write_all(b"\n")?;
        return Ok(());
    }
    if let Some(dir) = output_dir {
        std::fs::create_dir_all(&dir)
            .with_context(|| format!("could not create {}", dir.display()))?;
        for (i, r) in resolved.iter().enumerate() {
            let c = &r.coordinates;
            let extension = match (r.form, r.encoding) {
                (Form::DeadLetter, _) | (_, Some(Encoding::Json)) => "json",
                (_, Some(Encoding::Text)) => "txt",
                _ => "bin",
            };
            let name = format!(
                "{i:04}-{}-{}-{}.{extension}",
                c.topic
                    .as_deref()
                    .filter(|t| kafka_claim_check::record::is_legal_topic(t))
                    .unwrap_or("unknown"),
                c.partition.map_or("unknown".into(), |p| p.to_string()),
                c.offset.map_or("unknown".into(), |o| o.to_string()),
            );
            let path = dir.join(name);
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

/// One resolved event as JSON, with the value shown as the event would show it.
fn describe(r: &Resolved) -> Vec<u8> {
    let c = &r.coordinates;
    let mut fields = vec![
        ("form", json!(r.form.as_str())),
        ("topic", json!(c.topic)),
        ("partition", json!(c.partition)),
        ("offset", json!(c.offset)),
    ];
    if let Some(code) = &r.error_code {
        fields.push(("errorCode", json!(code)));
    }
    fields.push(("verified", json!(r.verified)));
    if let Some(claim) = &r.claim_check {
        fields.push(("uri", json!(claim.uri)));
        fields.push(("sha256", json!(claim.sha256)));
    }
    fields.push(("size", json!(r.bytes.as_ref().map(|b| b.len()))));
    fields.push(("contentType", json!(r.content_type)));
    describe_bytes(&fields, r.bytes.as_deref())
}

/// A JSON object of `fields`, in this order, then `valueEncoding` and `value`: the bytes shown as
/// this function would show them inline, whatever an event or a store claimed.
fn describe_bytes(fields: &[(&str, serde_json::Value)], bytes: Option<&[u8]>) -> Vec<u8> {
    let mut out = vec![b'{'];
    for (name, value) in fields {
        write_json_str(&mut out, name);
        out.push(b':');
        out.extend_from_slice(value.to_string().as_bytes());
        out.push(b',');
    }
    let shown = bytes.map(|b| (b, classify(b)));
    out.extend_from_slice(b"\"valueEncoding\":");
    match shown {
        Some((_, encoding)) => write_json_str(&mut out, encoding.as_str()),
        None => out.extend_from_slice(b"null"),
    }
    out.extend_from_slice(b",\"value\":");
    match shown {
        Some((bytes, encoding)) => write_encoded(&mut out, bytes, encoding),
        None => out.extend_from_slice(b"null"),
    }
    out.push(b'}');
    out
}

fn read_input(file: &PathBuf) -> anyhow::Result<Vec<u8>> {
    if file.as_os_str() == "-" {
        let mut buf = Vec::new();
        std::io::stdin()
            .read_to_end(&mut buf)
            .context("could not read the batch from standard input")?;
        Ok(buf)
    } else {
        std::fs::read(file)
            .with_context(|| format!("could not read the batch file {}", file.display()))
    }
}
