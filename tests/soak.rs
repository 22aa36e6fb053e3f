//! Load and soak: many sequential invocations of mixed batches, then bursts of concurrent ones,
//! against SeaweedFS, in-process. Prints the resident-memory and file-descriptor curve. CI runs a
//! short soak; `SOAK_INVOCATIONS=2000 cargo test --release --test soak -- --nocapture` runs the
//! full one.

mod common;

use std::sync::Arc;
use std::time::Instant;

use common::{SeaweedFs, event_files};
use kafka_claim_check::store::S3Store;
use kafka_claim_check::store::Sse;
use kafka_claim_check::{Enricher, Settings};

/// Resident set size of this process, in KiB.
fn rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap()
}

/// Open file descriptors, and how many of them are sockets.
fn fds() -> (usize, usize) {
    let mut total = 0;
    let mut sockets = 0;
    for entry in std::fs::read_dir("/proc/self/fd").unwrap().flatten() {
        total += 1;
        if std::fs::read_link(entry.path())
            .is_ok_and(|l| l.to_string_lossy().starts_with("socket:"))
        {
            sockets += 1;
        }
    }
    (total, sockets)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sequential_and_concurrent_invocations_do_not_grow() {
    let invocations: usize = std::env::var("SOAK_INVOCATIONS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(300);
    let server = SeaweedFs::start();
    let bucket = server.bucket("soak").await;
    let store = S3Store::new(server.client(), &bucket, Sse::BucketDefault, None);
    let enricher = Arc::new(Enricher::new(Settings::default(), Arc::new(store)));
    let batches: Vec<Vec<u8>> = event_files()
        .iter()
        .map(|f| std::fs::read(f).unwrap())
        .collect();

    let warm_up = (invocations / 10).max(20);
    let step = (invocations / 10).max(10);
    let started = Instant::now();
    let mut baseline = None;
    let mut curve = Vec::new();
    for i in 0..invocations {
        let batch = &batches[i % batches.len()];
        let out = enricher
            .enrich(batch, None)
            .await
            .unwrap_or_else(|e| panic!("invocation {i}: {e}"));
        assert!(!out.body().is_empty());
        if i + 1 == warm_up {
            baseline = Some((rss_kib(), fds()));
        }
        if (i + 1) % step == 0 {
            curve.push((i + 1, rss_kib(), fds()));
        }
    }
    let sequential = started.elapsed();

    let bursts = 10;
    let width = 16;
    let started = Instant::now();
    for burst in 0..bursts {
        let tasks: Vec<_> = (0..width)
            .map(|j| {
                let enricher = enricher.clone();
                let batch = batches[(burst * width + j) % batches.len()].clone();
                tokio::spawn(async move {
                    enricher
                        .enrich(&batch, None)
                        .await
                        .map(|o| o.events.json_len())
                })
            })
            .collect();
        for task in tasks {
            task.await
                .unwrap()
                .unwrap_or_else(|e| panic!("burst {burst}: {e}"));
        }
    }
    let concurrent = started.elapsed();
    let (rss_end, (fds_end, sockets_end)) = (rss_kib(), fds());

    let (rss_base, (fds_base, sockets_base)) = baseline.unwrap();
    println!(
        "soak: {invocations} sequential invocations in {sequential:?} ({:.0}/s); {bursts} bursts of {width} concurrent in {concurrent:?}",
        invocations as f64 / sequential.as_secs_f64()
    );
    println!(
        "soak: after warm-up ({warm_up}): rss {rss_base} KiB, fds {fds_base} ({sockets_base} sockets)"
    );
    for (n, rss, (fds, sockets)) in &curve {
        println!("soak: after {n:>5}: rss {rss:>7} KiB, fds {fds:>3} ({sockets} sockets)");
    }
    println!("soak: after bursts: rss {rss_end} KiB, fds {fds_end} ({sockets_end} sockets)");

    let last_sequential = curve.last().unwrap();
    assert!(
        last_sequential.1 <= rss_base + 32 * 1024,
        "resident memory grew from {rss_base} to {} KiB",
        last_sequential.1
    );
    assert!(
        last_sequential.2.0 <= fds_base + 8,
        "file descriptors grew from {fds_base} to {}",
        last_sequential.2.0
    );
    // Bursts open more pooled connections; they must stay bounded by the burst's width.
    assert!(
        sockets_end <= sockets_base + width * 8 + 8,
        "sockets grew from {sockets_base} to {sockets_end}"
    );
}
